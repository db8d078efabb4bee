/**
 * Elliptic-curve point arithmetic on P-256, P-384, P-521 and secp256k1, for
 * protocols that need raw group operations (OPRFs, PAKEs, threshold schemes).
 * Points are SEC1 bytes (uncompressed `04 || x || y`, or compressed); scalars
 * are big-endian bytes. All synchronous.
 *
 * @example
 * ```ts
 * import { ecGenerateScalar, ecPointAdd, ecPointMul } from "@jsec/tls/crypto";
 * const a = ecGenerateScalar("P-256"), b = ecGenerateScalar("P-256");
 * const A = ecPointMul("P-256", a);          // a·G
 * const shared = ecPointMul("P-256", b, A);  // b·a·G
 * ```
 *
 * @module
 */

import type { CurveName } from "../backends/crypto_provider.ts";
import { type BackendOption, invalid, need, oneOf, u8 } from "./_common.ts";

export type { CurveName } from "../backends/crypto_provider.ts";

/** The curves of the point functions. */
export const CURVES: readonly CurveName[] = ["P-256", "P-384", "P-521", "secp256k1"];
const FIELD: Record<CurveName, number> = { "P-256": 32, "P-384": 48, "P-521": 66, "secp256k1": 32 };

function curveOf(c: unknown): CurveName {
  return oneOf("curve", c, CURVES);
}

function point(arg: string, v: unknown, c: CurveName): Uint8Array {
  const p = u8(arg, v);
  const f = FIELD[c];
  const okLen = (p.length === 2 * f + 1 && p[0] === 4) ||
    (p.length === f + 1 && (p[0] === 2 || p[0] === 3));
  if (!okLen) {
    invalid(
      arg,
      p,
      `an SEC1 point on ${c} (${2 * f + 1} bytes uncompressed or ${f + 1} compressed)`,
    );
  }
  return p;
}

function scalar(v: unknown, c: CurveName): Uint8Array {
  const s = u8("scalar", v);
  if (s.length === 0 || s.length > FIELD[c]) invalid("scalar", s, `1 to ${FIELD[c]} bytes`);
  return s;
}

/** A uniformly random scalar in [1, n−1] (n the group order), big-endian, padded. */
export function ecGenerateScalar(curve: CurveName, options: BackendOption = {}): Uint8Array {
  const c = curveOf(curve);
  return need("ecGenerateScalar", "ecGenerateScalar", options.backend)(c);
}

/**
 * `scalar · point`, or `scalar · G` without a point. The scalar must be in
 * [1, n−1]; a point not on the curve is `CryptoError("INVALID_ARGUMENT")`.
 * Returns an uncompressed point.
 */
export function ecPointMul(
  curve: CurveName,
  scalarBytes: Uint8Array,
  pointBytes?: Uint8Array,
  options: BackendOption = {},
): Uint8Array {
  const c = curveOf(curve);
  const s = scalar(scalarBytes, c);
  const p = pointBytes === undefined ? null : point("point", pointBytes, c);
  return need("ecPointMul", "ecPointMul", options.backend)(c, s, p);
}

/** `a + b` (uncompressed). The point at infinity as a result is INVALID_ARGUMENT. */
export function ecPointAdd(
  curve: CurveName,
  a: Uint8Array,
  b: Uint8Array,
  options: BackendOption = {},
): Uint8Array {
  const c = curveOf(curve);
  return need("ecPointAdd", "ecPointAdd", options.backend)(c, point("a", a, c), point("b", b, c));
}

/** Re-encodes a point: uncompressed (default) or compressed. Validates it. */
export function ecPointToBytes(
  curve: CurveName,
  pointBytes: Uint8Array,
  options: BackendOption & { compressed?: boolean } = {},
): Uint8Array {
  const c = curveOf(curve);
  const p = point("point", pointBytes, c);
  return need("ecPointToBytes", "ecPointConvert", options.backend)(
    c,
    p,
    options.compressed === true,
  );
}

/**
 * Reads a point from SEC1 bytes (compressed or not), checks that it lies on
 * the curve, and returns it uncompressed. INVALID_ARGUMENT when it does not.
 */
export function ecPointFromBytes(
  curve: CurveName,
  bytes: Uint8Array,
  options: BackendOption = {},
): Uint8Array {
  const c = curveOf(curve);
  const p = point("bytes", bytes, c);
  return need("ecPointFromBytes", "ecPointConvert", options.backend)(c, p, false);
}
