/**
 * Symmetric encryption: AES-GCM, ChaCha20-Poly1305 (AEADs, with a separate
 * tag and optional AAD) and AES-CBC with PKCS#7 padding (empty tag).
 * All synchronous.
 *
 * @module
 */

import type { CipherName } from "../backends/crypto_provider.ts";
import {
  type BackendOption,
  bytes,
  type BytesLike,
  int,
  invalid,
  need,
  oneOf,
  optBytes,
  u8,
} from "./_common.ts";
import { randomBytes } from "./hash.ts";

export type { CipherName } from "../backends/crypto_provider.ts";

/** What {@link cipherInfo} reports. */
export interface CipherInfo {
  /** The cipher's name, e.g. "aes-128-gcm". */
  name: CipherName;
  /** Key size in bytes. */
  keyLength: number;
  /** Recommended (default) nonce size in bytes. */
  nonceLength: number;
  /** Tag size in bytes (0 for CBC). */
  tagLength: number;
  /** Block size in bytes (1 for stream-like modes). */
  blockSize: number;
  /** True for authenticated ciphers. */
  aead: boolean;
}

const INFO: Record<CipherName, Omit<CipherInfo, "name">> = {
  "aes-128-gcm": { keyLength: 16, nonceLength: 12, tagLength: 16, blockSize: 1, aead: true },
  "aes-192-gcm": { keyLength: 24, nonceLength: 12, tagLength: 16, blockSize: 1, aead: true },
  "aes-256-gcm": { keyLength: 32, nonceLength: 12, tagLength: 16, blockSize: 1, aead: true },
  "chacha20-poly1305": { keyLength: 32, nonceLength: 12, tagLength: 16, blockSize: 1, aead: true },
  "aes-128-cbc": { keyLength: 16, nonceLength: 16, tagLength: 0, blockSize: 16, aead: false },
  "aes-192-cbc": { keyLength: 24, nonceLength: 16, tagLength: 0, blockSize: 16, aead: false },
  "aes-256-cbc": { keyLength: 32, nonceLength: 16, tagLength: 0, blockSize: 16, aead: false },
};

/** The cipher names `encrypt` and `decrypt` accept. */
export const CIPHERS: readonly CipherName[] = Object.keys(INFO) as CipherName[];

/**
 * Key, nonce, tag and block sizes of a cipher. Synchronous, no backend needed.
 *
 * @example
 * ```ts
 * import { cipherInfo } from "@jsec/tls/crypto";
 * cipherInfo("chacha20-poly1305").keyLength; // 32
 * ```
 */
export function cipherInfo(algo: CipherName): CipherInfo {
  const a = oneOf("algo", algo, CIPHERS);
  return { name: a, ...INFO[a] };
}

function checkKeyNonce(a: CipherName, key: unknown, nonce: unknown): [Uint8Array, Uint8Array] {
  const k = u8("key", key);
  const n = u8("nonce", nonce);
  const info = INFO[a];
  if (k.length !== info.keyLength) invalid("key", k, `${info.keyLength} bytes for ${a}`);
  if (a.endsWith("gcm")) {
    // OpenSSL 3 and mbedTLS both cap GCM IVs at 128 bytes.
    if (n.length < 1 || n.length > 128) {
      invalid("nonce", n, `1 to 128 bytes (12 recommended) for ${a}`);
    }
  } else if (n.length !== info.nonceLength) {
    invalid("nonce", n, `${info.nonceLength} bytes for ${a}`);
  }
  return [k, n];
}

/**
 * Encrypts. AEADs return a 16-byte `tag` (or `options.tagLength`, 4–16 bytes
 * for GCM) and authenticate `aad`; AES-CBC pads with PKCS#7, returns an empty
 * tag and rejects `aad`. Never reuse a nonce with the same key: use
 * {@link generateNonce}. Synchronous.
 *
 * @example
 * ```ts
 * import { decrypt, encrypt, generateNonce, randomBytes } from "@jsec/tls/crypto";
 * const key = randomBytes(32), nonce = generateNonce("aes-256-gcm");
 * const { ciphertext, tag } = encrypt("aes-256-gcm", key, nonce, "secret", "header");
 * const plain = decrypt("aes-256-gcm", key, nonce, ciphertext, tag, "header");
 * ```
 */
export function encrypt(
  algo: CipherName,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: BytesLike,
  aad?: BytesLike,
  options: BackendOption & { tagLength?: number } = {},
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const a = oneOf("algo", algo, CIPHERS);
  const [k, n] = checkKeyNonce(a, key, nonce);
  const p = bytes("plaintext", plaintext);
  const ad = optBytes("aad", aad);
  if (!INFO[a].aead && ad.length) invalid("aad", ad, `nothing: ${a} is not an AEAD`);
  let tagLength = INFO[a].tagLength;
  if (options.tagLength !== undefined && INFO[a].aead) {
    tagLength = a.endsWith("gcm")
      ? int("tagLength", options.tagLength, 4, 16)
      : int("tagLength", options.tagLength, 16, 16);
  }
  return need("encrypt", "encrypt", options.backend)(a, k, n, p, ad, tagLength);
}

/**
 * Decrypts and authenticates. Throws `CryptoError("BAD_DECRYPT")` when the
 * tag (AEAD) or the padding (CBC) is wrong. Synchronous.
 */
export function decrypt(
  algo: CipherName,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad?: BytesLike,
  options: BackendOption = {},
): Uint8Array {
  const a = oneOf("algo", algo, CIPHERS);
  const [k, n] = checkKeyNonce(a, key, nonce);
  const c = u8("ciphertext", ciphertext);
  const t = tag === undefined && !INFO[a].aead ? new Uint8Array(0) : u8("tag", tag);
  const ad = optBytes("aad", aad);
  if (INFO[a].aead) {
    const min = a.endsWith("gcm") ? 4 : 16;
    if (t.length < min || t.length > 16) invalid("tag", t, `${min} to 16 bytes for ${a}`);
  } else {
    if (t.length) invalid("tag", t, `an empty tag: ${a} is not an AEAD`);
    if (ad.length) invalid("aad", ad, `nothing: ${a} is not an AEAD`);
    if (c.length === 0 || c.length % 16) {
      invalid("ciphertext", c, "a non-empty multiple of 16 bytes");
    }
  }
  return need("decrypt", "decrypt", options.backend)(a, k, n, c, t, ad);
}

/**
 * A fresh random nonce of the cipher's nonce size (12 bytes for the AEADs,
 * 16-byte IV for CBC). Synchronous.
 */
export function generateNonce(algo: CipherName, options: BackendOption = {}): Uint8Array {
  return randomBytes(INFO[oneOf("algo", algo, CIPHERS)].nonceLength, options);
}
