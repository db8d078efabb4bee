/**
 * Shared plumbing of the OpenSSL crypto provider: the library (opened once),
 * error-queue draining, memory BIOs, i2d/d2i helpers and key decoding.
 *
 * @module
 */

import { LIBCRYPTO, locateLibrary } from "../../ffi/locate.ts";
import { OPENSSL_CRYPTO_SYMBOLS, SELECTION } from "../../ffi/openssl_crypto.ts";
import {
  copyFrom,
  cstr,
  isNull,
  keepAlive,
  type Ptr,
  ptrOf,
  readPtrFrom,
  type Symbols,
  writePtrTo,
} from "../../ffi/runtime.ts";
import { CryptoError, type CryptoErrorCode } from "../../errors.ts";
import type { KeyInput } from "../crypto_provider.ts";
import { decodeOid, readTlv } from "../der.ts";
import { bytesToText, looksLikePem, pemBlocks } from "../pem.ts";

/** The libcrypto symbols of the toolbox. */
export type Lc = Symbols<typeof OPENSSL_CRYPTO_SYMBOLS>;

let cached: { lc: Lc; version: string } | undefined;

/** Opens libcrypto with the toolbox's table, once. */
export function lib(): Lc {
  if (!cached) {
    const l = locateLibrary(LIBCRYPTO, OPENSSL_CRYPTO_SYMBOLS);
    const p = l.symbols.OpenSSL_version(0);
    const v = new TextDecoder().decode(copyFrom(p, 64)).split("\0")[0];
    cached = { lc: l.symbols, version: v };
  }
  return cached.lc;
}

/** e.g. "OpenSSL 3.0.19 27 Jan 2026". */
export function libVersion(): string {
  lib();
  return cached!.version;
}

/** Drains the error queue into one string ("" when empty). */
export function drainErrors(): string {
  const lc = lib();
  const lines: string[] = [];
  const buf = new Uint8Array(256);
  for (let i = 0; i < 32; i++) {
    const e = lc.ERR_get_error();
    if (e === 0n) break;
    lc.ERR_error_string_n(e, buf, 256n);
    lines.push(new TextDecoder().decode(buf.subarray(0, buf.indexOf(0))));
  }
  return lines.join("; ");
}

/** Throws a CryptoError carrying the drained error queue as `detail`. */
export function fail(code: CryptoErrorCode, message: string): never {
  const detail = drainErrors();
  throw new CryptoError(code, detail ? `${message}: ${detail}` : message, { detail });
}

/** Checks a pointer result; throws INTERNAL (or `code`) with the queue's text when null. */
export function must(p: Ptr, what: string, code: CryptoErrorCode = "INTERNAL"): Ptr {
  if (isNull(p)) fail(code, `${what} failed`);
  return p;
}

/** Checks an int result (> 0 means success). */
export function ok(r: number, what: string, code: CryptoErrorCode = "INTERNAL"): void {
  if (r <= 0) fail(code, `${what} failed`);
}

/** A non-empty buffer for C: empty arrays become one zero byte (pass the real length apart). */
export function nz(b: Uint8Array): Uint8Array {
  return b.length ? b : new Uint8Array(1);
}

/** A size_t out-parameter cell. */
export function sizeCell(v = 0): Uint8Array {
  const c = new Uint8Array(8);
  new DataView(c.buffer).setBigUint64(0, BigInt(v), true);
  return c;
}

/** Reads a size_t / pointer cell. */
export function readCell(c: Uint8Array): number {
  return Number(new DataView(c.buffer, c.byteOffset, 8).getBigUint64(0, true));
}

/** Reads an int out-parameter. */
export function readInt(c: Uint8Array): number {
  return new DataView(c.buffer, c.byteOffset, 4).getInt32(0, true);
}

/** A memory BIO holding a copy of `data` (or empty). Free it with BIO_free. */
export function memBio(data?: Uint8Array): Ptr {
  const lc = lib();
  const bio = must(lc.BIO_new(lc.BIO_s_mem()), "BIO_new");
  if (data && data.length) {
    if (lc.BIO_write(bio, data, data.length) !== data.length) {
      lc.BIO_free(bio);
      fail("INTERNAL", "BIO_write");
    }
  }
  return bio;
}

/** Copies the contents of a memory BIO. */
export function bioContents(bio: Ptr): Uint8Array {
  const cell = sizeCell();
  const n = Number(lib().BIO_ctrl(bio, 3, 0n, cell)); // BIO_CTRL_INFO: length, sets data pointer
  if (n <= 0) return new Uint8Array(0);
  return copyFrom(readPtrFrom(cell), n);
}

/**
 * Runs an `i2d_*` function (`int i2d_X(X *, uchar **out)`) into a fresh
 * buffer; null when it encodes nothing. Pure: works with any table's symbol.
 */
export function i2dBytes(
  fn: (obj: Ptr, pp: Uint8Array | null) => number,
  obj: Ptr,
): Uint8Array | null {
  const n = fn(obj, null);
  if (n <= 0) return null;
  const out = new Uint8Array(new ArrayBuffer(n));
  const pp = new Uint8Array(8);
  writePtrTo(pp, 0, ptrOf(out));
  return fn(obj, pp) === n ? out : null;
}

/** Runs an `i2d_*` function into a fresh buffer; INTERNAL with the error queue when it fails. */
export function i2d(
  fn: (obj: Ptr, pp: Uint8Array | null) => number,
  obj: Ptr,
  what: string,
): Uint8Array {
  return i2dBytes(fn, obj) ?? fail("INTERNAL", `${what} failed`);
}

/**
 * Runs a `d2i_*` function (`X *d2i_X(NULL, const uchar **pp, long len)`) on a
 * copy of `der`; null when the library rejects it. Pure: works with any table's symbol.
 */
export function d2i(
  fn: (a: Ptr, pp: Uint8Array, len: bigint) => Ptr,
  der: Uint8Array,
): Ptr {
  if (der.length === 0) return null;
  const copy = new Uint8Array(new ArrayBuffer(der.length));
  copy.set(der);
  const pp = new Uint8Array(8);
  writePtrTo(pp, 0, ptrOf(copy));
  const r = fn(null, pp, BigInt(der.length));
  keepAlive(copy);
  return isNull(r) ? null : r;
}

/** Frees with OPENSSL_free. */
export function opensslFree(p: Ptr): void {
  if (!isNull(p)) lib().CRYPTO_free(p, cstr("jsec"), 0);
}

/** Digest handle by our name. */
export function md(name: string | null): Ptr {
  if (name === null) return null;
  const p = lib().EVP_get_digestbyname(cstr(name));
  if (isNull(p)) throw new CryptoError("UNSUPPORTED", `digest ${name} is not available in OpenSSL`);
  return p;
}

function isEncrypted(data: Uint8Array): boolean {
  if (looksLikePem(data)) {
    const blocks = pemBlocks(bytesToText(data));
    return blocks.some((b) =>
      b.label === "ENCRYPTED PRIVATE KEY" || b.headers.some((h) => h.startsWith("Proc-Type"))
    );
  }
  // EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE { OID pbes2 / pkcs12-pbe, ... }, OCTET STRING }
  try {
    const top = readTlv(data, 0);
    const alg = readTlv(data, top.contentStart, top.end);
    if (top.tag !== 0x30 || alg.tag !== 0x30) return false;
    const oid = readTlv(data, alg.contentStart, alg.end);
    if (oid.tag !== 0x06) return false;
    const o = decodeOid(data.subarray(oid.contentStart, oid.end));
    return o.startsWith("1.2.840.113549.1.5.") || o.startsWith("1.2.840.113549.1.12.1.");
  } catch {
    return false;
  }
}

/**
 * Decodes a private key (or, with `wantPublic`, a public or private key) from
 * PEM or DER. Returns an EVP_PKEY the caller frees. BAD_PASSWORD when an
 * encrypted key does not open with the password; BAD_FORMAT otherwise.
 */
/**
 * Refuses (and frees) a private key whose parts are out of range. OpenSSL's
 * decoders take an EC scalar of 0 or of the group order and up, and would then
 * sign with the point at infinity as the public key.
 */
function checkPrivate(pkey: Ptr): void {
  const lc = lib();
  const ctx = lc.EVP_PKEY_CTX_new(pkey, null);
  const ok = !isNull(ctx) && lc.EVP_PKEY_private_check(ctx) === 1;
  if (!isNull(ctx)) lc.EVP_PKEY_CTX_free(ctx);
  if (ok) return;
  lc.EVP_PKEY_free(pkey);
  throw new CryptoError("BAD_FORMAT", "the private key is invalid (a value out of range)", {
    detail: drainErrors(),
  });
}

export function decodeKey(key: KeyInput, wantPublic = false): Ptr {
  const lc = lib();
  const encrypted = isEncrypted(key.data);
  if (encrypted && key.password === undefined) {
    throw new CryptoError("BAD_PASSWORD", "the key is encrypted: a password is needed");
  }
  const selections = wantPublic ? [SELECTION.KEYPAIR, SELECTION.PUBLIC_KEY] : [SELECTION.KEYPAIR];
  for (const sel of selections) {
    const cell = new Uint8Array(8);
    lc.ERR_clear_error();
    const dctx = lc.OSSL_DECODER_CTX_new_for_pkey(cell, null, null, null, sel, null, null);
    if (isNull(dctx)) fail("INTERNAL", "OSSL_DECODER_CTX_new_for_pkey");
    try {
      if (key.password !== undefined) {
        const pw = new TextEncoder().encode(key.password);
        lc.OSSL_DECODER_CTX_set_passphrase(dctx, nz(pw), BigInt(pw.length));
      }
      const copy = new Uint8Array(new ArrayBuffer(Math.max(1, key.data.length)));
      copy.set(key.data);
      const pp = new Uint8Array(8);
      writePtrTo(pp, 0, ptrOf(copy));
      const len = sizeCell(key.data.length);
      const decoded = lc.OSSL_DECODER_from_data(dctx, pp, len) === 1;
      keepAlive(copy);
      if (decoded) {
        const pkey = readPtrFrom(cell);
        if (pkey) {
          if (sel === SELECTION.KEYPAIR) checkPrivate(pkey);
          lc.ERR_clear_error();
          return pkey;
        }
      }
    } finally {
      lc.OSSL_DECODER_CTX_free(dctx);
    }
  }
  const detail = drainErrors();
  if (encrypted) {
    throw new CryptoError("BAD_PASSWORD", "could not decrypt the key (wrong password?)", {
      detail,
    });
  }
  throw new CryptoError(
    "BAD_FORMAT",
    `not a ${wantPublic ? "key" : "private key"} in PEM or DER`,
    { detail },
  );
}

/** Encodes a key with OSSL_ENCODER. */
export function encodeKey(
  pkey: Ptr,
  selection: number,
  type: "PEM" | "DER",
  struct: string,
  password?: string,
): Uint8Array {
  const lc = lib();
  // The context keeps the output type and structure pointers (it does not copy
  // them) and reads them when encoding: they stay alive until it is freed.
  const typeName = cstr(type), structName = cstr(struct), cipherName = cstr("AES-256-CBC");
  const ectx = lc.OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, typeName, structName, null);
  if (isNull(ectx)) fail("INTERNAL", "OSSL_ENCODER_CTX_new_for_pkey");
  try {
    if (lc.OSSL_ENCODER_CTX_get_num_encoders(ectx) <= 0) {
      fail("UNSUPPORTED", `no encoder for ${struct} ${type}`);
    }
    if (password !== undefined) {
      const pw = new TextEncoder().encode(password);
      ok(lc.OSSL_ENCODER_CTX_set_cipher(ectx, cipherName, null), "set_cipher");
      ok(lc.OSSL_ENCODER_CTX_set_passphrase(ectx, nz(pw), BigInt(pw.length)), "set_passphrase");
    }
    const pp = new Uint8Array(8);
    const len = sizeCell();
    ok(lc.OSSL_ENCODER_to_data(ectx, pp, len), "OSSL_ENCODER_to_data");
    const p = readPtrFrom(pp);
    try {
      return copyFrom(p, readCell(len));
    } finally {
      opensslFree(p);
    }
  } finally {
    lc.OSSL_ENCODER_CTX_free(ectx);
    keepAlive(typeName, structName, cipherName);
  }
}

/** A PKCS#8 (or SPKI with `pub`) PEM string of an EVP_PKEY. */
export function keyPem(pkey: Ptr, pub: boolean): string {
  const b = pub
    ? encodeKey(pkey, SELECTION.PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo")
    : encodeKey(pkey, SELECTION.KEYPAIR, "PEM", "PrivateKeyInfo");
  return new TextDecoder().decode(b);
}

/** SPKI DER of an EVP_PKEY. */
export function spkiDer(pkey: Ptr): Uint8Array {
  return encodeKey(pkey, SELECTION.PUBLIC_KEY, "DER", "SubjectPublicKeyInfo");
}

/** Decodes a DER X.509 certificate; BAD_FORMAT when OpenSSL rejects it. Caller frees. */
export function decodeX509(der: Uint8Array): Ptr {
  const lc = lib();
  const x = d2i(lc.d2i_X509, der);
  if (!x) fail("BAD_FORMAT", "not a DER certificate");
  return x;
}

/** The base id of an EVP_PKEY as our key type name. */
export function pkeyType(pkey: Ptr): string {
  const id = lib().EVP_PKEY_get_base_id(pkey);
  switch (id) {
    case 6:
      return "rsa";
    case 912:
      return "rsa-pss";
    case 408:
      return "ec";
    case 1087:
      return "ed25519";
    case 1088:
      return "ed448";
    case 1034:
      return "x25519";
    case 1035:
      return "x448";
    case 116:
      return "dsa";
    default:
      return `nid:${id}`;
  }
}

/** The curve of an EC key ("P-256", ...), else null. */
export function pkeyCurve(pkey: Ptr): string | null {
  const buf = new Uint8Array(64);
  const len = sizeCell();
  if (lib().EVP_PKEY_get_group_name(pkey, buf, 64n, len) !== 1) return null;
  const sn = new TextDecoder().decode(buf.subarray(0, readCell(len)));
  return ({ prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" } as Record<
    string,
    string
  >)[
    sn
  ] ?? sn;
}
