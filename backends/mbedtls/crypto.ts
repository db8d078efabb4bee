/**
 * The mbedTLS 2.28 crypto provider. What 2.28 has no algorithm for (Ed25519,
 * PKCS#12, CMS) is simply absent, and `crypto/` reports it as UNSUPPORTED.
 * Certificates, CSRs and encrypted PKCS#8 are DER built in TypeScript around
 * mbedTLS signatures and ciphers; ECDH, X25519 and EC points use its ecp layer.
 *
 * @module
 */

import type { CertInfo } from "../backend.ts";
import type { CryptoProvider } from "../crypto_provider.ts";
import { certificateDer } from "../pem.ts";
import { parseCertificateDer } from "../x509_der.ts";
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
import {
  deriveSharedSecret,
  ecGenerateScalar,
  ecPointAdd,
  ecPointConvert,
  ecPointMul,
} from "./crypto_ec.ts";
import {
  createCertificate,
  generateCsr,
  verifyCertificateSignature,
  verifyCsr,
} from "./crypto_x509write.ts";

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
    deriveSharedSecret,
    createCertificate,
    generateCsr,
    verifyCsr,
    verifyCertificateSignature,
    ecGenerateScalar,
    ecPointMul,
    ecPointAdd,
    ecPointConvert,
  };
}
