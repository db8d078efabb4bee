/**
 * Digests, MACs, key derivation and randomness.
 *
 * All synchronous except {@link pbkdf2}, which is slow by design and returns a Promise.
 *
 * @module
 */

import type { DigestName } from "../backends/crypto_provider.ts";
import {
  type BackendOption,
  bytes,
  type BytesLike,
  int,
  later,
  need,
  oneOf,
  optBytes,
} from "./_common.ts";
import { base64urlEncode } from "./encoding.ts";

export type { DigestName } from "../backends/crypto_provider.ts";

/** The digest names every function here accepts. */
export const DIGESTS: readonly DigestName[] = [
  "sha1",
  "sha224",
  "sha256",
  "sha384",
  "sha512",
  "sha3-256",
  "sha3-384",
  "sha3-512",
];

/** Output size in bytes of each digest. */
export const DIGEST_SIZES: Readonly<Record<DigestName, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  "sha3-256": 32,
  "sha3-384": 48,
  "sha3-512": 64,
};

/**
 * Hashes `data` (strings as UTF-8). Synchronous.
 *
 * @example
 * ```ts
 * import { digest } from "@jsec/tls/crypto";
 * const h = digest("sha256", "hello"); // 32 bytes
 * ```
 */
export function digest(algo: DigestName, data: BytesLike, options: BackendOption = {}): Uint8Array {
  const a = oneOf("algo", algo, DIGESTS);
  const d = bytes("data", data);
  return need("digest", "digest", options.backend)(a, d);
}

/**
 * HMAC of `data` under `key`. Synchronous.
 *
 * @example
 * ```ts
 * import { hmac } from "@jsec/tls/crypto";
 * const tag = hmac("sha256", "secret key", "message");
 * ```
 */
export function hmac(
  algo: DigestName,
  key: BytesLike,
  data: BytesLike,
  options: BackendOption = {},
): Uint8Array {
  const a = oneOf("algo", algo, DIGESTS);
  return need("hmac", "hmac", options.backend)(a, bytes("key", key), bytes("data", data));
}

/**
 * HKDF (RFC 5869): extract with `salt`, expand with `info` to `length` bytes
 * (at most 255 × the digest size). Synchronous.
 *
 * @example
 * ```ts
 * import { hkdf } from "@jsec/tls/crypto";
 * const key = hkdf("sha256", sharedSecret, salt, "my-app v1 encryption key", 32);
 * ```
 */
export function hkdf(
  algo: DigestName,
  ikm: BytesLike,
  salt: BytesLike | undefined,
  info: BytesLike | undefined,
  length: number,
  options: BackendOption = {},
): Uint8Array {
  const a = oneOf("algo", algo, DIGESTS);
  const n = int("length", length, 1, 255 * DIGEST_SIZES[a]);
  return need("hkdf", "hkdf", options.backend)(
    a,
    bytes("ikm", ikm),
    optBytes("salt", salt),
    optBytes("info", info),
    n,
  );
}

/**
 * PBKDF2-HMAC (RFC 8018). Asynchronous: it is slow by design.
 *
 * @example
 * ```ts
 * import { pbkdf2, randomBytes } from "@jsec/tls/crypto";
 * const salt = randomBytes(16);
 * const key = await pbkdf2("sha256", "correct horse", salt, 600_000, 32);
 * ```
 */
export function pbkdf2(
  algo: DigestName,
  password: BytesLike,
  salt: BytesLike,
  iterations: number,
  length: number,
  options: BackendOption = {},
): Promise<Uint8Array> {
  return later(() => {
    const a = oneOf("algo", algo, DIGESTS);
    const it = int("iterations", iterations, 1, 100_000_000);
    const n = int("length", length, 1, 1 << 20);
    return need("pbkdf2", "pbkdf2", options.backend)(
      a,
      bytes("password", password),
      bytes("salt", salt),
      it,
      n,
    );
  });
}

/**
 * `n` cryptographically secure random bytes from the backend's DRBG. Synchronous.
 *
 * @example
 * ```ts
 * import { randomBytes } from "@jsec/tls/crypto";
 * const key = randomBytes(32);
 * ```
 */
export function randomBytes(n: number, options: BackendOption = {}): Uint8Array {
  const len = int("n", n, 0, 1 << 20);
  if (len === 0) return new Uint8Array(0);
  return need("randomBytes", "randomBytes", options.backend)(len);
}

/**
 * A random challenge for challenge-response protocols (WebAuthn, nonces in
 * URLs): `length` random bytes (default 32, at least 16) as base64url text.
 * Synchronous.
 *
 * @example
 * ```ts
 * import { generateChallenge } from "@jsec/tls/crypto";
 * const challenge = generateChallenge(); // e.g. "q3Vf...", 43 characters
 * ```
 */
export function generateChallenge(length = 32, options: BackendOption = {}): string {
  return base64urlEncode(randomBytes(int("length", length, 16, 1024), options));
}
