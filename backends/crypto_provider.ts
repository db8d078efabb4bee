/**
 * The crypto half of a backend: primitives, keys and certificates. `crypto/`
 * types and checks arguments, then calls these; a backend that lacks a
 * primitive leaves it undefined and `crypto/` raises `CryptoError("UNSUPPORTED")`.
 *
 * Providers receive validated arguments (known algorithm names, sane sizes)
 * but still never trust them blindly near C. Keys travel as bytes: PEM text
 * or DER (PKCS#8, SPKI, or the traditional PKCS#1/SEC1 forms), with an
 * optional password. Every member is synchronous; `crypto/` wraps the slow
 * ones in Promises.
 *
 * @module
 */

import type { CertInfo } from "./backend.ts";

/** Digest names. */
export type DigestName =
  | "sha1"
  | "sha224"
  | "sha256"
  | "sha384"
  | "sha512"
  | "sha3-256"
  | "sha3-384"
  | "sha3-512";

/** Symmetric ciphers. AEADs return a tag; CBC (PKCS#7 padding) returns an empty tag. */
export type CipherName =
  | "aes-128-gcm"
  | "aes-192-gcm"
  | "aes-256-gcm"
  | "chacha20-poly1305"
  | "aes-128-cbc"
  | "aes-192-cbc"
  | "aes-256-cbc";

/** Key types `generateKey` makes. */
export type KeyType = "rsa" | "ed25519" | "x25519" | "p256" | "p384" | "p521";

/** Curves of the EC point functions. */
export type CurveName = "P-256" | "P-384" | "P-521" | "secp256k1";

/** Signature options, resolved by `crypto/` (hash filled in by key type). */
export interface SignParams {
  /** Digest for RSA and ECDSA; null for Ed25519. */
  hash: DigestName | null;
  /** RSA padding. */
  padding: "pkcs1" | "pss";
  /** PSS salt length in bytes; -1 means the digest length. */
  saltLength: number;
}

/** RSA encryption paddings. */
export type RsaPadding = "oaep-sha256" | "oaep-sha1" | "oaep-sha384" | "oaep-sha512" | "pkcs1";

/** A private key with its password. */
export interface KeyInput {
  /** PEM text (as bytes) or DER. */
  data: Uint8Array;
  password?: string;
}

/** Distinguished-name fields. */
export interface SubjectFields {
  /** Common name (CN). */
  commonName?: string;
  /** Country (C), a two-letter code. */
  country?: string;
  /** State or province (ST). */
  state?: string;
  /** Locality, e.g. a city (L). */
  locality?: string;
  /** Organization (O). */
  organization?: string;
  /** Organizational unit (OU). */
  organizationalUnit?: string;
  /** Email address (the emailAddress attribute). */
  emailAddress?: string;
}

/** Everything needed to write and sign one certificate. */
export interface CertParams {
  subject: SubjectFields;
  /** The subject's public key: SPKI DER. */
  publicKey: Uint8Array;
  /** The issuer's certificate, DER; null for self-signed. */
  issuerCert: Uint8Array | null;
  /** The key that signs (the issuer's, or the subject's own when self-signed). */
  signingKey: KeyInput;
  /** Serial number, big-endian, positive (first byte < 0x80), 1..20 bytes. */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** "DNS:x", "IP:1.2.3.4", "email:x", "URI:x", already validated. */
  san: string[];
  /** Digest for the signature; null for Ed25519 keys. */
  hash: DigestName | null;
}

/** How `exportKey` encodes. */
export interface ExportKeyParams {
  format: "pem" | "der";
  /** Export the public half (SPKI). */
  public: boolean;
  /** Encrypt the PKCS#8 output with this password (AES-256-CBC, PBKDF2). */
  password?: string;
  /** PKCS#1 (RSA) or SEC1 (EC) instead of PKCS#8. */
  traditional?: boolean;
}

/** What `keyInfo` reports. */
export interface KeyDetails {
  /** Key type: "rsa", "ec", "ed25519", ... */
  type: string;
  /** Key size in bits. */
  bits: number;
  /** The curve for EC keys ("P-256", ...), else null. */
  curve: string | null;
  /** True when the key given was a private key. */
  isPrivate: boolean;
  /** The public key, SPKI PEM. */
  publicKey: string;
}

/** The contents of a PKCS#12 file. */
export interface Pkcs12Contents {
  /** PKCS#8 PEM, or null when the file holds no key. */
  key: string | null;
  /** The certificate matching the key, PEM, or null. */
  cert: string | null;
  /** Other certificates, PEM. */
  ca: string[];
  friendlyName: string | null;
}

/** Crypto primitives one backend provides. Optional members are not on every backend. */
export interface CryptoProvider {
  /** Parses one certificate, PEM or DER. Throws `CryptoError("BAD_FORMAT")`. */
  parseCertificate(data: Uint8Array): CertInfo;

  digest?(algo: DigestName, data: Uint8Array): Uint8Array;
  hmac?(algo: DigestName, key: Uint8Array, data: Uint8Array): Uint8Array;
  hkdf?(
    algo: DigestName,
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number,
  ): Uint8Array;
  pbkdf2?(
    algo: DigestName,
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Uint8Array;
  randomBytes?(n: number): Uint8Array;

  /** Encrypts; for AEADs `tagLength` bytes of tag, for CBC an empty tag. */
  encrypt?(
    algo: CipherName,
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    tagLength: number,
  ): { ciphertext: Uint8Array; tag: Uint8Array };
  /** Decrypts; throws `CryptoError("BAD_DECRYPT")` on a bad tag or padding. */
  decrypt?(
    algo: CipherName,
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array;

  /** A new key pair: PKCS#8 PEM and SPKI PEM. */
  generateKey?(type: KeyType, bits: number): { privateKey: string; publicKey: string };
  /** Details of a private or public key; throws BAD_FORMAT / BAD_PASSWORD. */
  keyInfo?(key: KeyInput): KeyDetails;
  /**
   * Re-encodes a key. Private keys as PKCS#8 (encrypted with a password) or,
   * with `traditional`, PKCS#1 / SEC1; public keys as SPKI.
   */
  exportKey?(key: KeyInput, options: ExportKeyParams): Uint8Array;

  sign?(key: KeyInput, data: Uint8Array, params: SignParams): Uint8Array;
  /** False for a wrong signature; throws only for unusable keys. */
  verify?(key: KeyInput, data: Uint8Array, signature: Uint8Array, params: SignParams): boolean;
  rsaEncrypt?(key: KeyInput, data: Uint8Array, padding: RsaPadding, label?: Uint8Array): Uint8Array;
  rsaDecrypt?(key: KeyInput, data: Uint8Array, padding: RsaPadding, label?: Uint8Array): Uint8Array;
  /** ECDH or X25519 shared secret. */
  deriveSharedSecret?(privateKey: KeyInput, publicKey: KeyInput): Uint8Array;

  /** Writes and signs a certificate; returns its DER. */
  createCertificate?(params: CertParams): Uint8Array;
  /** A CSR, DER. */
  generateCsr?(
    key: KeyInput,
    subject: SubjectFields,
    san: string[],
    hash: DigestName | null,
  ): Uint8Array;
  /** True when the CSR's self-signature verifies. */
  verifyCsr?(der: Uint8Array): boolean;
  /** True when the certificate `der` was signed by the key of `issuerDer`. */
  verifyCertificateSignature?(der: Uint8Array, issuerDer: Uint8Array): boolean;

  createPkcs12?(params: {
    key: KeyInput;
    cert: Uint8Array;
    ca: Uint8Array[];
    password: string;
    friendlyName: string | null;
  }): Uint8Array;
  parsePkcs12?(data: Uint8Array, password: string): Pkcs12Contents;

  cmsSign?(params: {
    cert: Uint8Array;
    key: KeyInput;
    data: Uint8Array;
    chain: Uint8Array[];
    detached: boolean;
  }): Uint8Array;
  cmsVerify?(params: {
    cms: Uint8Array;
    caCerts: Uint8Array[];
    data: Uint8Array | null;
    verifyChain: boolean;
  }): { valid: boolean; content: Uint8Array | null; error: string | null };
  cmsEncrypt?(params: { recipients: Uint8Array[]; data: Uint8Array; cipher: string }): Uint8Array;
  cmsDecrypt?(params: { cms: Uint8Array; key: KeyInput; cert: Uint8Array | null }): Uint8Array;
  cmsCertsOnly?(certs: Uint8Array[]): Uint8Array;
  /** The certificates a CMS structure carries, DER. */
  cmsGetCerts?(cms: Uint8Array): Uint8Array[];

  /** A random scalar in [1, n-1], big-endian, padded to the order's size. */
  ecGenerateScalar?(curve: CurveName): Uint8Array;
  /** `scalar * point` (the generator when `point` is null), uncompressed. */
  ecPointMul?(curve: CurveName, scalar: Uint8Array, point: Uint8Array | null): Uint8Array;
  /** `a + b`, uncompressed. */
  ecPointAdd?(curve: CurveName, a: Uint8Array, b: Uint8Array): Uint8Array;
  /** Validates a point (on the curve, not infinity) and re-encodes it. */
  ecPointConvert?(curve: CurveName, point: Uint8Array, compressed: boolean): Uint8Array;
}
