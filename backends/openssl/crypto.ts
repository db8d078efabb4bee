/**
 * The OpenSSL 3 crypto provider: assembles the EVP, X.509, PKCS#12, CMS and
 * EC modules of this folder into one {@link CryptoProvider}.
 *
 * @module
 */

import type { CertInfo } from "../backend.ts";
import type { CryptoProvider } from "../crypto_provider.ts";
import { certificateDer } from "../pem.ts";
import { parseCertificateDer } from "../x509_der.ts";
import { lib } from "./crypto_lib.ts";
import { decrypt, digest, encrypt, hkdf, hmac, pbkdf2, randomBytes } from "./crypto_cipher.ts";
import {
  deriveSharedSecret,
  exportKey,
  generateKey,
  keyInfo,
  rsaDecrypt,
  rsaEncrypt,
  sign,
  verify,
} from "./crypto_keys.ts";
import {
  createCertificate,
  generateCsr,
  verifyCertificateSignature,
  verifyCsr,
} from "./crypto_x509.ts";
import {
  cmsCertsOnly,
  cmsDecrypt,
  cmsEncrypt,
  cmsGetCerts,
  cmsSign,
  cmsVerify,
  createPkcs12,
  parsePkcs12,
} from "./crypto_pki.ts";
import { ecGenerateScalar, ecPointAdd, ecPointConvert, ecPointMul } from "./crypto_ec.ts";

/**
 * Creates the OpenSSL crypto provider. libcrypto is opened on first use (once
 * per process); a missing library surfaces as the loader's error then.
 */
export function createOpenSslCrypto(): CryptoProvider {
  lib();
  return {
    parseCertificate(data: Uint8Array): CertInfo {
      return parseCertificateDer(certificateDer(data), (d) => digest("sha256", d));
    },
    digest,
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
    createPkcs12,
    parsePkcs12,
    cmsSign,
    cmsVerify,
    cmsEncrypt,
    cmsDecrypt,
    cmsCertsOnly,
    cmsGetCerts,
    ecGenerateScalar,
    ecPointMul,
    ecPointAdd,
    ecPointConvert,
  };
}
