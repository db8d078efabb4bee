/**
 * Internal pure-TypeScript helpers for certificates and CSRs: SAN checks,
 * PEM-or-DER input, CSR parsing, public-key extraction. Not part of the public API.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import { children, contentOf, decodeOid, expectTlv, readTlv, TAG } from "../backends/der.ts";
import { bytesToText, looksLikePem, pemBlocks, pemToDer } from "../backends/pem.ts";
import {
  formatName,
  parseExtensions,
  parseGeneralNames,
  parseName,
  parseSpki,
} from "../backends/x509_der.ts";
import type { DigestName } from "../backends/crypto_provider.ts";
import { invalid } from "./_common.ts";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;
const DNS =
  /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Checks SAN entries ("DNS:x", "IP:x", "email:x", "URI:x"); returns them normalized. */
export function checkSan(v: unknown, arg = "san"): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) invalid(arg, v, 'an array like ["DNS:localhost", "IP:127.0.0.1"]');
  return v.map((entry, i) => {
    const a = `${arg}[${i}]`;
    if (typeof entry !== "string") invalid(a, entry, 'a string like "DNS:example.com"');
    const m = entry.match(/^(DNS|IP|email|URI):(.+)$/i);
    // deno-lint-ignore no-control-regex
    if (!m || /[,\x00-\x1f]/.test(m[2])) {
      invalid(a, entry, '"DNS:<name>", "IP:<address>", "email:<address>" or "URI:<uri>"');
    }
    const type = m[1].toUpperCase() === "EMAIL" ? "email" : m[1].toUpperCase();
    const value = m[2];
    if (type === "DNS" && (!DNS.test(value) || value.length > 253)) invalid(a, entry, "a DNS name");
    if (type === "IP" && !IPV4.test(value) && !(value.includes(":") && IPV6.test(value))) {
      invalid(a, entry, "an IPv4 or IPv6 address");
    }
    if (type === "email" && !/^[^@\s]+@[^@\s]+$/.test(value)) {
      invalid(a, entry, "an e-mail address");
    }
    if (type === "URI" && !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value)) invalid(a, entry, "a URI");
    return `${type}:${value}`;
  });
}

/** The default SAN for a common name: the name itself, and loopback for "localhost". */
export function defaultSan(cn: string): string[] {
  if (IPV4.test(cn) || (cn.includes(":") && IPV6.test(cn))) return [`IP:${cn}`];
  if (cn === "localhost") return ["DNS:localhost", "IP:127.0.0.1", "IP:::1"];
  if (DNS.test(cn)) return [`DNS:${cn}`];
  return [];
}

/** The signature digest that fits a key type and curve. */
export function hashFor(type: string, curve: string | null): DigestName | null {
  if (type === "ed25519" || type === "ed448") return null;
  if (curve === "P-384") return "sha384";
  if (curve === "P-521") return "sha512";
  return "sha256";
}

/** The first PEM block of one of `labels`, or the bytes themselves when DER. */
export function derOf(data: Uint8Array, labels: string[], what: string): Uint8Array {
  if (!looksLikePem(data)) return data;
  const b = pemBlocks(bytesToText(data)).find((b) => labels.includes(b.label));
  if (!b) throw new CryptoError("BAD_FORMAT", `no ${labels.join(" or ")} block in the ${what}`);
  return b.der;
}

/** Every CERTIFICATE block of PEM bytes, or the bytes themselves when DER. */
export function certDers(data: Uint8Array): Uint8Array[] {
  return looksLikePem(data) ? pemToDer(bytesToText(data)) : [data];
}

/** A parsed certificate signing request. */
export interface CsrInfo {
  /** Subject as an RFC 4514 string, most specific first. */
  subject: string;
  /** The subject's common name, when it has one. */
  commonName: string | null;
  /** Subject attributes by short name ("CN", "O", "C", ...). */
  subjectFields: Record<string, string>;
  /** SAN from the extensionRequest attribute. */
  san: string[];
  /** "rsa", "ec", "ed25519", "ed448", ... */
  publicKeyType: string;
  /** Key size in bits (RSA modulus, EC field size). */
  publicKeyBits: number;
  /** The curve for EC keys ("P-256", ...), else null. */
  curve: string | null;
  /** The public key, SPKI DER. */
  publicKeyDer: Uint8Array;
  /** The CSR itself, DER. */
  der: Uint8Array;
}

/** Parses a DER CSR (PKCS#10). */
export function parseCsrDer(der: Uint8Array): CsrInfo {
  try {
    const top = expectTlv(der, 0, der.length, TAG.SEQUENCE, "CertificationRequest");
    const info = expectTlv(
      der,
      top.contentStart,
      top.end,
      TAG.SEQUENCE,
      "CertificationRequestInfo",
    );
    const parts = children(der, info);
    if (parts.length < 3 || parts[0].tag !== TAG.INTEGER) {
      throw new CryptoError("BAD_FORMAT", "malformed CertificationRequestInfo");
    }
    const name = parseName(der, parts[1]);
    const spkiT = parts[2];
    const spki = parseSpki(der, spkiT);
    let san: string[] = [];
    const attrs = parts[3];
    if (attrs && attrs.tag === 0xa0) {
      for (const attr of children(der, attrs)) {
        const [oidT, setT] = children(der, attr);
        if (!oidT || oidT.tag !== TAG.OID || !setT) continue;
        if (decodeOid(contentOf(der, oidT)) !== "1.2.840.113549.1.9.14") continue;
        const extsT = readTlv(der, setT.contentStart, setT.end);
        for (const e of parseExtensions(der, extsT)) {
          if (e.oid === "2.5.29.17") san = parseGeneralNames(der, e.value);
        }
      }
    }
    const subjectFields: Record<string, string> = {};
    for (const [k, v] of name.flat()) subjectFields[k] = v;
    return {
      subject: formatName(name),
      commonName: subjectFields.CN ?? null,
      subjectFields,
      san,
      publicKeyType: spki.type,
      publicKeyBits: spki.bits,
      curve: spki.curve,
      publicKeyDer: der.slice(spkiT.start, spkiT.end),
      der: der.slice(),
    };
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new CryptoError("BAD_FORMAT", `malformed CSR: ${e instanceof Error ? e.message : e}`);
  }
}

/** Type, bits and curve of an SPKI DER. */
export function spkiInfo(spki: Uint8Array): { type: string; bits: number; curve: string | null } {
  const s = parseSpki(spki, readTlv(spki, 0));
  return { type: s.type, bits: s.bits, curve: s.curve };
}
