/**
 * Digests, MACs, KDFs, randomness and symmetric ciphers with OpenSSL's EVP API.
 *
 * @module
 */

import { EVP_CTRL } from "../../ffi/openssl_crypto.ts";
import { cstr, isNull, ptrOf, writePtrTo } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { CipherName, DigestName } from "../crypto_provider.ts";
import { fail, lib, md, must, nz, ok, readInt } from "./crypto_lib.ts";

/** One-shot digest. */
export function digest(algo: DigestName, data: Uint8Array): Uint8Array {
  const lc = lib();
  const m = md(algo);
  const out = new Uint8Array(64);
  const len = new Uint8Array(4);
  ok(lc.EVP_Digest(nz(data), BigInt(data.length), out, len, m, null), "EVP_Digest");
  return out.slice(0, readInt(len));
}

/** One-shot HMAC. */
export function hmac(algo: DigestName, key: Uint8Array, data: Uint8Array): Uint8Array {
  const lc = lib();
  const out = new Uint8Array(64);
  const len = new Uint8Array(4);
  const r = lc.HMAC(md(algo), nz(key), key.length, nz(data), BigInt(data.length), out, len);
  if (isNull(r)) fail("INTERNAL", "HMAC");
  return out.slice(0, readInt(len));
}

/** PBKDF2-HMAC. */
export function pbkdf2(
  algo: DigestName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Uint8Array {
  const lc = lib();
  const out = new Uint8Array(Math.max(1, length));
  ok(
    lc.PKCS5_PBKDF2_HMAC(
      nz(password),
      password.length,
      nz(salt),
      salt.length,
      iterations,
      md(algo),
      length,
      out,
    ),
    "PKCS5_PBKDF2_HMAC",
  );
  return out.slice(0, length);
}

/**
 * Builds an OSSL_PARAM array (40 bytes each: key, data_type, data, data_size,
 * return_size) in memory that stays put; `keep` holds every buffer it points to.
 */
function ossParams(
  entries: [string, "utf8" | "octets", Uint8Array][],
): { params: Uint8Array; keep: Uint8Array[] } {
  const params = new Uint8Array(new ArrayBuffer(40 * (entries.length + 1)));
  const dv = new DataView(params.buffer);
  const keep: Uint8Array[] = [];
  entries.forEach(([name, type, value], i) => {
    const k = pinned(cstr(name));
    const v = pinned(type === "utf8" ? cstr(new TextDecoder().decode(value)) : value);
    keep.push(k, v);
    writePtrTo(params, i * 40, ptrOf(k));
    dv.setUint32(i * 40 + 8, type === "utf8" ? 4 : 5, true);
    writePtrTo(params, i * 40 + 16, ptrOf(v));
    dv.setBigUint64(i * 40 + 24, BigInt(value.length), true);
    dv.setBigUint64(i * 40 + 32, 0xffffffffffffffffn, true); // OSSL_PARAM_UNMODIFIED
  });
  return { params, keep };
}

function pinned(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(Math.max(1, b.length)));
  out.set(b);
  return out;
}

/** HKDF (extract and expand) through EVP_KDF. */
export function hkdf(
  algo: DigestName,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const kdf = must(lc.EVP_KDF_fetch(null, cstr("HKDF"), null), "EVP_KDF_fetch");
  const ctx = lc.EVP_KDF_CTX_new(kdf);
  try {
    must(ctx, "EVP_KDF_CTX_new");
    const entries: [string, "utf8" | "octets", Uint8Array][] = [
      ["digest", "utf8", new TextEncoder().encode(algo.toUpperCase())],
      ["key", "octets", ikm],
    ];
    if (salt.length) entries.push(["salt", "octets", salt]);
    if (info.length) entries.push(["info", "octets", info]);
    const { params, keep } = ossParams(entries);
    const out = new Uint8Array(Math.max(1, length));
    ok(lc.EVP_KDF_derive(ctx, out, BigInt(length), params), "EVP_KDF_derive");
    keep.length = 0;
    return out.slice(0, length);
  } finally {
    if (!isNull(ctx)) lc.EVP_KDF_CTX_free(ctx);
    lc.EVP_KDF_free(kdf);
  }
}

/** Cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(Math.max(1, n));
  ok(lib().RAND_bytes(out, n), "RAND_bytes");
  return out.slice(0, n);
}

function cipherHandle(algo: CipherName) {
  const p = lib().EVP_get_cipherbyname(cstr(algo));
  if (isNull(p)) throw new CryptoError("UNSUPPORTED", `cipher ${algo} is not available in OpenSSL`);
  return p;
}

function isAead(algo: CipherName): boolean {
  return algo.endsWith("gcm") || algo === "chacha20-poly1305";
}

function run(
  algo: CipherName,
  enc: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  input: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array | null,
  tagLength: number,
): { out: Uint8Array; tag: Uint8Array } {
  const lc = lib();
  lc.ERR_clear_error();
  const ctx = must(lc.EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new");
  try {
    const aead = isAead(algo);
    const e = enc ? 1 : 0;
    ok(lc.EVP_CipherInit_ex(ctx, cipherHandle(algo), null, null, null, e), "EVP_CipherInit_ex");
    if (aead) {
      const r = lc.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL.AEAD_SET_IVLEN, nonce.length, null);
      if (r <= 0) fail("INVALID_ARGUMENT", `nonce length ${nonce.length} rejected by ${algo}`);
    }
    ok(lc.EVP_CipherInit_ex(ctx, null, null, key, nz(nonce), e), "EVP_CipherInit_ex");
    const outl = new Uint8Array(4);
    if (aead && aad.length) {
      ok(lc.EVP_CipherUpdate(ctx, null, outl, aad, aad.length), "EVP_CipherUpdate(aad)");
    }
    const out = new Uint8Array(input.length + 32);
    let n = 0;
    if (input.length) {
      ok(lc.EVP_CipherUpdate(ctx, out, outl, input, input.length), "EVP_CipherUpdate");
      n = readInt(outl);
    }
    if (!enc && aead && tag) {
      const t = new Uint8Array(tag);
      ok(lc.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL.AEAD_SET_TAG, t.length, t), "set tag", "BAD_DECRYPT");
    }
    if (lc.EVP_CipherFinal_ex(ctx, out.subarray(n), outl) <= 0) {
      if (!enc) fail("BAD_DECRYPT", aead ? "authentication failed" : "bad padding");
      fail("INTERNAL", "EVP_CipherFinal_ex");
    }
    n += readInt(outl);
    let outTag = new Uint8Array(0);
    if (enc && aead) {
      outTag = new Uint8Array(tagLength);
      ok(lc.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL.AEAD_GET_TAG, tagLength, outTag), "get tag");
    }
    return { out: out.slice(0, n), tag: outTag };
  } finally {
    lc.EVP_CIPHER_CTX_free(ctx);
  }
}

/** Encrypts with an AEAD (tag returned) or AES-CBC with PKCS#7 padding (empty tag). */
export function encrypt(
  algo: CipherName,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const r = run(algo, true, key, nonce, plaintext, aad, null, tagLength);
  return { ciphertext: r.out, tag: r.tag };
}

/** Decrypts; BAD_DECRYPT on a bad tag or padding. */
export function decrypt(
  algo: CipherName,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  return run(algo, false, key, nonce, ciphertext, aad, tag, tag.length).out;
}
