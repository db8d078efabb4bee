/**
 * Elliptic-curve point arithmetic with OpenSSL's EC_POINT / BIGNUM API.
 *
 * @module
 */

import { POINT_FORM } from "../../ffi/openssl_crypto.ts";
import { isNull, type Ptr } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { CurveName } from "../crypto_provider.ts";
import { drainErrors, fail, lib, must, ok } from "./crypto_lib.ts";

const NIDS: Record<CurveName, number> = {
  "P-256": 415,
  "P-384": 715,
  "P-521": 716,
  "secp256k1": 714,
};

/** Byte size of a scalar (the order) on each curve. */
const SCALAR_BYTES: Record<CurveName, number> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
  "secp256k1": 32,
};

function withGroup<T>(curve: CurveName, fn: (group: Ptr, bn: Ptr) => T): T {
  const lc = lib();
  lc.ERR_clear_error();
  const group = must(lc.EC_GROUP_new_by_curve_name(NIDS[curve]), "EC_GROUP_new_by_curve_name");
  const bnctx = lc.BN_CTX_new();
  try {
    must(bnctx, "BN_CTX_new");
    return fn(group, bnctx);
  } finally {
    if (!isNull(bnctx)) lc.BN_CTX_free(bnctx);
    lc.EC_GROUP_free(group);
  }
}

/** Decodes and validates a point; the caller frees it. */
function decodePoint(group: Ptr, bnctx: Ptr, bytes: Uint8Array, what: string): Ptr {
  const lc = lib();
  const p = must(lc.EC_POINT_new(group), "EC_POINT_new");
  const good = bytes.length > 0 &&
    lc.EC_POINT_oct2point(group, p, bytes, BigInt(bytes.length), bnctx) === 1 &&
    lc.EC_POINT_is_on_curve(group, p, bnctx) === 1 &&
    lc.EC_POINT_is_at_infinity(group, p) === 0;
  if (!good) {
    lc.EC_POINT_free(p);
    const detail = drainErrors();
    throw new CryptoError("INVALID_ARGUMENT", `${what} is not a valid point on the curve`, {
      detail,
    });
  }
  return p;
}

function encodePoint(group: Ptr, bnctx: Ptr, p: Ptr, compressed: boolean): Uint8Array {
  const lc = lib();
  if (lc.EC_POINT_is_at_infinity(group, p) === 1) {
    throw new CryptoError("INVALID_ARGUMENT", "the result is the point at infinity");
  }
  const form = compressed ? POINT_FORM.COMPRESSED : POINT_FORM.UNCOMPRESSED;
  const out = new Uint8Array(200);
  const n = Number(lc.EC_POINT_point2oct(group, p, form, out, 200n, bnctx));
  if (n <= 0) fail("INTERNAL", "EC_POINT_point2oct");
  return out.slice(0, n);
}

/** A random scalar in [1, n-1]. */
export function ecGenerateScalar(curve: CurveName): Uint8Array {
  const lc = lib();
  return withGroup(curve, (group) => {
    const bn = must(lc.BN_new(), "BN_new");
    try {
      const order = lc.EC_GROUP_get0_order(group);
      do {
        ok(lc.BN_rand_range(bn, order), "BN_rand_range");
      } while (lc.BN_is_zero(bn) === 1);
      const out = new Uint8Array(SCALAR_BYTES[curve]);
      ok(lc.BN_bn2binpad(bn, out, out.length) >= 0 ? 1 : 0, "BN_bn2binpad");
      return out;
    } finally {
      lc.BN_free(bn);
    }
  });
}

/** `scalar * point`, or `scalar * G` when `point` is null. */
export function ecPointMul(
  curve: CurveName,
  scalar: Uint8Array,
  point: Uint8Array | null,
): Uint8Array {
  const lc = lib();
  return withGroup(curve, (group, bnctx) => {
    const k = must(lc.BN_bin2bn(scalar, scalar.length, null), "BN_bin2bn");
    let q: Ptr = null, r: Ptr = null;
    try {
      if (lc.BN_is_zero(k) === 1) throw new CryptoError("INVALID_ARGUMENT", "scalar is zero");
      if (lc.BN_cmp(k, lc.EC_GROUP_get0_order(group)) >= 0) {
        throw new CryptoError("INVALID_ARGUMENT", "scalar is not below the curve order");
      }
      r = must(lc.EC_POINT_new(group), "EC_POINT_new");
      if (point) {
        q = decodePoint(group, bnctx, point, "point");
        ok(lc.EC_POINT_mul(group, r, null, q, k, bnctx), "EC_POINT_mul");
      } else {
        ok(lc.EC_POINT_mul(group, r, k, null, null, bnctx), "EC_POINT_mul");
      }
      return encodePoint(group, bnctx, r, false);
    } finally {
      if (q) lc.EC_POINT_free(q);
      if (r) lc.EC_POINT_free(r);
      lc.BN_free(k);
    }
  });
}

/** `a + b`. */
export function ecPointAdd(curve: CurveName, a: Uint8Array, b: Uint8Array): Uint8Array {
  const lc = lib();
  return withGroup(curve, (group, bnctx) => {
    let pa: Ptr = null, pb: Ptr = null, r: Ptr = null;
    try {
      pa = decodePoint(group, bnctx, a, "a");
      pb = decodePoint(group, bnctx, b, "b");
      r = must(lc.EC_POINT_new(group), "EC_POINT_new");
      ok(lc.EC_POINT_add(group, r, pa, pb, bnctx), "EC_POINT_add");
      return encodePoint(group, bnctx, r, false);
    } finally {
      if (pa) lc.EC_POINT_free(pa);
      if (pb) lc.EC_POINT_free(pb);
      if (r) lc.EC_POINT_free(r);
    }
  });
}

/** Validates a point and re-encodes it (compressed or not). */
export function ecPointConvert(
  curve: CurveName,
  point: Uint8Array,
  compressed: boolean,
): Uint8Array {
  const lc = lib();
  return withGroup(curve, (group, bnctx) => {
    const p = decodePoint(group, bnctx, point, "point");
    try {
      return encodePoint(group, bnctx, p, compressed);
    } finally {
      lc.EC_POINT_free(p);
    }
  });
}
