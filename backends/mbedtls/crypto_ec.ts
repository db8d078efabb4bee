/**
 * Elliptic curves with mbedTLS 2.28's ecp / ecdh / bignum layers: point
 * arithmetic on P-256/384/521 and secp256k1, ECDH on those curves, and
 * X25519 (Curve25519 through `mbedtls_ecdh` with the Montgomery group; the
 * keys are RFC 8410 PKCS#8/SPKI, read and written here because 2.28's pk
 * layer knows no X25519).
 *
 * Every group, point, number, keypair and ECDH context lives in zeroed memory
 * of at least twice its measured size, is `_init`ed when allocated and
 * `_free`d exactly once when the operation's {@link Scope} closes, also when
 * it throws.
 *
 * @module
 */

import { CRYPTO_SIZES, ECP, ECP_GROUP, ECP_OFFSETS, PK_TYPE } from "../../ffi/mbedtls_crypto.ts";
import { pinnedBytes, ptrOf, readPtrFrom } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { CurveName, KeyInput } from "../crypto_provider.ts";
import { children, contentOf, decodeOid, encodeOid, expectTlv, readTlv, TAG, tlv } from "../der.ts";
import { derToPem } from "../pem.ts";
import { parseSpki } from "../x509_der.ts";
import { check, errText, mc, readCell, rng, sizeCell, withKey } from "./crypto_lib.ts";
import { randomBytes } from "./crypto_sym.ts";
import { plainKeyDer } from "./crypto_pkcs8.ts";

/** Byte size of a scalar (the group order) and of a coordinate on each curve. */
const SIZE: Record<CurveName, number> = { "P-256": 32, "P-384": 48, "P-521": 66, secp256k1: 32 };

/** Owns the native objects of one operation and frees them, newest first. */
class Scope {
  #frees: (() => void)[] = [];

  #alloc(size: number, init: (b: Uint8Array) => void, free: (b: Uint8Array) => void) {
    const b = pinnedBytes(size);
    init(b);
    this.#frees.push(() => free(b));
    return b;
  }
  group(id: number): Uint8Array {
    const m = mc();
    const g = this.#alloc(CRYPTO_SIZES.group, m.mbedtls_ecp_group_init, m.mbedtls_ecp_group_free);
    check(m.mbedtls_ecp_group_load(g, id), "mbedtls_ecp_group_load");
    return g;
  }
  point(): Uint8Array {
    const m = mc();
    return this.#alloc(CRYPTO_SIZES.point, m.mbedtls_ecp_point_init, m.mbedtls_ecp_point_free);
  }
  mpi(): Uint8Array {
    const m = mc();
    return this.#alloc(CRYPTO_SIZES.mpi, m.mbedtls_mpi_init, m.mbedtls_mpi_free);
  }
  keypair(): Uint8Array {
    const m = mc();
    return this.#alloc(
      CRYPTO_SIZES.keypair,
      m.mbedtls_ecp_keypair_init,
      m.mbedtls_ecp_keypair_free,
    );
  }
  ecdh(): Uint8Array {
    const m = mc();
    return this.#alloc(CRYPTO_SIZES.ecdh, m.mbedtls_ecdh_init, m.mbedtls_ecdh_free);
  }
  close(): void {
    for (const f of this.#frees.reverse()) f();
    this.#frees = [];
  }
}

function scoped<T>(fn: (s: Scope) => T): T {
  const s = new Scope();
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function curveId(curve: CurveName): number {
  const id = ECP_GROUP[curve];
  if (id === undefined) throw new CryptoError("INVALID_ARGUMENT", `unknown curve ${curve}`);
  return id;
}

function bigOf(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bytesOf(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** An mpi of the group (at `offset`) as a bigint. */
function groupNumber(grp: Uint8Array, offset: number, size: number): bigint {
  const out = new Uint8Array(size);
  check(mc().mbedtls_mpi_write_binary(grp.subarray(offset), out, BigInt(size)), "mpi_write_binary");
  return bigOf(out);
}

/**
 * SEC1 decompression (2.28 reads only uncompressed points): y² = x³ + ax + b
 * with p ≡ 3 (mod 4) on all four curves, so y = (y²)^((p+1)/4). p and b come
 * from the loaded group; a is −3 on the NIST curves and 0 on secp256k1.
 */
function decompress(grp: Uint8Array, curve: CurveName, bytes: Uint8Array): Uint8Array | null {
  const n = SIZE[curve];
  const p = groupNumber(grp, ECP_OFFSETS.groupP, n);
  const b = groupNumber(grp, ECP_OFFSETS.groupB, n);
  const x = bigOf(bytes.subarray(1));
  if (x >= p) return null;
  const a = curve === "secp256k1" ? 0n : p - 3n;
  const rhs = (((x * x % p) * x) % p + a * x + b) % p;
  let y = modPow(rhs, (p + 1n) / 4n, p);
  if ((y * y) % p !== rhs) return null;
  if (Number(y & 1n) !== (bytes[0] & 1)) y = (p - y) % p;
  const out = new Uint8Array(1 + 2 * n);
  out[0] = 4;
  out.set(bytesOf(x, n), 1);
  out.set(bytesOf(y, n), 1 + n);
  return out;
}

function notOnCurve(what: string, detail?: string): never {
  throw new CryptoError("INVALID_ARGUMENT", `${what} is not a valid point on the curve`, {
    detail,
  });
}

/** Reads SEC1 bytes into a new point and checks it (on the curve, not infinity). */
function readPoint(
  s: Scope,
  grp: Uint8Array,
  curve: CurveName,
  bytes: Uint8Array,
  what: string,
): Uint8Array {
  const m = mc();
  const n = SIZE[curve];
  let raw: Uint8Array | null = bytes;
  if (bytes.length === n + 1 && (bytes[0] === 2 || bytes[0] === 3)) {
    raw = decompress(grp, curve, bytes);
  } else if (bytes.length !== 2 * n + 1 || bytes[0] !== 4) raw = null;
  if (!raw) notOnCurve(what);
  const pt = s.point();
  const rc = m.mbedtls_ecp_point_read_binary(grp, pt, raw, BigInt(raw.length));
  if (rc !== 0) notOnCurve(what, errText(rc));
  const rc2 = m.mbedtls_ecp_check_pubkey(grp, pt);
  if (rc2 !== 0) notOnCurve(what, errText(rc2));
  return pt;
}

function writePoint(grp: Uint8Array, pt: Uint8Array, compressed: boolean): Uint8Array {
  const m = mc();
  if (m.mbedtls_ecp_is_zero(pt) === 1) {
    throw new CryptoError("INVALID_ARGUMENT", "the result is the point at infinity");
  }
  const out = new Uint8Array(256);
  const len = sizeCell();
  const form = compressed ? ECP.PF_COMPRESSED : ECP.PF_UNCOMPRESSED;
  check(
    m.mbedtls_ecp_point_write_binary(grp, pt, form, len, out, BigInt(out.length)),
    "mbedtls_ecp_point_write_binary",
  );
  return out.slice(0, readCell(len));
}

/** A random scalar in [1, n-1], big-endian, padded to the order's size. */
export function ecGenerateScalar(curve: CurveName): Uint8Array {
  const { f, p } = rng();
  return scoped((s) => {
    const grp = s.group(curveId(curve));
    const d = s.mpi();
    check(mc().mbedtls_ecp_gen_privkey(grp, d, f, p), "mbedtls_ecp_gen_privkey");
    const out = new Uint8Array(SIZE[curve]);
    check(mc().mbedtls_mpi_write_binary(d, out, BigInt(out.length)), "mbedtls_mpi_write_binary");
    return out;
  });
}

/** `scalar * point`, or `scalar * G` when `point` is null; uncompressed. */
export function ecPointMul(
  curve: CurveName,
  scalar: Uint8Array,
  point: Uint8Array | null,
): Uint8Array {
  const { f, p } = rng();
  const m = mc();
  if (scalar.length === 0 || scalar.length > SIZE[curve]) {
    throw new CryptoError("INVALID_ARGUMENT", `scalar: 1 to ${SIZE[curve]} bytes`);
  }
  return scoped((s) => {
    const grp = s.group(curveId(curve));
    const k = s.mpi();
    check(m.mbedtls_mpi_read_binary(k, scalar, BigInt(scalar.length)), "mbedtls_mpi_read_binary");
    if (m.mbedtls_ecp_check_privkey(grp, k) !== 0) {
      throw new CryptoError("INVALID_ARGUMENT", "scalar must be in [1, n-1] (n the group order)");
    }
    const base = point
      ? readPoint(s, grp, curve, point, "point")
      : grp.subarray(ECP_OFFSETS.groupG);
    const r = s.point();
    check(m.mbedtls_ecp_mul(grp, r, k, base, f, p), "mbedtls_ecp_mul", "INVALID_ARGUMENT");
    return writePoint(grp, r, false);
  });
}

/** `a + b` (as `1·a + 1·b` with `mbedtls_ecp_muladd`), uncompressed. */
export function ecPointAdd(curve: CurveName, a: Uint8Array, b: Uint8Array): Uint8Array {
  const m = mc();
  return scoped((s) => {
    const grp = s.group(curveId(curve));
    // muladd takes its shortcut for a factor of 1 and checks neither point: readPoint does.
    const pa = readPoint(s, grp, curve, a, "a");
    const pb = readPoint(s, grp, curve, b, "b");
    const one = s.mpi();
    check(m.mbedtls_mpi_lset(one, 1n), "mbedtls_mpi_lset");
    const r = s.point();
    check(m.mbedtls_ecp_muladd(grp, r, one, pa, one, pb), "mbedtls_ecp_muladd", "INVALID_ARGUMENT");
    return writePoint(grp, r, false);
  });
}

/** Validates a point and re-encodes it (compressed or not). */
export function ecPointConvert(
  curve: CurveName,
  point: Uint8Array,
  compressed: boolean,
): Uint8Array {
  return scoped((s) => {
    const grp = s.group(curveId(curve));
    return writePoint(grp, readPoint(s, grp, curve, point, "point"), compressed);
  });
}

// ---- X25519 -----------------------------------------------------------------

const X25519_OID = "1.3.101.110";
const BASE_U = Uint8Array.of(9, ...new Uint8Array(31));

/** X25519(k, u) (RFC 7748); INVALID_ARGUMENT for low-order u or an all-zero result. */
export function x25519(k: Uint8Array, u: Uint8Array): Uint8Array {
  if (k.length !== 32 || u.length !== 32) {
    throw new CryptoError("INVALID_ARGUMENT", "X25519 keys are 32 bytes");
  }
  const { f, p } = rng();
  const m = mc();
  return scoped((s) => {
    const kp = s.keypair();
    check(m.mbedtls_ecp_read_key(ECP.CURVE25519, kp, k, 32n), "mbedtls_ecp_read_key"); // clamps
    const ctx = s.ecdh();
    check(m.mbedtls_ecdh_get_params(ctx, ptrOf(kp), ECP.OURS), "mbedtls_ecdh_get_params");
    const tlsPoint = Uint8Array.of(32, ...u);
    check(m.mbedtls_ecdh_read_public(ctx, tlsPoint, 33n), "mbedtls_ecdh_read_public");
    const out = new Uint8Array(64);
    const len = sizeCell();
    const rc = m.mbedtls_ecdh_calc_secret(ctx, len, out, BigInt(out.length), f, p);
    if (rc !== 0) {
      throw new CryptoError("INVALID_ARGUMENT", "the X25519 public key is unusable (low order?)", {
        detail: errText(rc),
      });
    }
    const secret = out.slice(0, readCell(len));
    if (secret.every((x) => x === 0)) {
      throw new CryptoError("INVALID_ARGUMENT", "X25519 produced the all-zero shared secret");
    }
    return secret;
  });
}

/** The raw 32-byte X25519 private key of PKCS#8 DER, or null when it is not one. */
function x25519Private(der: Uint8Array): Uint8Array | null {
  try {
    const top = expectTlv(der, 0, der.length, TAG.SEQUENCE, "PrivateKeyInfo");
    const [ver, alg, key] = children(der, top);
    if (!ver || ver.tag !== TAG.INTEGER || !alg || alg.tag !== TAG.SEQUENCE) return null;
    const oid = children(der, alg)[0];
    if (!oid || oid.tag !== TAG.OID || decodeOid(contentOf(der, oid)) !== X25519_OID) return null;
    if (!key || key.tag !== TAG.OCTET_STRING) return null;
    const inner = readTlv(der, key.contentStart, key.end);
    if (inner.tag !== TAG.OCTET_STRING || inner.end - inner.contentStart !== 32) return null;
    return der.slice(inner.contentStart, inner.end);
  } catch {
    return null;
  }
}

/** The raw X25519 public key of an SPKI DER, or null. */
function x25519Public(der: Uint8Array): Uint8Array | null {
  try {
    const info = parseSpki(der, readTlv(der, 0));
    return info.type === "x25519" && info.key.length === 32 ? info.key.slice() : null;
  } catch {
    return null;
  }
}

/** X25519 raw keys of a key input: `{ priv }` for PKCS#8, `{ pub }` for SPKI, null otherwise. */
export function x25519Key(key: KeyInput): { priv?: Uint8Array; pub: Uint8Array } | null {
  const der = plainKeyDer(key);
  if (!der) return null;
  const priv = x25519Private(der);
  if (priv) return { priv, pub: x25519(priv, BASE_U) };
  const pub = x25519Public(der);
  return pub ? { pub } : null;
}

/** X25519 key pair, PKCS#8 PEM and SPKI PEM (RFC 8410). */
export function generateX25519(): { privateKey: string; publicKey: string } {
  const priv = randomBytes(32);
  return {
    privateKey: derToPem(x25519Pkcs8(priv), "PRIVATE KEY"),
    publicKey: derToPem(x25519Spki(x25519(priv, BASE_U)), "PUBLIC KEY"),
  };
}

/** RFC 8410 PKCS#8 of a raw X25519 private key. */
export function x25519Pkcs8(priv: Uint8Array): Uint8Array {
  return tlv(
    TAG.SEQUENCE,
    tlv(TAG.INTEGER, Uint8Array.of(0)),
    tlv(TAG.SEQUENCE, tlv(TAG.OID, encodeOid(X25519_OID))),
    tlv(TAG.OCTET_STRING, tlv(TAG.OCTET_STRING, priv)),
  );
}

/** RFC 8410 SPKI of a raw X25519 public key. */
export function x25519Spki(pub: Uint8Array): Uint8Array {
  return tlv(
    TAG.SEQUENCE,
    tlv(TAG.SEQUENCE, tlv(TAG.OID, encodeOid(X25519_OID))),
    tlv(TAG.BIT_STRING, Uint8Array.of(0), pub),
  );
}

// ---- ECDH -------------------------------------------------------------------

const EC_TYPES: number[] = [PK_TYPE.ECKEY, PK_TYPE.ECKEY_DH];

/** ECDH (P-256/384/521, secp256k1) or X25519 shared secret. */
export function deriveSharedSecret(priv: KeyInput, pub: KeyInput): Uint8Array {
  const xa = x25519Key(priv);
  if (xa) {
    if (!xa.priv) throw new CryptoError("INVALID_ARGUMENT", "privateKey: a private key is needed");
    const xb = x25519Key(pub);
    if (!xb) throw new CryptoError("INVALID_ARGUMENT", "publicKey: an X25519 key is needed");
    return x25519(xa.priv, xb.pub);
  }
  if (x25519Key(pub)) {
    throw new CryptoError("INVALID_ARGUMENT", "publicKey: the keys are of different types");
  }
  const { f, p } = rng();
  const m = mc();
  return withKey(priv, false, (a) =>
    withKey(pub, true, (b) => {
      for (const [pk, what] of [[a, "privateKey"], [b, "publicKey"]] as const) {
        if (!EC_TYPES.includes(m.mbedtls_pk_get_type(pk))) {
          throw new CryptoError("INVALID_ARGUMENT", `${what}: an EC or X25519 key is needed`);
        }
      }
      return scoped((s) => {
        const ctx = s.ecdh();
        const ka = readPtrFrom(a, ECP_OFFSETS.pkCtx), kb = readPtrFrom(b, ECP_OFFSETS.pkCtx);
        check(m.mbedtls_ecdh_get_params(ctx, ka, ECP.OURS), "ECDH (our key)", "INVALID_ARGUMENT");
        const rc = m.mbedtls_ecdh_get_params(ctx, kb, ECP.THEIRS);
        if (rc !== 0) {
          throw new CryptoError("INVALID_ARGUMENT", "the keys are on different curves", {
            detail: errText(rc),
          });
        }
        const out = new Uint8Array(160);
        const len = sizeCell();
        check(
          m.mbedtls_ecdh_calc_secret(ctx, len, out, BigInt(out.length), f, p),
          "mbedtls_ecdh_calc_secret",
          "INVALID_ARGUMENT",
        );
        return out.slice(0, readCell(len));
      });
    }));
}
