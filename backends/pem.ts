/**
 * Base64 and PEM: encoding, decoding, and finding certificates in PEM text.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import { readTlv } from "./der.ts";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_REV = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_REV[B64.charCodeAt(i)] = i;
B64_REV["-".charCodeAt(0)] = 62;
B64_REV["_".charCodeAt(0)] = 63;

/** Standard base64 with padding. */
export function encodeBase64(b: Uint8Array): string {
  let s = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : "=") + "=";
  }
  return s;
}

/**
 * Decodes base64 or base64url, ignoring whitespace; padding optional.
 * Returns null on any invalid character or impossible length.
 */
export function decodeBase64(s: string): Uint8Array | null {
  const clean = s.replace(/[\s]/g, "").replace(/=+$/, "");
  if (clean.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0, bits = 0, o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_REV[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** One PEM block. */
export interface PemBlock {
  /** The label, e.g. "CERTIFICATE", "PRIVATE KEY". */
  label: string;
  der: Uint8Array;
  /** Header lines such as "Proc-Type: 4,ENCRYPTED" (legacy encrypted keys). */
  headers: string[];
}

/** Every PEM block in `text`, in order. Blocks with invalid base64 throw BAD_FORMAT. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    const lines = m[2].split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const headers = lines.filter((l) => l.includes(":"));
    const body = lines.filter((l) => !l.includes(":")).join("");
    const der = decodeBase64(body);
    if (!der || der.length === 0) {
      throw new CryptoError("BAD_FORMAT", `invalid base64 in PEM block "${m[1]}"`);
    }
    out.push({ label: m[1], der, headers });
  }
  return out;
}

/** PEM-encodes `der` under `label`, 64 columns, trailing newline. */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = encodeBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

const CERT_LABELS = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);

/** Every certificate in a PEM bundle, as DER, in order. */
export function pemToDer(pem: string): Uint8Array[] {
  return pemBlocks(pem).filter((b) => CERT_LABELS.has(b.label)).map((b) => {
    if (b.label !== "TRUSTED CERTIFICATE") return b.der;
    // OpenSSL's trusted form appends trust settings after the certificate.
    const t = readTlv(b.der, 0);
    return b.der.slice(0, t.end);
  });
}

const latin1 = new TextDecoder("latin1");

/** True when `data` looks like PEM text rather than DER. */
export function looksLikePem(data: Uint8Array): boolean {
  const head = latin1.decode(data.subarray(0, Math.min(data.length, 4096)));
  return head.includes("-----BEGIN ");
}

/** Bytes as text (for PEM held in a Uint8Array). */
export function bytesToText(data: Uint8Array): string {
  return latin1.decode(data);
}

/**
 * The DER of the first certificate in `data` (PEM text or DER bytes).
 * Throws `CryptoError("BAD_FORMAT")` when there is none.
 */
export function certificateDer(data: Uint8Array | string): Uint8Array {
  if (typeof data === "string" || looksLikePem(data)) {
    const text = typeof data === "string" ? data : bytesToText(data);
    const ders = pemToDer(text);
    if (ders.length === 0) throw new CryptoError("BAD_FORMAT", "no CERTIFICATE block in the PEM");
    return ders[0];
  }
  if (!(data instanceof Uint8Array)) {
    throw new CryptoError("BAD_FORMAT", "a certificate must be PEM text or DER bytes");
  }
  return data;
}
