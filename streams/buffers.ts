/**
 * Ciphertext buffers for TLS connections, in process-wide free lists.
 *
 * @module
 */

/** Ciphertext buffers: reads start small and go large once a read fills one; flushes go large. */
export const SMALL_CHUNK = 4 * 1024;
const CIPHERTEXT_CHUNK = 64 * 1024;

/**
 * Process-wide free lists of ciphertext buffers. A connection holds one only
 * while a transport read or a flush is running (idle connections hold none),
 * and gives it back once the transport has finished with it.
 */
class BufferPool {
  readonly #free: Uint8Array[] = [];
  constructor(readonly size: number, readonly keep: number) {}

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  give(buf: Uint8Array): void {
    if (this.#free.length < this.keep) this.#free.push(buf);
  }
}

export const smallBuffers: BufferPool = new BufferPool(SMALL_CHUNK, 64);
export const largeBuffers: BufferPool = new BufferPool(CIPHERTEXT_CHUNK + 1024, 16);

/** Returns a buffer from either pool to the pool it came from. */
export function giveBack(buf: Uint8Array): void {
  (buf.length === SMALL_CHUNK ? smallBuffers : largeBuffers).give(buf);
}
