/**
 * CSRs (PKCS#10), PKCS#12 files and CMS (PKCS#7) messages.
 *
 * Creating things (CSRs, PKCS#12, CMS) and opening protected things (PKCS#12,
 * CMS verify/decrypt) return Promises; pure parsing ({@link parseCsr},
 * {@link cmsGetCerts}) is synchronous.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import type { SubjectFields } from "../backends/crypto_provider.ts";
import { certificateDer, derToPem } from "../backends/pem.ts";
import { sameBytes } from "../backends/bytes.ts";
import {
  type BackendOption,
  bytes,
  type BytesLike,
  certBytes,
  checkPassword,
  invalid,
  keyInput,
  type KeyLike,
  later,
  need,
  oneOf,
  provider,
  u8,
} from "./_common.ts";
import { certDers, checkSan, type CsrInfo, derOf, hashFor, parseCsrDer } from "./_x509.ts";

export type { CsrInfo } from "./_x509.ts";
export type { SubjectFields } from "../backends/crypto_provider.ts";

/** Options of {@link generateCsr}. */
export interface CsrOptions extends SubjectFields, BackendOption {
  /** Subject alternative names: "DNS:x", "IP:1.2.3.4", "email:x", "URI:x". */
  san?: string[];
  /** Password of an encrypted key. */
  password?: string;
}

const SUBJECT_KEYS: (keyof SubjectFields)[] = [
  "commonName",
  "country",
  "state",
  "locality",
  "organization",
  "organizationalUnit",
  "emailAddress",
];

function subject(o: SubjectFields): SubjectFields {
  const s: SubjectFields = {};
  for (const k of SUBJECT_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length === 0 || v.length > 128) {
      invalid(k, v, "a non-empty string of at most 128 characters");
    }
    // "evil.com\0.good.com" reads as evil.com to software that stops at NUL.
    if (v.includes("\0")) invalid(k, v, "a name without NUL characters");
    if (k === "country" && !/^[A-Za-z]{2}$/.test(v)) invalid(k, v, "a two-letter country code");
    s[k] = v;
  }
  if (!Object.keys(s).length) invalid("subject", o, "at least one subject field, e.g. commonName");
  return s;
}

/**
 * Creates a certificate signing request for `key`, signed with it. Returns PEM.
 * Asynchronous.
 *
 * @example
 * ```ts
 * import { generateCsr, generateKey } from "@jsec/tls/crypto";
 * const { privateKey } = await generateKey("p256");
 * const csr = await generateCsr(privateKey, { commonName: "api.example.com", organization: "Acme",
 *   san: ["DNS:api.example.com"] });
 * ```
 */
export function generateCsr(key: KeyLike, options: CsrOptions): Promise<string> {
  return later(() => {
    if (typeof options !== "object" || options === null) invalid("options", options, "an object");
    const k = keyInput("key", key, options.password);
    const s = subject(options);
    const san = checkSan(options.san);
    const info = need("generateCsr", "keyInfo", options.backend)(k);
    if (!info.isPrivate) invalid("key", "a public key", "a private key");
    const der = need("generateCsr", "generateCsr", options.backend)(
      k,
      s,
      san,
      hashFor(info.type, info.curve),
    );
    return derToPem(der, "CERTIFICATE REQUEST");
  });
}

/**
 * Parses a CSR (PEM or DER): subject, SAN, public key. `signatureValid` says
 * whether its self-signature verifies, or null where the backend cannot check
 * that signature's algorithm (Ed25519 on mbedTLS 2.28).
 * Synchronous.
 */
export function parseCsr(
  csr: string | Uint8Array,
  options: BackendOption = {},
): CsrInfo & { signatureValid: boolean | null } {
  const der = derOf(
    certBytes("csr", csr),
    ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
    "csr",
  );
  const info = parseCsrDer(der);
  const check = provider(options.backend).p.verifyCsr;
  return { ...info, signatureValid: check ? verifiedOrNull(() => check(der)) : null };
}

/** Options of {@link createPkcs12}. */
export interface Pkcs12Options extends BackendOption {
  /** The certificate's private key (PEM or DER). */
  key: KeyLike;
  /** Password of an encrypted `key`. */
  keyPassword?: string;
  /** The certificate (PEM or DER). */
  cert: KeyLike;
  /** Chain certificates (PEM bundles or DER). */
  ca?: (string | Uint8Array)[];
  /** Password protecting the file (may be ""; a real one is strongly advised). */
  password: string;
  /** The friendly name (alias) shown by key stores. */
  friendlyName?: string;
}

function certList(arg: string, v: unknown): Uint8Array[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return invalid(arg, v, "an array of certificates");
  return v.flatMap((c, i) => {
    return certDers(certBytes(`${arg}[${i}]`, c));
  });
}

/**
 * Bundles a key, its certificate and a chain into a password-protected
 * PKCS#12 (.p12/.pfx) file, DER. Asynchronous.
 *
 * @example
 * ```ts
 * import { createPkcs12, parsePkcs12 } from "@jsec/tls/crypto";
 * const p12 = await createPkcs12({ key, cert, ca: [caCert], password: "pw", friendlyName: "server" });
 * const { key: k, cert: c, ca } = await parsePkcs12(p12, "pw");
 * ```
 */
export function createPkcs12(options: Pkcs12Options): Promise<Uint8Array> {
  return later(() => {
    if (typeof options !== "object" || options === null) invalid("options", options, "an object");
    checkPassword("password", options.password);
    if (options.friendlyName !== undefined && typeof options.friendlyName !== "string") {
      invalid("friendlyName", options.friendlyName, "a string");
    }
    return need("createPkcs12", "createPkcs12", options.backend)({
      key: keyInput("key", options.key, options.keyPassword),
      cert: certificateDer(certBytes("cert", options.cert)),
      ca: certList("ca", options.ca),
      password: options.password,
      friendlyName: options.friendlyName ?? null,
    });
  });
}

/**
 * Opens a PKCS#12 file: key (PKCS#8 PEM), certificate, chain (PEM) and
 * friendly name. BAD_PASSWORD for a wrong password, BAD_FORMAT for garbage.
 * Asynchronous (the password is stretched).
 */
export function parsePkcs12(
  data: Uint8Array,
  password: string,
  options: BackendOption = {},
): Promise<{ key: string | null; cert: string | null; ca: string[]; friendlyName: string | null }> {
  return later(() => {
    const d = u8("data", data);
    checkPassword("password", password);
    return need("parsePkcs12", "parsePkcs12", options.backend)(d, password);
  });
}

function cmsDer(arg: string, v: unknown): Uint8Array {
  return derOf(certBytes(arg, v), ["CMS", "PKCS7", "PKCS #7 SIGNED DATA"], arg);
}

/** Options of {@link cmsSign}. */
export interface CmsSignOptions extends BackendOption {
  /** The signer's certificate and key. */
  cert: KeyLike;
  /** The signer's private key, PEM or DER. */
  key: KeyLike;
  /** Password of `key`, when it is encrypted. */
  keyPassword?: string;
  /** Extra certificates to include (the chain). */
  chain?: (string | Uint8Array)[];
  /** Leave the content out (a detached signature); default false. */
  detached?: boolean;
}

/**
 * CMS SignedData over `data`, DER (like `openssl cms -sign -binary -outform DER`).
 * Asynchronous.
 *
 * @example
 * ```ts
 * import { cmsSign, cmsVerify } from "@jsec/tls/crypto";
 * const signed = await cmsSign("hello", { cert, key });
 * const { valid, content } = await cmsVerify(signed, { caCerts: [caCert] });
 * ```
 */
export function cmsSign(data: BytesLike, options: CmsSignOptions): Promise<Uint8Array> {
  return later(() => {
    if (typeof options !== "object" || options === null) invalid("options", options, "an object");
    return need("cmsSign", "cmsSign", options.backend)({
      cert: certificateDer(certBytes("cert", options.cert)),
      key: keyInput("key", options.key, options.keyPassword),
      data: bytes("data", data),
      chain: certList("chain", options.chain),
      detached: options.detached === true,
    });
  });
}

/** Options of {@link cmsVerify}. */
export interface CmsVerifyOptions extends BackendOption {
  /** Trust anchors; without them only the signature is checked, not the signer's chain. */
  caCerts?: (string | Uint8Array)[];
  /** The content of a detached signature. */
  data?: BytesLike;
}

/**
 * Verifies CMS SignedData (DER or PEM). Never throws for a bad signature:
 * `{ valid: false, error }`. `content` is the signed content when valid.
 * Asynchronous.
 */
export function cmsVerify(
  cms: string | Uint8Array,
  options: CmsVerifyOptions = {},
): Promise<{ valid: boolean; content: Uint8Array | null; error: string | null }> {
  return later(() => {
    const caCerts = certList("caCerts", options.caCerts);
    return need("cmsVerify", "cmsVerify", options.backend)({
      cms: cmsDer("cms", cms),
      caCerts,
      data: options.data === undefined ? null : bytes("data", options.data),
      verifyChain: caCerts.length > 0,
    });
  });
}

/**
 * Encrypts `data` to one or more recipients' certificates (CMS EnvelopedData,
 * DER; AES-256-CBC by default, or "aes-128-cbc", "aes-256-gcm"). Asynchronous.
 */
export function cmsEncrypt(
  data: BytesLike,
  recipients: (string | Uint8Array)[],
  options: BackendOption & { cipher?: "aes-128-cbc" | "aes-256-cbc" | "aes-256-gcm" } = {},
): Promise<Uint8Array> {
  return later(() => {
    const r = certList("recipients", recipients);
    if (!r.length) invalid("recipients", recipients, "at least one certificate");
    const cipher = options.cipher === undefined
      ? "aes-256-cbc"
      : oneOf("cipher", options.cipher, ["aes-128-cbc", "aes-256-cbc", "aes-256-gcm"] as const);
    return need("cmsEncrypt", "cmsEncrypt", options.backend)({
      recipients: r,
      data: bytes("data", data),
      cipher,
    });
  });
}

/**
 * Decrypts CMS EnvelopedData with our private key (and certificate, to pick
 * the right recipient). BAD_DECRYPT when it is not for us. Asynchronous.
 */
export function cmsDecrypt(
  cms: string | Uint8Array,
  options: BackendOption & { key: KeyLike; keyPassword?: string; cert?: KeyLike },
): Promise<Uint8Array> {
  return later(() => {
    if (typeof options !== "object" || options === null) invalid("options", options, "an object");
    return need("cmsDecrypt", "cmsDecrypt", options.backend)({
      cms: cmsDer("cms", cms),
      key: keyInput("key", options.key, options.keyPassword),
      cert: options.cert === undefined ? null : certificateDer(certBytes("cert", options.cert)),
    });
  });
}

/**
 * A certificates-only CMS SignedData (a "degenerate" .p7b, as used to ship
 * chains), DER. Asynchronous.
 */
export function cmsCertsOnly(
  certs: (string | Uint8Array)[],
  options: BackendOption = {},
): Promise<Uint8Array> {
  return later(() => {
    const all = certList("certs", certs);
    if (!all.length) invalid("certs", certs, "at least one certificate");
    // A certificate given twice goes in once (OpenSSL would refuse the second copy).
    const list = all.filter((c, i) => all.findIndex((d) => sameBytes(d, c)) === i);
    return need("cmsCertsOnly", "cmsCertsOnly", options.backend)(list);
  });
}

/** The certificates a CMS structure (DER or PEM) carries, as PEM. Synchronous. */
export function cmsGetCerts(cms: string | Uint8Array, options: BackendOption = {}): string[] {
  const ders = need("cmsGetCerts", "cmsGetCerts", options.backend)(cmsDer("cms", cms));
  return ders.map((d) => derToPem(d, "CERTIFICATE"));
}

/** A verification result, or null when the backend cannot check this algorithm. */
function verifiedOrNull(check: () => boolean): boolean | null {
  try {
    return check();
  } catch (e) {
    if (e instanceof CryptoError && e.code === "UNSUPPORTED") return null;
    throw e;
  }
}
