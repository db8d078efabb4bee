/**
 * Screening of protected DTLS records before they reach the engine.
 *
 * @module
 */

const HEADER = 13;

/**
 * The shortest protected record a cipher suite can produce (IANA name): the
 * AEAD tag, plus the explicit nonce of AES-GCM and AES-CCM. No suite's record
 * is shorter than 16 bytes.
 */
export function minProtectedRecord(cipher: string | null): number {
  if (cipher && /_(GCM|CCM)(_|$)/.test(cipher) && !cipher.endsWith("_CCM_8")) return 24;
  return 16;
}

/**
 * `datagram` without its protected records (epoch 1 and later) shorter than
 * `min`, or `datagram` itself when it has none. Such a record cannot be valid
 * and DTLS discards invalid records (RFC 6347 §4.1.2.7), but OpenSSL 3.0 turns
 * an AEAD record shorter than its nonce and tag into a fatal internal error:
 * one spoofed datagram would end the association.
 */
export function withoutShortRecords(datagram: Uint8Array, min: number): Uint8Array {
  let kept: Uint8Array[] | null = null;
  let off = 0;
  while (off + HEADER <= datagram.length) {
    const len = (datagram[off + 11] << 8) | datagram[off + 12];
    const end = Math.min(datagram.length, off + HEADER + len);
    const epoch = (datagram[off + 3] << 8) | datagram[off + 4];
    const short = epoch > 0 && len < min;
    if (short) kept ??= [datagram.subarray(0, off)];
    else kept?.push(datagram.subarray(off, end));
    off = end;
  }
  if (!kept) return datagram;
  if (off < datagram.length) kept.push(datagram.subarray(off)); // a partial header: the engine judges it
  const out = new Uint8Array(kept.reduce((n, k) => n + k.length, 0));
  let at = 0;
  for (const k of kept) {
    out.set(k, at);
    at += k.length;
  }
  return out;
}
