/**
 * Certificates: generate self-signed ones, issue them from a CA, parse them.
 * Works on either backend (`backend` option); parsing is pure TypeScript.
 *
 * @example
 * ```ts
 * import { generateSelfSigned, parseCertificate } from "@jsec/tls/cert";
 * const { cert, key } = await generateSelfSigned({ commonName: "localhost" });
 * console.log(parseCertificate(cert).san); // ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
 * ```
 *
 * @module
 */

import type { BackendName, CertInfo } from "../backends/backend.ts";
import type { KeyType, SubjectFields } from "../backends/crypto_provider.ts";
import { CryptoError } from "../errors.ts";
import { certificateDer, derToPem, looksLikePem, pemToDer } from "../backends/pem.ts";
import {
  bytes,
  certBytes,
  int,
  invalid,
  keyInput,
  type KeyLike,
  later,
  need,
  oneOf,
  provider,
} from "./_common.ts";
import { checkSan, defaultSan, derOf, hashFor, parseCsrDer, spkiInfo } from "./_x509.ts";

export type { CertInfo } from "../backends/backend.ts";

/** Key types a certificate can be generated with. */
export type CertKeyType = "rsa" | "p256" | "p384" | "p521" | "ed25519";

/** Subject and validity settings shared by the generators. */
export interface CertSubjectOptions {
  /** Subject CN; default "localhost". */
  commonName?: string;
  /** Validity in days from now; default 365. Ignored when `notAfter` is given. */
  days?: number;
  /** Subject alternative names: "DNS:x", "IP:1.2.3.4", "email:x", "URI:x". Default: from commonName. */
  san?: string[];
  /** Two-letter country code. */
  country?: string;
  /** Subject organization (O). */
  organization?: string;
  /** Subject organizational unit (OU). */
  organizationalUnit?: string;
  /** Subject state or province (ST). */
  state?: string;
  /** Subject locality, e.g. a city (L). */
  locality?: string;
  /** Make a CA (basicConstraints CA:TRUE, keyUsage keyCertSign). Default false (a TLS leaf). */
  isCa?: boolean;
  /** Start of validity; default one minute ago (tolerates clock skew). */
  notBefore?: Date;
  /** End of validity; default `notBefore + days`. Set both in the past for expired test certs. */
  notAfter?: Date;
  /** Which native library signs (default: the process default backend). */
  backend?: BackendName;
}

/** Options of {@link generateSelfSigned}. */
export interface SelfSignedOptions extends CertSubjectOptions {
  /** Key type; default "p256". */
  keyType?: CertKeyType;
  /** RSA modulus size; default 2048. */
  bits?: number;
}

/** Options of {@link issueCertificate}. */
export interface IssueOptions extends CertSubjectOptions {
  /** The issuing CA's certificate (PEM or DER). */
  caCert: KeyLike;
  /** The issuing CA's private key (PEM or DER). */
  caKey: KeyLike;
  /** Password of an encrypted `caKey`. */
  caKeyPassword?: string;
  /** A CSR (PEM or DER) whose key and, by default, subject CN and SAN are certified. */
  csr?: KeyLike;
  /** Or the subject's public key (SPKI PEM/DER, or a private key whose public half is used). */
  publicKey?: KeyLike;
}

const KEY_TYPES: readonly CertKeyType[] = ["rsa", "p256", "p384", "p521", "ed25519"];
const DAY = 86_400_000;

function text(arg: string, v: unknown, max = 64): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > max) {
    invalid(arg, v, `a non-empty string of at most ${max} characters`);
  }
  // "evil.com\0.good.com" reads as evil.com to software that stops at NUL.
  if (v.includes("\0")) invalid(arg, v, "a name without NUL characters");
  return v;
}

function subjectOf(o: CertSubjectOptions, cnDefault: string | undefined): SubjectFields {
  const country = text("country", o.country, 2);
  if (country !== undefined && !/^[A-Za-z]{2}$/.test(country)) {
    invalid("country", country, "a two-letter country code");
  }
  const s: SubjectFields = {
    commonName: text("commonName", o.commonName, 64) ?? cnDefault,
    country,
    organization: text("organization", o.organization),
    organizationalUnit: text("organizationalUnit", o.organizationalUnit),
    state: text("state", o.state, 128),
    locality: text("locality", o.locality, 128),
  };
  for (const k of Object.keys(s) as (keyof SubjectFields)[]) if (s[k] === undefined) delete s[k];
  return s;
}

function validity(o: CertSubjectOptions): { notBefore: Date; notAfter: Date } {
  const isDate = (d: unknown) => d instanceof Date && !Number.isNaN(d.getTime());
  if (o.notBefore !== undefined && !isDate(o.notBefore)) {
    invalid("notBefore", o.notBefore, "a Date");
  }
  if (o.notAfter !== undefined && !isDate(o.notAfter)) invalid("notAfter", o.notAfter, "a Date");
  const days = o.days === undefined ? 365 : int("days", o.days, 1, 36500);
  const notBefore = o.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + days * DAY);
  if (notAfter.getTime() <= notBefore.getTime()) {
    invalid("notAfter", notAfter.toISOString(), "a time after notBefore");
  }
  return { notBefore, notAfter };
}

function serial(): Uint8Array {
  const s = new Uint8Array(16);
  globalThis.crypto.getRandomValues(s);
  s[0] = (s[0] & 0x7f) | 0x40; // positive, and always 16 bytes long
  return s;
}

function checkOptions(o: unknown, fn: string): Record<string, unknown> {
  if (o === undefined) return {};
  if (typeof o !== "object" || o === null) invalid(`${fn} options`, o, "an object");
  return o as Record<string, unknown>;
}

/** SPKI DER from a public key (SPKI PEM/DER) or a private key's public half. */
function publicKeyDer(arg: string, v: unknown, backend?: BackendName): Uint8Array {
  const data = keyInput(arg, v).data;
  if (looksLikePem(data)) {
    try {
      return derOf(data, ["PUBLIC KEY"], arg);
    } catch {
      // not a PUBLIC KEY block: maybe a private key
    }
  } else if (data[0] === 0x30) {
    try {
      spkiInfo(data);
      return data;
    } catch {
      // not an SPKI: maybe a private key
    }
  }
  const info = need("issueCertificate", "keyInfo", backend)({ data });
  return pemToDerKey(info.publicKey);
}

function pemToDerKey(pem: string): Uint8Array {
  return derOf(new TextEncoder().encode(pem), ["PUBLIC KEY"], "public key");
}

/**
 * Generates a key and a self-signed certificate for it. Leaf certificates get
 * CA:FALSE, serverAuth+clientAuth; CAs get CA:TRUE and keyCertSign. Both get
 * SKI/AKI and a random 16-byte serial. When `san` is omitted it is derived
 * from the common name ("localhost" also gets 127.0.0.1 and ::1).
 *
 * Asynchronous (key generation is slow, RSA especially).
 *
 * @returns PEM strings: the certificate and the key (PKCS#8).
 * @example
 * ```ts
 * import { generateSelfSigned } from "@jsec/tls/cert";
 * const ca = await generateSelfSigned({ commonName: "Test CA", isCa: true, keyType: "p384" });
 * const leaf = await generateSelfSigned({ san: ["DNS:localhost", "IP:127.0.0.1"] });
 * ```
 */
export function generateSelfSigned(
  options: SelfSignedOptions = {},
): Promise<{ cert: string; key: string }> {
  return later(() => {
    const o = checkOptions(options, "generateSelfSigned") as SelfSignedOptions;
    const keyType = o.keyType === undefined ? "p256" : oneOf("keyType", o.keyType, KEY_TYPES);
    const bits = o.bits === undefined ? 2048 : int("bits", o.bits, 1024, 16384);
    const subject = subjectOf(o, "localhost");
    const san = o.san === undefined ? defaultSan(subject.commonName!) : checkSan(o.san);
    const { notBefore, notAfter } = validity(o);
    const gen = need("generateSelfSigned", "generateKey", o.backend);
    const create = need("generateSelfSigned", "createCertificate", o.backend);
    const pair = gen(keyType as KeyType, bits);
    const pub = pemToDerKey(pair.publicKey);
    const info = spkiInfo(pub);
    const der = create({
      subject,
      publicKey: pub,
      issuerCert: null,
      signingKey: { data: new TextEncoder().encode(pair.privateKey) },
      serial: serial(),
      notBefore,
      notAfter,
      isCa: o.isCa === true,
      san,
      hash: hashFor(info.type, info.curve),
    });
    return { cert: derToPem(der, "CERTIFICATE"), key: pair.privateKey };
  });
}

/**
 * A self-signed certificate for an existing private key (PEM or DER).
 *
 * @example
 * ```ts
 * import { selfSignedFromKey } from "@jsec/tls/cert";
 * import { generateKey } from "@jsec/tls/crypto";
 * const { privateKey } = await generateKey("ed25519");
 * const cert = await selfSignedFromKey(privateKey, { commonName: "device-42" });
 * ```
 */
export function selfSignedFromKey(
  key: KeyLike,
  options: CertSubjectOptions & { password?: string } = {},
): Promise<string> {
  return later(() => {
    const o = checkOptions(options, "selfSignedFromKey") as CertSubjectOptions & {
      password?: string;
    };
    const k = keyInput("key", key, o.password);
    const subject = subjectOf(o, "localhost");
    const san = o.san === undefined ? defaultSan(subject.commonName!) : checkSan(o.san);
    const { notBefore, notAfter } = validity(o);
    const info = need("selfSignedFromKey", "keyInfo", o.backend)(k);
    if (!info.isPrivate) invalid("key", "a public key", "a private key");
    const der = need("selfSignedFromKey", "createCertificate", o.backend)({
      subject,
      publicKey: pemToDerKey(info.publicKey),
      issuerCert: null,
      signingKey: k,
      serial: serial(),
      notBefore,
      notAfter,
      isCa: o.isCa === true,
      san,
      hash: hashFor(info.type, info.curve),
    });
    return derToPem(der, "CERTIFICATE");
  });
}

/**
 * Issues a certificate signed by a CA, for the key of a CSR or a given public
 * key. With a CSR, its signature is checked and its CN and SAN are used
 * unless `commonName` / `san` are given. `caCert` must be a CA (basicConstraints
 * CA:TRUE, as `isCa: true` makes). Returns the certificate as PEM.
 *
 * @example
 * ```ts
 * import { generateSelfSigned, issueCertificate } from "@jsec/tls/cert";
 * import { generateKey } from "@jsec/tls/crypto";
 * const ca = await generateSelfSigned({ commonName: "Test CA", isCa: true });
 * const { privateKey, publicKey } = await generateKey("p256");
 * const cert = await issueCertificate({
 *   caCert: ca.cert, caKey: ca.key, publicKey, commonName: "localhost", san: ["DNS:localhost"],
 * });
 * // expired, for tests:
 * const old = await issueCertificate({ caCert: ca.cert, caKey: ca.key, publicKey,
 *   notBefore: new Date("2020-01-01"), notAfter: new Date("2020-02-01") });
 * ```
 */
export function issueCertificate(options: IssueOptions): Promise<string> {
  return later(() => {
    const o = checkOptions(options, "issueCertificate") as unknown as IssueOptions;
    const caDer = certificateDer(certBytes("caCert", o.caCert));
    const ca = provider(o.backend).p.parseCertificate(caDer);
    // A chain through a certificate that is not a CA fails everywhere it is checked.
    if (!ca.isCa) invalid("caCert", ca.subject, "a CA certificate (basicConstraints CA:TRUE)");
    const caKey = keyInput("caKey", o.caKey, o.caKeyPassword);
    if ((o.csr === undefined) === (o.publicKey === undefined)) {
      invalid("csr/publicKey", o.csr ?? o.publicKey, "exactly one of csr or publicKey");
    }
    let pub: Uint8Array;
    let cnDefault: string | undefined;
    let sanDefault: string[] | undefined;
    if (o.csr !== undefined) {
      const der = derOf(
        certBytes("csr", o.csr),
        ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "csr",
      );
      const csr = parseCsrDer(der);
      const check = provider(o.backend).p.verifyCsr;
      if (check && !check(der)) {
        throw new CryptoError("VERIFY_FAILED", "the CSR's signature does not verify");
      }
      pub = csr.publicKeyDer;
      cnDefault = csr.commonName ?? undefined;
      sanDefault = csr.san.filter((s) => /^(DNS|IP|email|URI):/.test(s));
    } else {
      pub = publicKeyDer("publicKey", o.publicKey, o.backend);
    }
    const subject = subjectOf(o, cnDefault);
    if (!subject.commonName && o.csr === undefined) invalid("commonName", o.commonName, "a name");
    const san = o.san !== undefined
      ? checkSan(o.san)
      : sanDefault ?? (subject.commonName ? defaultSan(subject.commonName) : []);
    const { notBefore, notAfter } = validity(o);
    const der = need("issueCertificate", "createCertificate", o.backend)({
      subject,
      publicKey: pub,
      issuerCert: caDer,
      signingKey: caKey,
      serial: serial(),
      notBefore,
      notAfter,
      isCa: o.isCa === true,
      san,
      hash: hashFor(ca.publicKeyType, ca.curve),
    });
    return derToPem(der, "CERTIFICATE");
  });
}

/**
 * Parses one certificate (the first of a PEM bundle, or DER bytes).
 * Synchronous. Throws `CryptoError("BAD_FORMAT")` on anything else.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "@jsec/tls/cert";
 * const info = parseCertificate(await Deno.readTextFile("cert.pem"));
 * console.log(info.subject, info.notAfter, info.fingerprint256);
 * ```
 */
export function parseCertificate(
  cert: string | Uint8Array,
  options: { backend?: BackendName } = {},
): CertInfo {
  const data = typeof cert === "string" ? bytes("cert", cert) : certBytes("cert", cert);
  return provider(options.backend).p.parseCertificate(certificateDer(data));
}

/**
 * Parses every certificate of a PEM bundle, in order. Synchronous.
 *
 * @example
 * ```ts
 * import { parseCertificates } from "@jsec/tls/cert";
 * for (const c of parseCertificates(chainPem)) console.log(c.subject);
 * ```
 */
export function parseCertificates(
  pem: string | Uint8Array,
  options: { backend?: BackendName } = {},
): CertInfo[] {
  const text = typeof pem === "string" ? pem : new TextDecoder().decode(certBytes("pem", pem));
  const p = provider(options.backend).p;
  return pemToDer(text).map((d) => p.parseCertificate(d));
}

/**
 * True when `cert` carries a signature made by the key of `issuer` (both PEM
 * or DER). Does not check validity dates or extensions. Synchronous.
 */
export function verifyCertificateSignature(
  cert: string | Uint8Array,
  issuer: string | Uint8Array,
  options: { backend?: BackendName } = {},
): boolean {
  const f = need("verifyCertificateSignature", "verifyCertificateSignature", options.backend);
  return f(certificateDer(certBytes("cert", cert)), certificateDer(certBytes("issuer", issuer)));
}
