/**
 * jsec's memory BIO: a FIFO of bytes you write into and read out of, like
 * OpenSSL's `BIO_s_mem` or Python's `ssl.MemoryBIO`. On OpenSSL it is a real
 * `BIO_s_mem`; mbedTLS has no BIO, so there it is a JS byte queue that behaves
 * the same. Handy as the ciphertext pipe between a sans-IO engine
 * (`createEngine`) and a transport of your own.
 *
 * @example
 * ```ts
 * import { MemoryBio } from "@jsec/tls/bio";
 * using bio = MemoryBio.newMem();
 * bio.write("hello, ");
 * bio.write(new TextEncoder().encode("world"));
 * console.log(bio.pending); // 12
 * console.log(bio.read(5)); // Uint8Array(5) [ 104, 101, 108, 108, 111 ]
 * console.log(bio.toString()); // ", world" (drains)
 * ```
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import type { BackendName, NativeMemoryBio } from "./backend.ts";
import { createQueueMemoryBio } from "./mbedtls/bio.ts";
import { getBackend } from "./registry.ts";
import { plainBytes } from "./bytes.ts";

export type { BackendName } from "./backend.ts";

/** Options of {@link MemoryBio.newMem} and {@link createMemoryBio}. */
export interface MemoryBioOptions {
  /** The library that backs the BIO (default: `setDefaultBackend()`, else `JSEC_BACKEND`, else "openssl"). */
  backend?: BackendName;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * A memory BIO: bytes written come out of `read` in the same order. Close it
 * (or `using`) to free its native memory at once; a forgotten one is freed
 * when it is garbage-collected.
 *
 * @example
 * ```ts
 * import { MemoryBio } from "@jsec/tls/bio";
 * const bio = new MemoryBio({ backend: "openssl" });
 * bio.write(new Uint8Array([1, 2, 3]));
 * const out = new Uint8Array(2);
 * bio.readInto(out); // 2: [1, 2]
 * bio.close();
 * ```
 */
export class MemoryBio implements Disposable {
  /** The backend whose library holds the bytes. */
  readonly backend: BackendName;
  #native: NativeMemoryBio | null;
  #eofWritten = false;

  /** A new, empty memory BIO. Same as {@link MemoryBio.newMem}. */
  constructor(options: MemoryBioOptions = {}) {
    if (typeof options !== "object" || options === null) {
      invalidOption("options", options, "an object");
    }
    const backend = getBackend(options.backend);
    this.backend = backend.name;
    this.#native = backend.createMemoryBio ? backend.createMemoryBio() : createQueueMemoryBio();
  }

  /**
   * A new, empty memory BIO (OpenSSL's `BIO_new(BIO_s_mem())`).
   *
   * @example
   * ```ts
   * import { MemoryBio } from "@jsec/tls/bio";
   * using bio = MemoryBio.newMem({ backend: "mbedtls" });
   * ```
   */
  static newMem(options: MemoryBioOptions = {}): MemoryBio {
    return new MemoryBio(options);
  }

  #live(op: string): NativeMemoryBio {
    if (!this.#native) throw new TlsError("CLOSED", `MemoryBio.${op}: the BIO is closed`);
    return this.#native;
  }

  /** Bytes waiting to be read (0 once closed). */
  get pending(): number {
    return this.#native ? this.#native.pending() : 0;
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#native === null;
  }

  /** True when {@link writeEof} was called and every byte has been read (like Python's `MemoryBIO.eof`). */
  get eof(): boolean {
    return this.#eofWritten && this.pending === 0;
  }

  /**
   * Appends a copy of `data` (a string is written as UTF-8). Returns the
   * number of bytes written. Throws `TlsError("CLOSED")` after `close()` or
   * `writeEof()`, `TypeError` for anything but bytes or a string.
   */
  write(data: Uint8Array | string): number {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`MemoryBio.write: expected a Uint8Array or a string, got ${kind(data)}`);
    }
    const native = this.#live("write");
    if (this.#eofWritten) throw new TlsError("CLOSED", "MemoryBio.write: called after writeEof()");
    const plain = plainBytes(bytes);
    if (plain.length === 0) return 0; // never hand C an empty buffer
    return native.write(plain);
  }

  /** Marks the end of the data: `eof` turns true once the rest is read. Idempotent. */
  writeEof(): void {
    this.#live("writeEof");
    this.#eofWritten = true;
  }

  /**
   * Takes up to `max` bytes (default: everything pending) out of the BIO.
   * Returns an empty array when nothing is pending. `max` must be a
   * non-negative integer (`TlsError("INVALID_OPTION")` otherwise).
   */
  read(max?: number): Uint8Array {
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 0)) {
      invalidOption("max", max, "a non-negative integer");
    }
    const native = this.#live("read");
    const n = Math.min(native.pending(), max ?? Infinity);
    if (n === 0) return EMPTY.slice();
    const out = new Uint8Array(n);
    const got = native.read(out);
    return got === n ? out : out.subarray(0, got);
  }

  /** Moves up to `into.length` bytes into `into` without allocating; returns the count. */
  readInto(into: Uint8Array): number {
    if (!(into instanceof Uint8Array)) {
      throw new TypeError(`MemoryBio.readInto: expected a Uint8Array, got ${kind(into)}`);
    }
    const native = this.#live("readInto");
    const plain = plainBytes(into);
    if (plain.length === 0 || native.pending() === 0) return 0;
    return native.read(plain);
  }

  /**
   * Drains everything pending and decodes it as UTF-8 (invalid or cut
   * sequences become U+FFFD). An empty string once closed.
   */
  toString(): string {
    if (!this.#native) return "";
    return decoder.decode(this.read());
  }

  /** Frees the BIO's memory; pending bytes are dropped. Idempotent. */
  close(): void {
    const native = this.#native;
    if (!native) return;
    this.#native = null;
    native.free();
  }

  /** Closes the BIO (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Creates a memory BIO (same as {@link MemoryBio.newMem}).
 *
 * @example
 * ```ts
 * import { createMemoryBio } from "@jsec/tls/bio";
 * using bio = createMemoryBio();
 * bio.write("ping");
 * console.log(bio.toString()); // "ping"
 * ```
 */
export function createMemoryBio(options: MemoryBioOptions = {}): MemoryBio {
  return new MemoryBio(options);
}

/**
 * Creates a memory BIO, under the name jsec's guide uses (same as {@link createMemoryBio}).
 *
 * @example
 * ```ts
 * import { newMem } from "@jsec/tls/bio";
 * using bio = newMem();
 * bio.write("ping");
 * console.log(bio.toString()); // "ping"
 * ```
 */
export const newMem: (options?: MemoryBioOptions) => MemoryBio = createMemoryBio;

function kind(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}
