/**
 * A pure-TypeScript X.509 certificate parser over the DER reader (`der.ts`),
 * shared by every backend (a backend supplies only SHA-256): names, times,
 * subject alternative names, public keys and extensions.
 *
 * Everything here bounds-checks its input: on malformed data it throws
 * `CryptoError("BAD_FORMAT")` and nothing else.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import type { CertInfo } from "./backend.ts";
import {
  badFormat,
  bitLength,
  children,
  contentOf,
  decodeOid,
  decodeString,
  expectTlv,
  integerHex,
  readTlv,
  TAG,
  type Tlv,
  toHex,
} from "./der.ts";

const ATTR_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.17": "postalCode",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "2.5.4.15": "businessCategory",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
  "1.2.840.113549.1.9.1": "emailAddress",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
};

/** Short attribute names → OIDs (the inverse of the table used for printing). */
export const ATTR_OIDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ATTR_NAMES).map(([oid, n]) => [n, oid]),
);

function escapeRdnValue(v: string): string {
  let s = v.replace(/[\\,+"<>;=]/g, (ch) => "\\" + ch);
  // deno-lint-ignore no-control-regex
  s = s.replace(/[\x00-\x1f\x7f]/g, (ch) => "\\" + toHex(Uint8Array.of(ch.charCodeAt(0))));
  if (s.startsWith("#") || s.startsWith(" ")) s = "\\" + s;
  if (s.endsWith(" ") && s.length > 1) s = s.slice(0, -1) + "\\ ";
  return s;
}

/** A parsed Name: RDNs in DER order, each a list of [attribute name or OID, value]. */
export type ParsedName = [string, string][][];

/** Parses an X.501 Name. */
export function parseName(buf: Uint8Array, t: Tlv): ParsedName {
  if (t.tag !== TAG.SEQUENCE) badFormat("Name is not a SEQUENCE");
  const rdns: ParsedName = [];
  for (const set of children(buf, t)) {
    if (set.tag !== TAG.SET) badFormat("RDN is not a SET");
    const rdn: [string, string][] = [];
    for (const atv of children(buf, set)) {
      if (atv.tag !== TAG.SEQUENCE) badFormat("AttributeTypeAndValue is not a SEQUENCE");
      const [oidT, valT] = children(buf, atv);
      if (!oidT || !valT || oidT.tag !== TAG.OID) badFormat("bad AttributeTypeAndValue");
      const oid = decodeOid(contentOf(buf, oidT));
      const name = ATTR_NAMES[oid];
      const value = name
        ? decodeString(valT.tag, contentOf(buf, valT))
        : "#" + toHex(buf.subarray(valT.start, valT.end));
      rdn.push([name ?? oid, value]);
    }
    rdns.push(rdn);
  }
  return rdns;
}

/** Formats a parsed Name as RFC 4514, most specific RDN first (OpenSSL's XN_FLAG_RFC2253 order). */
export function formatName(name: ParsedName): string {
  return name.slice().reverse().map((rdn) =>
    rdn.map(([k, v]) => `${k}=${v.startsWith("#") && !ATTR_OIDS[k] ? v : escapeRdnValue(v)}`)
      .join("+")
  ).join(",");
}

/** Parses a UTCTime or GeneralizedTime. */
export function parseTime(buf: Uint8Array, t: Tlv): Date {
  const s = String.fromCharCode(...contentOf(buf, t));
  let m: RegExpMatchArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME) {
    m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/);
    if (!m) badFormat(`bad UTCTime "${s}"`);
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = s.match(/^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(?:\.\d+)?Z$/);
    if (!m) badFormat(`bad GeneralizedTime "${s}"`);
    year = Number(m[1]);
  } else {
    return badFormat("Time is neither UTCTime nor GeneralizedTime");
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    badFormat(`time out of range "${s}"`);
  }
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (year < 100) date.setUTCFullYear(year);
  return date;
}

function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length !== 16) return "#" + toHex(b); // e.g. a name constraint's address+mask
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // RFC 5952: compress the longest run (>= 2) of zero groups, first one on ties.
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return hex.slice(0, bestAt).join(":") + "::" + hex.slice(bestAt + bestLen).join(":");
}

/** Parses a GeneralNames SEQUENCE into OpenSSL-style "DNS:x", "IP:x", "email:x", "URI:x" strings. */
export function parseGeneralNames(buf: Uint8Array, t: Tlv): string[] {
  if (t.tag !== TAG.SEQUENCE) badFormat("GeneralNames is not a SEQUENCE");
  const out: string[] = [];
  for (const gn of children(buf, t)) {
    const c = contentOf(buf, gn);
    switch (gn.tag) {
      case 0x81:
        out.push("email:" + decodeString(TAG.IA5, c));
        break;
      case 0x82:
        out.push("DNS:" + decodeString(TAG.IA5, c));
        break;
      case 0x86:
        out.push("URI:" + decodeString(TAG.IA5, c));
        break;
      case 0x87:
        out.push("IP:" + formatIp(c));
        break;
      case 0x88:
        out.push("RID:" + decodeOid(c));
        break;
      case 0xa4: {
        const inner = readTlv(buf, gn.contentStart, gn.end);
        out.push("DirName:" + formatName(parseName(buf, inner)));
        break;
      }
      case 0xa0:
        out.push("othername:<unsupported>");
        break;
      default:
        out.push(`unknown:[${gn.tag & 0x1f}]`);
    }
  }
  return out;
}

const CURVES: Record<string, { name: string; bits: number }> = {
  "1.2.840.10045.3.1.7": { name: "P-256", bits: 256 },
  "1.3.132.0.34": { name: "P-384", bits: 384 },
  "1.3.132.0.35": { name: "P-521", bits: 521 },
  "1.3.132.0.10": { name: "secp256k1", bits: 256 },
  "1.2.840.10045.3.1.1": { name: "P-192", bits: 192 },
  "1.3.132.0.33": { name: "P-224", bits: 224 },
};

/** The OIDs of the named curves, by jsec's curve names. */
export const CURVE_OIDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(CURVES).map(([oid, c]) => [c.name, oid]),
);

/** What a SubjectPublicKeyInfo holds. */
export interface SpkiInfo {
  type: string;
  bits: number;
  curve: string | null;
  /** The subjectPublicKey BIT STRING's bytes (unused-bits octet removed). */
  key: Uint8Array;
}

/** Parses a SubjectPublicKeyInfo. */
export function parseSpki(buf: Uint8Array, t: Tlv): SpkiInfo {
  if (t.tag !== TAG.SEQUENCE) badFormat("SubjectPublicKeyInfo is not a SEQUENCE");
  const [algT, keyT] = children(buf, t);
  if (!algT || !keyT || algT.tag !== TAG.SEQUENCE || keyT.tag !== TAG.BIT_STRING) {
    badFormat("bad SubjectPublicKeyInfo");
  }
  const alg = children(buf, algT);
  if (!alg[0] || alg[0].tag !== TAG.OID) badFormat("bad AlgorithmIdentifier");
  const oid = decodeOid(contentOf(buf, alg[0]));
  const bits = contentOf(buf, keyT);
  if (bits.length < 1 || bits[0] !== 0) badFormat("bad public key BIT STRING");
  const key = bits.subarray(1);
  const keyOff = keyT.contentStart + 1;
  switch (oid) {
    case "1.2.840.113549.1.1.1":
    case "1.2.840.113549.1.1.10": {
      const seq = expectTlv(buf, keyOff, keyT.end, TAG.SEQUENCE, "RSAPublicKey");
      const n = expectTlv(buf, seq.contentStart, seq.end, TAG.INTEGER, "RSA modulus");
      const type = oid.endsWith(".1") ? "rsa" : "rsa-pss";
      return { type, bits: bitLength(contentOf(buf, n)), curve: null, key };
    }
    case "1.2.840.10045.2.1": {
      const p = alg[1];
      const curve = p && p.tag === TAG.OID ? CURVES[decodeOid(contentOf(buf, p))] : undefined;
      return { type: "ec", bits: curve?.bits ?? 0, curve: curve?.name ?? null, key };
    }
    case "1.3.101.112":
      return { type: "ed25519", bits: 256, curve: null, key };
    case "1.3.101.113":
      return { type: "ed448", bits: 456, curve: null, key };
    case "1.3.101.110":
      return { type: "x25519", bits: 253, curve: null, key };
    case "1.3.101.111":
      return { type: "x448", bits: 448, curve: null, key };
    case "1.2.840.10040.4.1": {
      let b = 0;
      const p = alg[1];
      if (p && p.tag === TAG.SEQUENCE) {
        const pT = readTlv(buf, p.contentStart, p.end);
        if (pT.tag === TAG.INTEGER) b = bitLength(contentOf(buf, pT));
      }
      return { type: "dsa", bits: b, curve: null, key };
    }
    default:
      return { type: oid, bits: 0, curve: null, key };
  }
}

/** Extensions of a certificate or CSR: OID → { critical, value TLV (the OCTET STRING's content) }. */
export interface Extension {
  oid: string;
  critical: boolean;
  /** Offsets of the extnValue content (the DER of the extension itself). */
  value: Tlv;
}

/** Parses `Extensions ::= SEQUENCE OF Extension`. */
export function parseExtensions(buf: Uint8Array, t: Tlv): Extension[] {
  if (t.tag !== TAG.SEQUENCE) badFormat("Extensions is not a SEQUENCE");
  return children(buf, t).map((e) => {
    if (e.tag !== TAG.SEQUENCE) badFormat("Extension is not a SEQUENCE");
    const parts = children(buf, e);
    if (parts.length < 2 || parts[0].tag !== TAG.OID) badFormat("bad Extension");
    const critical = parts.length === 3 && parts[1].tag === TAG.BOOLEAN &&
      buf[parts[1].contentStart] !== 0;
    const octets = parts[parts.length - 1];
    if (octets.tag !== TAG.OCTET_STRING) badFormat("extnValue is not an OCTET STRING");
    return {
      oid: decodeOid(contentOf(buf, parts[0])),
      critical,
      value: readTlv(buf, octets.contentStart, octets.end),
    };
  });
}

/** True when a basicConstraints extension value says cA. */
export function basicConstraintsIsCa(buf: Uint8Array, v: Tlv): boolean {
  if (v.tag !== TAG.SEQUENCE) badFormat("basicConstraints is not a SEQUENCE");
  const first = children(buf, v)[0];
  return !!first && first.tag === TAG.BOOLEAN && buf[first.contentStart] !== 0;
}

/**
 * Parses one DER certificate. `sha256` computes the fingerprint (the backend's
 * digest). Throws `CryptoError("BAD_FORMAT")` on anything malformed.
 */
export function parseCertificateDer(
  der: Uint8Array,
  sha256: (d: Uint8Array) => Uint8Array,
): CertInfo {
  if (!(der instanceof Uint8Array)) badFormat("certificate must be a Uint8Array");
  try {
    const cert = expectTlv(der, 0, der.length, TAG.SEQUENCE, "Certificate");
    if (cert.end !== der.length) badFormat("trailing data after the certificate");
    const top = children(der, cert);
    if (top.length !== 3 || top[0].tag !== TAG.SEQUENCE) badFormat("bad Certificate");
    const tbs = children(der, top[0]);
    let i = 0;
    if (tbs[i]?.tag === 0xa0) i++; // [0] version
    const need = (tag: number, what: string): Tlv => {
      const t = tbs[i++];
      if (!t || t.tag !== tag) badFormat(`TBSCertificate: missing or bad ${what}`);
      return t;
    };
    const serialT = need(TAG.INTEGER, "serialNumber");
    need(TAG.SEQUENCE, "signature");
    const issuerT = need(TAG.SEQUENCE, "issuer");
    const validityT = need(TAG.SEQUENCE, "validity");
    const subjectT = need(TAG.SEQUENCE, "subject");
    const spkiT = need(TAG.SEQUENCE, "subjectPublicKeyInfo");
    let extensions: Extension[] = [];
    for (; i < tbs.length; i++) {
      if (tbs[i].tag === 0xa3) {
        extensions = parseExtensions(der, readTlv(der, tbs[i].contentStart, tbs[i].end));
      }
    }
    const validity = children(der, validityT);
    if (validity.length !== 2) badFormat("bad Validity");
    const subject = parseName(der, subjectT);
    const spki = parseSpki(der, spkiT);
    let san: string[] = [];
    let isCa = false;
    for (const e of extensions) {
      if (e.oid === "2.5.29.17") san = parseGeneralNames(der, e.value);
      else if (e.oid === "2.5.29.19") isCa = basicConstraintsIsCa(der, e.value);
    }
    const cn = subject.flat().find(([k]) => k === "CN");
    const digest = sha256(der);
    return {
      subject: formatName(subject),
      issuer: formatName(parseName(der, issuerT)),
      commonName: cn ? cn[1] : null,
      san,
      notBefore: parseTime(der, validity[0]),
      notAfter: parseTime(der, validity[1]),
      serial: integerHex(contentOf(der, serialT)),
      fingerprint256: toHex(digest, ":"),
      isCa,
      publicKeyType: spki.type,
      publicKeyBits: spki.bits,
      curve: spki.curve,
      der: der.slice(),
    };
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    // Anything else (a RangeError from a corrupt length, ...) is still bad input.
    return badFormat(e instanceof Error ? e.message : String(e));
  }
}
