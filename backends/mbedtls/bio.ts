/**
 * mbedTLS has no BIO object: its memory BIO is a pure-TS byte queue with the
 * same behaviour as OpenSSL's `BIO_s_mem` (FIFO, copies in, copies out).
 *
 * @module
 */

import { TlsError } from "../../errors.ts";
import type { NativeMemoryBio } from "../backend.ts";
import { ByteQueue } from "./queues.ts";

/** A memory BIO as a JS byte queue. Use {@link createQueueMemoryBio}. */
export class QueueMemoryBio implements NativeMemoryBio {
  #q: ByteQueue | null = new ByteQueue();

  #live(): ByteQueue {
    if (!this.#q) throw new TlsError("CLOSED", "the memory BIO is closed");
    return this.#q;
  }

  write(data: Uint8Array): number {
    this.#live().push(data);
    return data.length;
  }

  read(into: Uint8Array): number {
    return this.#live().shiftInto(into);
  }

  pending(): number {
    return this.#q?.length ?? 0;
  }

  free(): void {
    this.#q = null;
  }
}

/** A new memory BIO that lives in JS memory only. */
export function createQueueMemoryBio(): NativeMemoryBio {
  return new QueueMemoryBio();
}
