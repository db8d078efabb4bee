/**
 * Splitting OpenSSL's DTLS output back into datagrams. A memory BIO glues
 * the datagrams of one flight together; DTLS records carry their length in
 * a 13-byte header, so whole records are packed into datagrams of at most
 * `mtu` bytes (a record is never split across datagrams).
 *
 * @module
 */

const HEADER = 13;

/** A FIFO of outgoing datagrams. */
export class DatagramQueue {
  readonly #mtu: number;
  #queue: Uint8Array[] = [];

  constructor(mtu: number) {
    this.#mtu = mtu;
  }

  /** Adds ciphertext read from the write BIO: whole records, one or more. */
  push(bytes: Uint8Array): void {
    let start = 0;
    let off = 0;
    while (off + HEADER <= bytes.length) {
      const recordLen = HEADER + ((bytes[off + 11] << 8) | bytes[off + 12]);
      if (off + recordLen > bytes.length) break; // cannot happen with whole records
      if (off > start && off + recordLen - start > this.#mtu) {
        this.#queue.push(bytes.slice(start, off));
        start = off;
      }
      off += recordLen;
    }
    if (bytes.length > start) this.#queue.push(bytes.slice(start));
  }

  /** Size of the next datagram, 0 when none waits. */
  nextSize(): number {
    return this.#queue.length ? this.#queue[0].length : 0;
  }

  /** Copies the next datagram into `into`; returns its size (0 when none). */
  shift(into: Uint8Array): number {
    const d = this.#queue[0];
    if (!d) return 0;
    if (d.length > into.length) {
      throw new RangeError(`a ${d.length}-byte datagram needs a larger buffer`);
    }
    this.#queue.shift();
    into.set(d);
    return d.length;
  }
}
