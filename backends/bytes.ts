/**
 * Byte helpers: {@link plainBytes}, which every caller's Uint8Array passes on
 * its way to C, and the hash and compare the backends' caches keyed by DER use.
 * Those walk 32-bit words: a session cache lookup hashes and compares ~800
 * bytes per connection, and a byte loop cost more than every other JS step of
 * a resumed connection's client (callgrind: 43k instructions a lookup).
 *
 * @module
 */

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(typedArrayProto, name)!.get!;
const lengthOf = intrinsic("length");
const bufferOf = intrinsic("buffer");
const byteOffsetOf = intrinsic("byteOffset");

/**
 * A new plain view of the bytes of `v`, a Uint8Array, for code that tells C
 * their length. The caller's own object is never used past this point: a
 * subclass getter or a redefined own `length` could claim more bytes than the
 * buffer holds, and an own `constructor` (its `Symbol.species`) or `subarray`
 * could make `slice()` and `subarray()` return such a view. The view's length
 * comes from the typed array's own slots. Throws a TypeError for what is not
 * really a typed array (a Proxy around one) and for a detached buffer. Lengths
 * are still read when the bytes are used: the buffer may be detached or shrunk
 * meanwhile, which only ever makes the view shorter. (Code that redefines
 * `length` on `%TypedArray%.prototype` for every array is out of reach.)
 */
export function plainBytes(v: Uint8Array): Uint8Array {
  const buffer: ArrayBuffer = bufferOf.call(v);
  if ((buffer as { detached?: boolean }).detached) {
    throw new TypeError("expected bytes, got a Uint8Array whose ArrayBuffer is detached");
  }
  return new Uint8Array(buffer, byteOffsetOf.call(v), lengthOf.call(v));
}

/** A caller's bytes for `what`: a TypeError unless they are a Uint8Array, else {@link plainBytes}. */
export function bytesArg(what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array`);
  return plainBytes(v);
}

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
