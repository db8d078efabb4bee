/**
 * Byte helpers the backends share for their caches keyed by DER. They walk
 * 32-bit words: a session cache lookup hashes and compares ~800 bytes per
 * connection, and a byte loop cost more than every other JS step of a resumed
 * connection's client (callgrind: 43k instructions a lookup).
 *
 * @module
 */

/** `bytes` as 32-bit words in host order (its last `length % 4` bytes left out); copies when misaligned. */
function words(bytes: Uint8Array): Uint32Array {
  const b = bytes.byteOffset & 3 ? bytes.slice() : bytes;
  return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/**
 * FNV-1a over the 32-bit words of `bytes`, then its tail bytes: a cache key
 * for this process only, not a digest (callers settle collisions with {@link sameBytes}).
 */
export function fnv1a(bytes: Uint8Array): number {
  const w = words(bytes);
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i], 0x01000193);
  for (let i = w.length << 2; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Whether `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const wa = words(a), wb = words(b);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  for (let i = wa.length << 2; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
