/**
 * Argument checks of `exportKeyingMaterial` (RFC 5705 / RFC 8446 §7.5),
 * shared by `TlsConn` and `DtlsConn` so both refuse the same input the same way.
 *
 * @module
 */

import { TlsError } from "../errors.ts";

/**
 * Throws `TypeError` for a label that is not a string or a context that is not
 * a Uint8Array, and `TlsError("INVALID_OPTION")` for a length outside 1 to 16384.
 */
export function checkExporterArgs(label: unknown, length: unknown, context: unknown): void {
  if (typeof label !== "string") {
    throw new TypeError("exportKeyingMaterial: label must be a string");
  }
  if (!Number.isInteger(length) || (length as number) < 1 || (length as number) > 16384) {
    throw new TlsError("INVALID_OPTION", `invalid option length: ${length} (expected 1 to 16384)`, {
      option: "length",
    });
  }
  if (context !== undefined && !(context instanceof Uint8Array)) {
    throw new TypeError("exportKeyingMaterial: context must be a Uint8Array");
  }
}
