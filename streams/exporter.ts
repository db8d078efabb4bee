/**
 * Argument checks of `exportKeyingMaterial` (RFC 5705 / RFC 8446 §7.5),
 * shared by `TlsConn`, `DtlsConn` and `TlsEngine` so all refuse the same input
 * the same way.
 *
 * @module
 */

import { TlsError } from "../errors.ts";
import { plainBytes } from "../backends/bytes.ts";

/**
 * Checks the arguments and returns the context to hand the engine. Throws
 * `TypeError` for a label that is not a string or a context that is not a
 * Uint8Array, and `TlsError("INVALID_OPTION")` for a length outside 1 to 16384.
 */
export function exporterContext(
  label: unknown,
  length: unknown,
  context: unknown,
): Uint8Array | undefined {
  if (typeof label !== "string") {
    throw new TypeError("exportKeyingMaterial: label must be a string");
  }
  if (!Number.isInteger(length) || (length as number) < 1 || (length as number) > 16384) {
    throw new TlsError("INVALID_OPTION", `invalid option length: ${length} (expected 1 to 16384)`, {
      option: "length",
    });
  }
  if (context === undefined) return undefined;
  if (!(context instanceof Uint8Array)) {
    throw new TypeError("exportKeyingMaterial: context must be a Uint8Array");
  }
  return plainBytes(context);
}
