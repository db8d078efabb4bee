/**
 * Digests, HMAC, HKDF, PBKDF2, randomness and symmetric ciphers with mbedTLS 2.28.
 *
 * @module
 */

import { CRYPTO_SIZES, MBEDTLS_ERR } from "../../ffi/mbedtls_crypto.ts";
import { cstr, isNull, pinnedBytes, type Ptr } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { CipherName, DigestName } from "../crypto_provider.ts";
import { check, mc, nz, readCell, rng, sizeCell } from "./crypto_lib.ts";

/** The md_info of a digest (SHA-3 is not in 2.28: UNSUPPORTED). */
export function mdInfo(algo: DigestName): { info: Ptr; size: number } {
  const info = mc().mbedtls_md_info_from_string(cstr(algo.toUpperCase()));
  if (isNull(info)) {
    throw new CryptoError("UNSUPPORTED", `${algo} is not supported by the mbedtls backend`);
  }
  return { info, size: mc().mbedtls_md_get_size(info) };
}

/** One-shot digest. */
export function rawDigest(algo: DigestName, data: Uint8Array): Uint8Array {
  const { info, size } = mdInfo(algo);
  const out = new Uint8Array(64);
  check(mc().mbedtls_md(info, nz(data), BigInt(data.length), out), "mbedtls_md");
  return out.slice(0, size);
}

/** One-shot HMAC. */
export function hmac(algo: DigestName, key: Uint8Array, data: Uint8Array): Uint8Array {
  const { info, size } = mdInfo(algo);
  const out = new Uint8Array(64);
  check(
    mc().mbedtls_md_hmac(info, nz(key), BigInt(key.length), nz(data), BigInt(data.length), out),
    "mbedtls_md_hmac",
  );
  return out.slice(0, size);
}

/** HKDF. */
export function hkdf(
  algo: DigestName,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const f = mc().mbedtls_hkdf;
  if (!f) throw new CryptoError("UNSUPPORTED", "this mbedTLS build has no HKDF");
  const out = new Uint8Array(Math.max(1, length));
  const md = mdInfo(algo).info;
  check(
    f(
      md,
      nz(salt),
      BigInt(salt.length),
      nz(ikm),
      BigInt(ikm.length),
      nz(info),
      BigInt(info.length),
      out,
      BigInt(length),
    ),
    "mbedtls_hkdf",
  );
  return out.slice(0, length);
}

/** PBKDF2-HMAC. */
export function pbkdf2(
  algo: DigestName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Uint8Array {
  const m = mc();
  const ctx = pinnedBytes(CRYPTO_SIZES.md);
  m.mbedtls_md_init(ctx);
  try {
    check(m.mbedtls_md_setup(ctx, mdInfo(algo).info, 1), "mbedtls_md_setup");
    const out = new Uint8Array(Math.max(1, length));
    check(
      m.mbedtls_pkcs5_pbkdf2_hmac(
        ctx,
        nz(password),
        BigInt(password.length),
        nz(salt),
        BigInt(salt.length),
        iterations,
        length,
        out,
      ),
      "mbedtls_pkcs5_pbkdf2_hmac",
    );
    return out.slice(0, length);
  } finally {
    m.mbedtls_md_free(ctx);
  }
}

/** Random bytes from the backend's CTR-DRBG (1024 bytes per request at most). */
export function randomBytes(n: number): Uint8Array {
  const { p } = rng();
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 1024) {
    const chunk = out.subarray(o, Math.min(n, o + 1024));
    check(mc().mbedtls_ctr_drbg_random(p, chunk, BigInt(chunk.length)), "mbedtls_ctr_drbg_random");
  }
  return out;
}

function gcm(
  enc: boolean,
  key: Uint8Array,
  iv: Uint8Array,
  input: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array,
): Uint8Array {
  const m = mc();
  const ctx = pinnedBytes(CRYPTO_SIZES.gcm);
  m.mbedtls_gcm_init(ctx);
  try {
    check(m.mbedtls_gcm_setkey(ctx, 2, key, key.length * 8), "mbedtls_gcm_setkey"); // MBEDTLS_CIPHER_ID_AES
    const out = new Uint8Array(Math.max(1, input.length));
    const n = BigInt(input.length);
    if (enc) {
      check(
        m.mbedtls_gcm_crypt_and_tag(
          ctx,
          1,
          n,
          iv,
          BigInt(iv.length),
          nz(aad),
          BigInt(aad.length),
          nz(input),
          out,
          BigInt(tag.length),
          tag,
        ),
        "mbedtls_gcm_crypt_and_tag",
      );
    } else {
      const rc = m.mbedtls_gcm_auth_decrypt(
        ctx,
        n,
        iv,
        BigInt(iv.length),
        nz(aad),
        BigInt(aad.length),
        tag,
        BigInt(tag.length),
        nz(input),
        out,
      );
      if (rc === MBEDTLS_ERR.GCM_AUTH_FAILED) {
        throw new CryptoError("BAD_DECRYPT", "authentication failed");
      }
      check(rc, "mbedtls_gcm_auth_decrypt", "BAD_DECRYPT");
    }
    return out.slice(0, input.length);
  } finally {
    m.mbedtls_gcm_free(ctx);
  }
}

function chachapoly(
  enc: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  input: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array,
): Uint8Array {
  const m = mc();
  const ctx = pinnedBytes(CRYPTO_SIZES.chachapoly);
  m.mbedtls_chachapoly_init(ctx);
  try {
    check(m.mbedtls_chachapoly_setkey(ctx, key), "mbedtls_chachapoly_setkey");
    const out = new Uint8Array(Math.max(1, input.length));
    const n = BigInt(input.length);
    if (enc) {
      check(
        m.mbedtls_chachapoly_encrypt_and_tag(
          ctx,
          n,
          nonce,
          nz(aad),
          BigInt(aad.length),
          nz(input),
          out,
          tag,
        ),
        "mbedtls_chachapoly_encrypt_and_tag",
      );
    } else {
      const rc = m.mbedtls_chachapoly_auth_decrypt(
        ctx,
        n,
        nonce,
        nz(aad),
        BigInt(aad.length),
        tag,
        nz(input),
        out,
      );
      if (rc === MBEDTLS_ERR.CHACHAPOLY_AUTH_FAILED) {
        throw new CryptoError("BAD_DECRYPT", "authentication failed");
      }
      check(rc, "mbedtls_chachapoly_auth_decrypt", "BAD_DECRYPT");
    }
    return out.slice(0, input.length);
  } finally {
    m.mbedtls_chachapoly_free(ctx);
  }
}

function cbc(
  algo: CipherName,
  enc: boolean,
  key: Uint8Array,
  iv: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  const m = mc();
  const info = m.mbedtls_cipher_info_from_string(cstr(algo.toUpperCase()));
  if (isNull(info)) {
    throw new CryptoError("UNSUPPORTED", `${algo} is not supported by the mbedtls backend`);
  }
  const ctx = pinnedBytes(CRYPTO_SIZES.cipher);
  m.mbedtls_cipher_init(ctx);
  try {
    check(m.mbedtls_cipher_setup(ctx, info), "mbedtls_cipher_setup");
    check(m.mbedtls_cipher_setkey(ctx, key, key.length * 8, enc ? 1 : 0), "mbedtls_cipher_setkey");
    check(m.mbedtls_cipher_set_padding_mode(ctx, 0), "mbedtls_cipher_set_padding_mode"); // PKCS7
    const out = new Uint8Array(input.length + 32);
    const len = sizeCell();
    const rc = m.mbedtls_cipher_crypt(
      ctx,
      iv,
      BigInt(iv.length),
      nz(input),
      BigInt(input.length),
      out,
      len,
    );
    if (
      !enc &&
      (rc === MBEDTLS_ERR.CIPHER_INVALID_PADDING || rc === MBEDTLS_ERR.CIPHER_FULL_BLOCK_EXPECTED)
    ) {
      throw new CryptoError("BAD_DECRYPT", "bad padding");
    }
    check(rc, "mbedtls_cipher_crypt", enc ? "INTERNAL" : "BAD_DECRYPT");
    return out.slice(0, readCell(len));
  } finally {
    m.mbedtls_cipher_free(ctx);
  }
}

/** Encrypts with an AEAD (tag) or AES-CBC (empty tag). */
export function encrypt(
  algo: CipherName,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  if (algo.endsWith("cbc")) {
    return { ciphertext: cbc(algo, true, key, nonce, plaintext), tag: new Uint8Array(0) };
  }
  const tag = new Uint8Array(tagLength);
  const ciphertext = algo === "chacha20-poly1305"
    ? chachapoly(true, key, nonce, plaintext, aad, tag)
    : gcm(true, key, nonce, plaintext, aad, tag);
  return { ciphertext, tag };
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
  if (algo.endsWith("cbc")) return cbc(algo, false, key, nonce, ciphertext);
  if (algo === "chacha20-poly1305") return chachapoly(false, key, nonce, ciphertext, aad, tag);
  return gcm(false, key, nonce, ciphertext, aad, tag);
}
