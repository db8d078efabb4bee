/**
 * Asymmetric keys: generation, formats, signatures, RSA encryption and key
 * agreement.
 *
 * Key generation returns a Promise (it is slow, RSA especially); everything
 * else here is synchronous. Keys are passed as PEM text or PEM/DER bytes
 * (PKCS#8, SPKI, PKCS#1, SEC1; encrypted PKCS#8 with `password`).
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";
import type { DigestName, KeyDetails, KeyType, RsaPadding } from "../backends/crypto_provider.ts";
import { CryptoError } from "../errors.ts";
import { readTlv, TAG } from "../backends/der.ts";
import { bytesToText, certificateDer, derToPem, looksLikePem, pemBlocks } from "../backends/pem.ts";
import {
  type BackendOption,
  bytes,
  type BytesLike,
  certBytes,
  checkPassword,
  int,
  invalid,
  keyInput,
  type KeyLike,
  later,
  need,
  oneOf,
  u8,
} from "./_common.ts";
import { DIGEST_SIZES, DIGESTS } from "./hash.ts";
import { certDers, spkiInfo } from "./_x509.ts";
import {
  derToP1363,
  EC_SIG_HALF,
  EC_TYPES,
  p1363ToDer,
  RAW_TYPES,
  rawPrivateToPkcs8,
  rawPublicToSpki,
} from "./_raw.ts";

export type { KeyDetails, KeyType, RsaPadding } from "../backends/crypto_provider.ts";

/** Key type names `generateKey` accepts, with the "ec-" aliases. */
export type KeyTypeName = KeyType | "ec-p256" | "ec-p384" | "ec-p521";

const KEY_TYPES: readonly KeyTypeName[] = [
  "rsa",
  "ed25519",
  "x25519",
  "p256",
  "p384",
  "p521",
  "ec-p256",
  "ec-p384",
  "ec-p521",
];

/** A key pair as PEM: PKCS#8 private key and SPKI public key. */
export interface KeyPair {
  /** The private key, PKCS#8 PEM. */
  privateKey: string;
  /** The public key, SPKI PEM. */
  publicKey: string;
}

/**
 * Generates a key pair. Asynchronous.
 *
 * @param type "rsa" (with `options.bits`, default 2048), "ed25519", "x25519",
 *   "p256" | "p384" | "p521" (or "ec-p256", ...).
 * @example
 * ```ts
 * import { generateKey } from "@jsec/tls/crypto";
 * const { privateKey, publicKey } = await generateKey("ed25519");
 * const rsa = await generateKey("rsa", { bits: 3072 });
 * ```
 */
export function generateKey(
  type: KeyTypeName,
  options: BackendOption & { bits?: number } = {},
): Promise<KeyPair> {
  return later(() => {
    const t = oneOf("type", type, KEY_TYPES).replace(/^ec-/, "") as KeyType;
    const bits = options.bits === undefined ? 2048 : int("bits", options.bits, 1024, 16384);
    if (t !== "rsa" && options.bits !== undefined) {
      invalid("bits", options.bits, "no bits for " + t);
    }
    return need("generateKey", "generateKey", options.backend)(t, bits);
  });
}

/** Options of functions that take a possibly encrypted key. */
export interface KeyOptions extends BackendOption {
  /** Password of an encrypted PKCS#8 (or legacy encrypted PEM) key. */
  password?: string;
}

/**
 * Type, size, curve of a key (private or public), and its public half as SPKI PEM.
 * Synchronous.
 *
 * @example
 * ```ts
 * import { keyInfo } from "@jsec/tls/crypto";
 * keyInfo(pem); // { type: "ec", bits: 256, curve: "P-256", isPrivate: true, publicKey: "-----BEGIN PUBLIC KEY-----..." }
 * ```
 */
export function keyInfo(key: KeyLike, options: KeyOptions = {}): KeyDetails {
  return need("keyInfo", "keyInfo", options.backend)(keyInput("key", key, options.password));
}

/** The public half of a key (private or public), as SPKI PEM. Synchronous. */
export function exportPublicKey(key: KeyLike, options: KeyOptions = {}): string {
  return keyInfo(key, options).publicKey;
}

/**
 * Reads a private key in any supported form (PEM or DER; PKCS#8, PKCS#1, SEC1;
 * encrypted with `password`) and returns it as unencrypted PKCS#8 PEM.
 * Throws BAD_PASSWORD or BAD_FORMAT. Synchronous.
 */
export function loadKey(key: KeyLike, options: KeyOptions = {}): string {
  const k = keyInput("key", key, options.password);
  const out = need("loadKey", "exportKey", options.backend)(k, { format: "pem", public: false });
  return new TextDecoder().decode(out);
}

/** Options of {@link exportKey}. */
export interface ExportKeyOptions extends KeyOptions {
  /** "pem" (default) or "der". */
  format?: "pem" | "der";
  /** Encrypt the output (PKCS#8 with AES-256-CBC and PBKDF2) with this password. */
  outputPassword?: string;
  /** Export the public half (SPKI) instead. */
  public?: boolean;
}

/**
 * Exports a key as PKCS#8 (optionally encrypted) or, with `public`, SPKI.
 * PEM as a string, DER as bytes. Synchronous.
 *
 * @example
 * ```ts
 * import { exportKey, loadKey } from "@jsec/tls/crypto";
 * const locked = exportKey(privateKey, { outputPassword: "s3cret" }) as string;
 * const again = loadKey(locked, { password: "s3cret" });
 * ```
 */
export function exportKey(key: KeyLike, options: ExportKeyOptions = {}): string | Uint8Array {
  const format = options.format === undefined
    ? "pem"
    : oneOf("format", options.format, ["pem", "der"]);
  if (options.outputPassword !== undefined) {
    if (checkPassword("outputPassword", options.outputPassword).length === 0) {
      invalid("outputPassword", "(empty)", "a non-empty string");
    }
    if (options.public) invalid("outputPassword", "(set)", "no password for a public key");
  }
  const out = need("exportKey", "exportKey", options.backend)(
    keyInput("key", key, options.password),
    { format, public: options.public === true, password: options.outputPassword },
  );
  return format === "pem" ? new TextDecoder().decode(out) : out;
}

/** Encodings {@link detectFormat} tells apart and {@link convertKey} writes. */
export type KeyFormat = "pem" | "der" | "pkcs8-pem" | "pkcs8-der";

/**
 * Tells PEM from DER, and PKCS#8 private keys (plain or encrypted) from other
 * structures. Pure TypeScript, synchronous.
 *
 * @returns "pkcs8-pem" / "pkcs8-der" for PKCS#8 keys, "pem" / "der" for
 *   anything else well-formed (certificates, SPKI, PKCS#1, SEC1, CSRs), or "unknown".
 */
export function detectFormat(data: string | Uint8Array): KeyFormat | "unknown" {
  const b = typeof data === "string" ? new TextEncoder().encode(data) : u8("data", data);
  if (looksLikePem(b)) {
    let blocks;
    try {
      blocks = pemBlocks(bytesToText(b));
    } catch {
      return "unknown";
    }
    if (!blocks.length) return "unknown";
    return blocks[0].label === "PRIVATE KEY" || blocks[0].label === "ENCRYPTED PRIVATE KEY"
      ? "pkcs8-pem"
      : "pem";
  }
  try {
    const top = readTlv(b, 0);
    if (top.tag !== TAG.SEQUENCE || top.end !== b.length) return "unknown";
    const first = readTlv(b, top.contentStart, top.end);
    if (first.tag === TAG.INTEGER && first.end - first.contentStart === 1) {
      const second = readTlv(b, first.end, top.end);
      if (b[first.contentStart] <= 1 && second.tag === TAG.SEQUENCE) return "pkcs8-der";
    }
    if (first.tag === TAG.SEQUENCE) {
      const second = readTlv(b, first.end, top.end);
      const inner = readTlv(b, first.contentStart, first.end);
      // EncryptedPrivateKeyInfo: { AlgorithmIdentifier(pbes2...), OCTET STRING }
      if (second.tag === TAG.OCTET_STRING && inner.tag === TAG.OID) return "pkcs8-der";
    }
    return "der";
  } catch {
    return "unknown";
  }
}

/**
 * Re-encodes a key. Private keys: "pkcs8-pem" / "pkcs8-der" (PKCS#8) or "pem" /
 * "der" (the traditional PKCS#1 for RSA, SEC1 for EC; Ed25519 has none →
 * UNSUPPORTED). Public keys: always SPKI. Synchronous.
 *
 * @example
 * ```ts
 * import { convertKey } from "@jsec/tls/crypto";
 * const der = convertKey(pkcs8Pem, "pkcs8-der");
 * const rsaPem = convertKey(der, "pem"); // "-----BEGIN RSA PRIVATE KEY-----..."
 * ```
 */
export function convertKey(key: KeyLike, to: "pem" | "pkcs8-pem", options?: KeyOptions): string;
/** Re-encodes a key as DER bytes ("der" or "pkcs8-der"). */
export function convertKey(key: KeyLike, to: "der" | "pkcs8-der", options?: KeyOptions): Uint8Array;
/** Re-encodes a key as PEM text or DER bytes, as `to` says. */
export function convertKey(key: KeyLike, to: KeyFormat, options?: KeyOptions): string | Uint8Array;
export function convertKey(
  key: KeyLike,
  to: KeyFormat,
  options: KeyOptions = {},
): string | Uint8Array {
  const f = oneOf("to", to, ["pem", "der", "pkcs8-pem", "pkcs8-der"] as const);
  const k = keyInput("key", key, options.password);
  const info = need("convertKey", "keyInfo", options.backend)(k);
  const format = f.endsWith("pem") ? "pem" : "der";
  const out = need("convertKey", "exportKey", options.backend)(k, {
    format,
    public: !info.isPrivate,
    traditional: info.isPrivate && !f.startsWith("pkcs8"),
  });
  return format === "pem" ? new TextDecoder().decode(out) : out;
}

/**
 * Converts certificates between PEM and DER. PEM input may be a bundle: to
 * "pem" every certificate is kept, to "der" only the first. Pure TypeScript,
 * synchronous.
 */
export function convertCert(cert: string | Uint8Array, to: "pem"): string;
/** Converts certificates to DER (the first certificate only). */
export function convertCert(cert: string | Uint8Array, to: "der"): Uint8Array;
/** Converts certificates to PEM text or DER bytes, as `to` says. */
export function convertCert(cert: string | Uint8Array, to: "pem" | "der"): string | Uint8Array;
export function convertCert(cert: string | Uint8Array, to: "pem" | "der"): string | Uint8Array {
  const f = oneOf("to", to, ["pem", "der"] as const);
  const data = certBytes("cert", cert);
  if (f === "der") return certificateDer(data).slice();
  const ders = certDers(data);
  if (!ders.length) throw new CryptoError("BAD_FORMAT", "no certificate found");
  for (const d of ders) {
    const t = readTlv(d, 0);
    if (t.tag !== TAG.SEQUENCE || t.end !== d.length) {
      throw new CryptoError("BAD_FORMAT", "not a DER certificate");
    }
  }
  return ders.map((d) => derToPem(d, "CERTIFICATE")).join("");
}

/** Options of {@link sign} and {@link verify}. */
export interface SignOptions extends KeyOptions {
  /** Digest for RSA and ECDSA. Default: sha256 (RSA, P-256), sha384 (P-384), sha512 (P-521). Not for Ed25519. */
  hash?: DigestName;
  /** RSA padding: "pkcs1" (PKCS#1 v1.5, default) or "pss". */
  padding?: "pkcs1" | "pss";
  /** PSS salt length in bytes; default the digest length. */
  saltLength?: number;
  /** ECDSA signature encoding: "der" (default) or "ieee-p1363" (r || s, as WebCrypto and JWS use). */
  signatureFormat?: "der" | "ieee-p1363";
}

function signParams(info: KeyDetails, o: SignOptions) {
  const ed = info.type === "ed25519" || info.type === "ed448";
  if (ed && o.hash !== undefined) {
    invalid("hash", o.hash, `nothing: ${info.type} hashes internally`);
  }
  const hash = ed
    ? null
    : o.hash === undefined
    ? (info.curve === "P-384" ? "sha384" : info.curve === "P-521" ? "sha512" : "sha256")
    : oneOf("hash", o.hash, DIGESTS);
  const rsa = info.type === "rsa" || info.type === "rsa-pss";
  const padding = o.padding === undefined
    ? "pkcs1"
    : oneOf("padding", o.padding, ["pkcs1", "pss"] as const);
  if (!rsa && o.padding !== undefined) {
    invalid("padding", o.padding, `nothing for ${info.type} keys`);
  }
  const saltLength = o.saltLength === undefined ? -1 : int("saltLength", o.saltLength, 0, 1024);
  const fmt = o.signatureFormat === undefined
    ? "der"
    : oneOf("signatureFormat", o.signatureFormat, ["der", "ieee-p1363"] as const);
  if (fmt !== "der" && info.type !== "ec") invalid("signatureFormat", fmt, "only for ECDSA keys");
  return { params: { hash, padding, saltLength }, fmt, half: EC_SIG_HALF[info.curve ?? ""] ?? 0 };
}

/**
 * Signs `data` with a private key: Ed25519, ECDSA (DER by default) or RSA
 * (PKCS#1 v1.5 by default, PSS as an option). Synchronous.
 *
 * @example
 * ```ts
 * import { generateKey, sign, verify } from "@jsec/tls/crypto";
 * const { privateKey, publicKey } = await generateKey("p256");
 * const sig = sign(privateKey, "message");
 * verify(publicKey, "message", sig); // true
 * ```
 */
export function sign(key: KeyLike, data: BytesLike, options: SignOptions = {}): Uint8Array {
  const k = keyInput("key", key, options.password);
  const d = bytes("data", data);
  const info = need("sign", "keyInfo", options.backend)(k);
  if (!info.isPrivate) invalid("key", "a public key", "a private key");
  if (info.type === "x25519" || info.type === "x448") invalid("key", info.type, "a signing key");
  const { params, fmt, half } = signParams(info, options);
  const sig = need("sign", "sign", options.backend)(k, d, params);
  if (fmt === "der") return sig;
  const raw = derToP1363(sig, half);
  if (!raw) throw new CryptoError("INTERNAL", "could not re-encode the ECDSA signature");
  return raw;
}

/**
 * Verifies a signature with a public (or private) key. Returns false for a
 * wrong or malformed signature; throws only for unusable arguments. Synchronous.
 */
export function verify(
  key: KeyLike,
  data: BytesLike,
  signature: Uint8Array,
  options: SignOptions = {},
): boolean {
  const k = keyInput("key", key, options.password);
  const d = bytes("data", data);
  let sig = u8("signature", signature);
  const info = need("verify", "keyInfo", options.backend)(k);
  const { params, fmt, half } = signParams(info, options);
  if (fmt === "ieee-p1363") {
    if (sig.length !== 2 * half) return false;
    sig = p1363ToDer(sig, half);
  }
  if (sig.length === 0) return false;
  return need("verify", "verify", options.backend)(k, d, sig, params);
}

const RSA_PADDINGS: readonly RsaPadding[] = [
  "oaep-sha256",
  "oaep-sha1",
  "oaep-sha384",
  "oaep-sha512",
  "pkcs1",
];

/** Options of the RSA encryption functions. */
export interface RsaOptions extends KeyOptions {
  /** "oaep-sha256" (default; MGF1 with the same digest), "oaep-sha1", "oaep-sha384", "oaep-sha512" or "pkcs1" (legacy). */
  padding?: RsaPadding;
  /** OAEP label. */
  label?: Uint8Array;
}

function rsaPadding(o: RsaOptions): RsaPadding {
  return o.padding === undefined ? "oaep-sha256" : oneOf("padding", o.padding, RSA_PADDINGS);
}

function rsaInfo(fn: string, k: ReturnType<typeof keyInput>, backend?: BackendName): KeyDetails {
  const info = need(fn, "keyInfo", backend)(k);
  if (info.type !== "rsa") invalid("key", info.type, "an RSA key");
  return info;
}

/**
 * The largest plaintext `rsaEncrypt` takes for this key and padding
 * (OAEP: k − 2·hLen − 2; PKCS#1 v1.5: k − 11). Synchronous.
 */
export function rsaMaxPlaintext(key: KeyLike, options: RsaOptions = {}): number {
  const padding = rsaPadding(options);
  const info = rsaInfo("rsaMaxPlaintext", keyInput("key", key, options.password), options.backend);
  const k = Math.ceil(info.bits / 8);
  if (padding === "pkcs1") return k - 11;
  return k - 2 * DIGEST_SIZES[padding.slice(5) as DigestName] - 2;
}

/**
 * Encrypts a short message to an RSA public key (OAEP-SHA256 by default). Synchronous.
 *
 * @example
 * ```ts
 * import { generateKey, rsaDecrypt, rsaEncrypt } from "@jsec/tls/crypto";
 * const { privateKey, publicKey } = await generateKey("rsa");
 * const c = rsaEncrypt(publicKey, "a session key");
 * new TextDecoder().decode(rsaDecrypt(privateKey, c)); // "a session key"
 * ```
 */
export function rsaEncrypt(key: KeyLike, data: BytesLike, options: RsaOptions = {}): Uint8Array {
  const k = keyInput("key", key, options.password);
  const d = bytes("data", data);
  const max = rsaMaxPlaintext(key, options);
  if (d.length > max) invalid("data", d, `at most ${max} bytes for this key and padding`);
  const padding = rsaPadding(options);
  const label = options.label === undefined ? undefined : u8("label", options.label);
  if (label && padding === "pkcs1") invalid("label", label, "no label with pkcs1 padding");
  return need("rsaEncrypt", "rsaEncrypt", options.backend)(k, d, padding, label);
}

/** Decrypts with an RSA private key; BAD_DECRYPT when it does not decrypt. Synchronous. */
export function rsaDecrypt(key: KeyLike, data: Uint8Array, options: RsaOptions = {}): Uint8Array {
  const k = keyInput("key", key, options.password);
  const d = u8("data", data);
  const info = rsaInfo("rsaDecrypt", k, options.backend);
  if (!info.isPrivate) invalid("key", "a public key", "an RSA private key");
  if (d.length !== Math.ceil(info.bits / 8)) {
    throw new CryptoError("BAD_DECRYPT", `ciphertext must be ${Math.ceil(info.bits / 8)} bytes`);
  }
  const padding = rsaPadding(options);
  const label = options.label === undefined ? undefined : u8("label", options.label);
  return need("rsaDecrypt", "rsaDecrypt", options.backend)(k, d, padding, label);
}

/**
 * Key agreement: ECDH (P-256/384/521) or X25519. `privateKey` is ours,
 * `publicKey` the peer's (SPKI, or a certificate's key via `exportPublicKey`).
 * Returns the raw shared secret — feed it to {@link hkdf}, never use it as a
 * key directly. Throws INVALID_ARGUMENT for mismatched or invalid keys
 * (including an all-zero X25519 result). Synchronous.
 *
 * @example
 * ```ts
 * import { deriveSharedSecret, generateKey } from "@jsec/tls/crypto";
 * const a = await generateKey("x25519"), b = await generateKey("x25519");
 * deriveSharedSecret(a.privateKey, b.publicKey); // equals deriveSharedSecret(b.privateKey, a.publicKey)
 * ```
 */
export function deriveSharedSecret(
  privateKey: KeyLike,
  publicKey: KeyLike,
  options: KeyOptions = {},
): Uint8Array {
  const priv = keyInput("privateKey", privateKey, options.password);
  const pub = keyInput("publicKey", publicKey);
  rejectExplicitCurve(pub.data);
  return need("deriveSharedSecret", "deriveSharedSecret", options.backend)(priv, pub);
}

/**
 * RFC 5480 keys name their curve; explicit parameters (a classic way to smuggle
 * a weak curve or a wrong cofactor) are refused before they reach the backend.
 */
function rejectExplicitCurve(data: Uint8Array): void {
  let der = data;
  if (looksLikePem(data)) {
    const b = pemBlocks(bytesToText(data)).find((x) => x.label === "PUBLIC KEY");
    if (!b) return;
    der = b.der;
  }
  let info;
  try {
    info = spkiInfo(der);
  } catch {
    return; // not an SPKI: the backend decides
  }
  if (info.type === "ec" && info.curve === null) {
    invalid("publicKey", "explicit or unknown EC parameters", "a key on a named curve");
  }
}

/** Raw key types of {@link importRawPublicKey} / {@link importRawPrivateKey}. */
export type RawKeyType =
  | "ed25519"
  | "x25519"
  | "ed448"
  | "x448"
  | "p256"
  | "p384"
  | "p521"
  | "secp256k1";

/**
 * Wraps a raw public key (32 bytes for Ed25519/X25519; an SEC1 point for EC)
 * as SPKI PEM. Pure TypeScript: the key is validated when used. Synchronous.
 *
 * @example
 * ```ts
 * import { deriveSharedSecret, importRawPrivateKey, importRawPublicKey } from "@jsec/tls/crypto";
 * const secret = deriveSharedSecret(importRawPrivateKey("x25519", mine), importRawPublicKey("x25519", theirs));
 * ```
 */
export function importRawPublicKey(type: RawKeyType, raw: Uint8Array): string {
  const t = oneOf("type", type, RAW_TYPES) as RawKeyType;
  const r = u8("raw", raw);
  if (r.length === 0 || r.length > 200) invalid("raw", r, "a raw public key");
  return derToPem(rawPublicToSpki(t, r), "PUBLIC KEY");
}

/**
 * Wraps a raw private key (an Ed25519/X25519 seed, or an EC scalar, big-endian)
 * as PKCS#8 PEM. For EC keys the public half is derived when the key is used.
 * Pure TypeScript, synchronous.
 */
export function importRawPrivateKey(type: RawKeyType, raw: Uint8Array): string {
  const t = oneOf("type", type, RAW_TYPES) as RawKeyType;
  const r = u8("raw", raw);
  const okp: Record<string, number> = { ed25519: 32, x25519: 32, ed448: 57, x448: 56 };
  if (okp[t] !== undefined && r.length !== okp[t]) invalid("raw", r, `${okp[t]} bytes for ${t}`);
  const ec = EC_TYPES[t];
  if (ec) {
    if (r.length === 0 || r.length > ec.size + 1) {
      invalid("raw", r, `at most ${ec.size} bytes for ${t}`);
    }
    // OpenSSL would take 0 or n and up, and sign with the point at infinity as the public key.
    const d = r.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
    if (d === 0n || d >= ec.order) {
      invalid("raw", r, `a scalar from 1 to the group order − 1 for ${t}`);
    }
  }
  return derToPem(rawPrivateToPkcs8(t, r), "PRIVATE KEY");
}
