/**
 * The engine's ciphertext queues: a byte stream for TLS, whole datagrams for
 * DTLS. The bio callbacks move bytes between these and mbedTLS's buffers.
 *
 * @module
 */

import { copyFromNative, copyToNative, type Ptr } from "../../ffi/runtime.ts";

const EMPTY = new Uint8Array(0);

/** A growable FIFO of bytes; its buffer is kept while data flows and let go when idle. */
export class ByteQueue {
  #buf = EMPTY;
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  #reserve(n: number): void {
    if (this.#end + n <= this.#buf.length) return;
    const len = this.length;
    if (len + n <= this.#buf.length >> 1 || (len + n <= this.#buf.length && this.#start > 0)) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(4096, this.#buf.length * 2, len + n));
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = len;
  }

  #consumed(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > 1 << 20) this.#buf = EMPTY; // let a burst's buffer go
    }
  }

  /** Lets the buffer go when the queue is empty (an idle connection holds none). */
  release(): void {
    if (this.#end === 0 && this.#buf.length) this.#buf = EMPTY;
  }

  /** Appends a copy of `data`. */
  push(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#buf.set(data, this.#end);
    this.#end += data.length;
  }

  /** Appends `len` bytes of C memory at `p`. */
  pushNative(p: Ptr, len: number): void {
    if (len <= 0) return;
    this.#reserve(len);
    copyFromNative(this.#buf.subarray(this.#end, this.#end + len), p);
    this.#end += len;
  }

  /** Moves up to `into.length` bytes into `into`; returns the count. */
  shiftInto(into: Uint8Array): number {
    const n = Math.min(into.length, this.length);
    into.set(this.#buf.subarray(this.#start, this.#start + n));
    this.#consumed(n);
    return n;
  }

  /** Moves up to `max` bytes into C memory at `p`; returns the count. */
  shiftToNative(p: Ptr, max: number): number {
    const n = Math.min(max, this.length);
    if (n <= 0) return 0;
    copyToNative(p, this.#buf.subarray(this.#start, this.#start + n));
    this.#consumed(n);
    return n;
  }
}

/** A FIFO of whole datagrams. */
export class DatagramQueue {
  #items: Uint8Array[] = [];
  #head = 0;

  get count(): number {
    return this.#items.length - this.#head;
  }

  /** Size of the next datagram, 0 when none waits. */
  nextSize(): number {
    return this.count ? this.#items[this.#head].length : 0;
  }

  push(d: Uint8Array): void {
    this.#items.push(d);
  }

  /** Queues a copy of `len` bytes of C memory at `p` as one datagram. */
  pushNative(p: Ptr, len: number): void {
    const d = new Uint8Array(len);
    copyFromNative(d, p);
    this.#items.push(d);
  }

  /** Takes the next datagram, or null. */
  shift(): Uint8Array | null {
    if (!this.count) return null;
    const d = this.#items[this.#head];
    this.#items[this.#head++] = EMPTY;
    if (this.#head > 32 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return d;
  }

  /** Copies the next datagram into `into`; returns its size (0 when none). */
  shiftInto(into: Uint8Array): number {
    const size = this.nextSize();
    if (size === 0) {
      if (this.count) this.shift(); // drop an empty datagram
      return 0;
    }
    if (size > into.length) throw new RangeError(`a ${size}-byte datagram needs a larger buffer`);
    into.set(this.shift()!);
    return size;
  }

  /** Moves the next datagram into C memory (truncated to `max`); WANT_READ-style -1 if none. */
  shiftToNative(p: Ptr, max: number): number {
    const d = this.shift();
    if (!d) return -1;
    const n = Math.min(max, d.length);
    copyToNative(p, d.subarray(0, n));
    return n;
  }
}
