/**
 * A small pure-TypeScript DER reader and writer: elements (TLVs), OIDs, integers
 * and strings. The X.509 parser (`x509_der.ts`), the PEM helpers (`pem.ts`) and
 * the crypto toolbox build on it.
 *
 * Everything here bounds-checks its input: on malformed data it throws
 * `CryptoError("BAD_FORMAT")` and nothing else.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";

/** One DER element: its tag byte and where its content lies in the buffer. */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** Offset of the first byte of the element (its tag). */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** DER tags used here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8: 0x0c,
  NUMERIC: 0x12,
  PRINTABLE: 0x13,
  T61: 0x14,
  IA5: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE: 0x1a,
  UNIVERSAL: 0x1c,
  BMP: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Throws the one error this module raises. */
export function badFormat(what: string): never {
  throw new CryptoError("BAD_FORMAT", `malformed DER: ${what}`);
}

/** Reads the element at `off`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, off: number, limit: number = buf.length): Tlv {
  if (limit > buf.length) limit = buf.length;
  if (off + 2 > limit) badFormat("truncated element");
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) badFormat("high tag numbers are not supported");
  let len = buf[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) badFormat("indefinite length");
    if (n > 4) badFormat("length too large");
    if (p + n > limit) badFormat("truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (p + len > limit) badFormat("element runs past its container");
  return { tag, start: off, contentStart: p, end: p + len };
}

/** Reads the element at `off` and checks its tag. */
export function expectTlv(
  buf: Uint8Array,
  off: number,
  limit: number,
  tag: number,
  what: string,
): Tlv {
  const t = readTlv(buf, off, limit);
  if (t.tag !== tag) {
    badFormat(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  }
  return t;
}

/** The children of a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.contentStart;
  while (off < parent.end) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** The content bytes of an element (a view, not a copy). */
export function contentOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.contentStart, t.end);
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(c: Uint8Array): string {
  if (c.length === 0) badFormat("empty OID");
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    if (v > 2 ** 45) badFormat("OID arc too large");
    v = v * 128 + (c[i] & 0x7f);
    if (!(c[i] & 0x80)) {
      parts.push(v);
      v = 0;
    } else if (i === c.length - 1) badFormat("truncated OID");
  }
  const first = parts[0] < 40 ? 0 : parts[0] < 80 ? 1 : 2;
  return [first, parts[0] - first * 40, ...parts.slice(1)].join(".");
}

/** One DER element: `tag`, definite length (up to 2^24 − 1), then `parts` in order. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = len < 0x80
    ? [tag, len]
    : len < 0x100
    ? [tag, 0x81, len]
    : len < 0x10000
    ? [tag, 0x82, len >> 8, len & 0xff]
    : [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes a dotted OID as DER content bytes. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const out: number[] = [];
  const push = (n: number) => {
    const tmp = [n & 0x7f];
    n = Math.floor(n / 128);
    while (n > 0) {
      tmp.unshift((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(...tmp);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

const HEX = "0123456789ABCDEF";

/** Upper-case hex of `b`, optionally joined by `sep`. */
export function toHex(b: Uint8Array, sep = ""): string {
  const parts: string[] = [];
  for (const x of b) parts.push(HEX[x >> 4] + HEX[x & 15]);
  return parts.join(sep);
}

/** Bit length of an unsigned big-endian integer. */
export function bitLength(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]));
}

/** Upper-case hex of a DER INTEGER's value (leading zero bytes dropped; "-" when negative). */
export function integerHex(c: Uint8Array): string {
  if (c.length === 0) badFormat("empty INTEGER");
  if (c[0] & 0x80) {
    // two's complement: negate
    const m = new Uint8Array(c.length);
    let carry = 1;
    for (let i = c.length - 1; i >= 0; i--) {
      const v = ((~c[i]) & 0xff) + carry;
      m[i] = v & 0xff;
      carry = v >> 8;
    }
    return "-" + integerHex(m[0] & 0x80 ? Uint8Array.of(0, ...m) : m);
  }
  let i = 0;
  while (i < c.length - 1 && c[i] === 0) i++;
  return toHex(c.subarray(i));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes an ASN.1 string of any of the usual types. */
export function decodeString(tag: number, c: Uint8Array): string {
  try {
    switch (tag) {
      case TAG.UTF8:
        return utf8.decode(c);
      case TAG.BMP: {
        if (c.length % 2) badFormat("odd BMPString");
        let s = "";
        for (let i = 0; i < c.length; i += 2) s += String.fromCharCode((c[i] << 8) | c[i + 1]);
        return s;
      }
      case TAG.UNIVERSAL: {
        if (c.length % 4) badFormat("bad UniversalString");
        let s = "";
        for (let i = 0; i < c.length; i += 4) {
          const cp = ((c[i] << 24) | (c[i + 1] << 16) | (c[i + 2] << 8) | c[i + 3]) >>> 0;
          if (cp > 0x10ffff) badFormat("bad UniversalString code point");
          s += String.fromCodePoint(cp);
        }
        return s;
      }
      default: // Printable, IA5, T61 (as Latin-1), Visible, Numeric
        return String.fromCharCode(...c);
    }
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    return badFormat("invalid string encoding");
  }
}
