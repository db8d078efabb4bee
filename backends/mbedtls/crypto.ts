/**
 * The mbedTLS 2.28 crypto provider. What 2.28 cannot do through its public
 * API (X25519/Ed25519 keys, ECDH and EC points without struct offsets,
 * certificate and CSR writing, PKCS#12, CMS, encrypted key output) is simply
 * absent, and `crypto/` reports it as UNSUPPORTED.
 *
 * @module
 */

import type { CertInfo } from "../backend.ts";
import type { CryptoProvider } from "../crypto_provider.ts";
import { certificateDer, parseCertificateDer } from "../x509_der.ts";
import { mc } from "./crypto_lib.ts";
import { decrypt, encrypt, hkdf, hmac, pbkdf2, randomBytes, rawDigest } from "./crypto_sym.ts";
import {
  exportKey,
  generateKey,
  keyInfo,
  rsaDecrypt,
  rsaEncrypt,
  sign,
  verify,
} from "./crypto_keys.ts";

/** Creates the mbedTLS crypto provider (opens libmbedcrypto on first call). */
export function createMbedTlsCrypto(): CryptoProvider {
  mc();
  return {
    parseCertificate(data: Uint8Array): CertInfo {
      return parseCertificateDer(certificateDer(data), (d) => rawDigest("sha256", d));
    },
    digest: rawDigest,
    hmac,
    hkdf,
    pbkdf2,
    randomBytes,
    encrypt,
    decrypt,
    generateKey,
    keyInfo,
    exportKey,
    sign,
    verify,
    rsaEncrypt,
    rsaDecrypt,
  };
}
