/**
 * jsec's crypto toolbox: digests, MACs, KDFs, randomness, symmetric and RSA
 * encryption, signatures, key agreement, key formats, CSRs, PKCS#12, CMS,
 * base64 and EC point arithmetic — over OpenSSL 3 or mbedTLS 2.28, chosen
 * per call with `{ backend }` (default: the process default backend).
 *
 * Synchronous: anything that only computes (digests, HMAC, HKDF, ciphers,
 * sign/verify, RSA encryption, key formats, parsing, base64, EC points).
 * Promise: key generation, PBKDF2, and creating or opening CSRs, PKCS#12
 * and CMS structures.
 *
 * Errors are `CryptoError` with a `code`: INVALID_ARGUMENT (names the
 * argument), UNSUPPORTED (this backend cannot), BAD_DECRYPT, BAD_FORMAT,
 * BAD_PASSWORD, VERIFY_FAILED, BACKEND_UNAVAILABLE, INTERNAL.
 *
 * @example
 * ```ts
 * import { decrypt, encrypt, generateKey, generateNonce, randomBytes, sign, verify } from "@jsec/tls/crypto";
 * const key = randomBytes(32), nonce = generateNonce("chacha20-poly1305");
 * const { ciphertext, tag } = encrypt("chacha20-poly1305", key, nonce, "hi", "aad");
 * decrypt("chacha20-poly1305", key, nonce, ciphertext, tag, "aad");
 *
 * const { privateKey, publicKey } = await generateKey("ed25519");
 * verify(publicKey, "msg", sign(privateKey, "msg")); // true
 * ```
 *
 * @module
 */

export { CryptoError, type CryptoErrorCode } from "../errors.ts";
export type { BackendOption, BytesLike, KeyLike } from "./_common.ts";
export * from "./encoding.ts";
export * from "./hash.ts";
export * from "./cipher.ts";
export * from "./keys.ts";
export * from "./pki.ts";
export * from "./ec.ts";
export * from "./ocsp.ts";
