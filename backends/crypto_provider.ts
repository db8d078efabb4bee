/**
 * The crypto half of a backend: primitives, keys and certificates. `crypto/`
 * types and checks arguments, then calls these; a backend that lacks a
 * primitive leaves it undefined and `crypto/` raises `CryptoError("UNSUPPORTED")`.
 *
 * @module
 */

import type { CertInfo } from "./backend.ts";

/** Crypto primitives one backend provides. Optional members are not on every backend. */
export interface CryptoProvider {
  /** Parses one certificate, PEM or DER. Throws `CryptoError("BAD_FORMAT")`. */
  parseCertificate(data: Uint8Array): CertInfo;
}
