/**
 * `TlsConn`: an engine and a transport joined, shown as Web Streams and as
 * `read`/`write`. The loop is the same for every backend: transport → feed →
 * handshake/read → pull → transport.
 *
 * @module
 */

import { TlsError } from "../errors.ts";
import { EOF, WANT_READ } from "../backends/backend.ts";
import type { BackendName, CertInfo, Engine, EngineInfo } from "../backends/backend.ts";
import type { Addr, Duplex, Transport } from "./transport.ts";

/** Everything known about an established connection. */
export interface ConnectionInfo extends EngineInfo {
  /** The backend that runs this connection. */
  backend: BackendName;
  /** How long the handshake took, in milliseconds. */
  handshakeMs: number;
}

export type { CertInfo };

const CIPHERTEXT_CHUNK = 64 * 1024;

/**
 * A TLS connection. Use its Web Streams or `read`/`write` (they share one
 * position). `await using conn = await connect(...)` closes it at scope end.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * const conn = await connect({ hostname: "example.com", port: 443 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"));
 * const buf = new Uint8Array(4096);
 * const n = await conn.read(buf);
 * console.log(conn.info.protocol, n);
 * await conn.close();
 * ```
 */
export class TlsConn implements Duplex, AsyncDisposable {
  readonly #engine: Engine;
  readonly #transport: Transport;
  readonly #backend: BackendName;
  #inbuf = new Uint8Array(CIPHERTEXT_CHUNK);
  #outbuf = new Uint8Array(CIPHERTEXT_CHUNK + 1024);
  #flushing: Promise<void> = Promise.resolve();
  #reading: Promise<unknown> = Promise.resolve();
  #writing: Promise<unknown> = Promise.resolve();
  #handshakeMs = 0;
  #info: ConnectionInfo | null = null;
  #eof = false;
  #writeClosed = false;
  #closed = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /** @internal Built by `connect`, `listen`, `upgrade` and `wrap`. */
  constructor(engine: Engine, transport: Transport, backend: BackendName) {
    this.#engine = engine;
    this.#transport = transport;
    this.#backend = backend;
  }

  /** @internal Runs the handshake; on failure sends the alert, closes and throws. */
  async handshake(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      const fail = (e: TlsError) => {
        this.#abortTransport();
        reject(e);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => fail(new TlsError("TIMEOUT", `handshake did not complete within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      if (signal) {
        onAbort = () =>
          fail(new TlsError("ABORTED", "handshake aborted", { cause: signal.reason }));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    stop.catch(() => {});
    try {
      await Promise.race([this.#handshakeLoop(), stop]);
      this.#handshakeMs = performance.now() - started;
    } catch (e) {
      this.#abortTransport();
      throw e;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
  }

  async #handshakeLoop(): Promise<void> {
    for (;;) {
      let state;
      try {
        state = this.#engine.handshake();
      } catch (e) {
        await this.#flush().catch(() => {}); // deliver our alert
        throw e;
      }
      await this.#flush();
      if (state === "done") return;
      const n = await this.#transport.read(this.#inbuf);
      if (this.#closed) throw new TlsError("CLOSED", "connection closed during the handshake");
      if (n === null) {
        throw new TlsError("HANDSHAKE", "the peer closed the connection during the handshake");
      }
      this.#engine.feed(this.#inbuf.subarray(0, n));
    }
  }

  #abortTransport(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
    this.#engine.free();
  }

  /** Sends every pending ciphertext byte; calls are serialized. */
  #flush(): Promise<void> {
    const next = this.#flushing.then(async () => {
      for (;;) {
        if (this.#closed) return;
        const n = this.#engine.pull(this.#outbuf);
        if (n === 0) return;
        await this.#transport.write(this.#outbuf.subarray(0, n));
      }
    });
    this.#flushing = next.catch(() => {});
    return next;
  }

  #serial<T>(which: "read" | "write", fn: () => Promise<T>): Promise<T> {
    const prev = which === "read" ? this.#reading : this.#writing;
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    if (which === "read") this.#reading = settled;
    else this.#writing = settled;
    return next;
  }

  /** Reads plaintext into `p`; resolves to the count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null> {
    if (!(p instanceof Uint8Array)) {
      return Promise.reject(new TypeError("read: expected a Uint8Array"));
    }
    return this.#serial("read", () => this.#read(p));
  }

  async #read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    for (;;) {
      if (this.#eof) return null;
      if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
      const n = this.#engine.read(p);
      // Reading can produce records to send (a KeyUpdate reply). Queue them but
      // never wait here: a writer blocked on a full socket must not stall reads.
      if (this.#engine.pending() > 0) this.#flush().catch(() => {});
      if (n > 0) return n;
      if (n === EOF) {
        this.#eof = true;
        return null;
      }
      if (n !== WANT_READ) continue;
      const got = await this.#transport.read(this.#inbuf);
      if (got === null) {
        // The transport ended without close_notify. Like Python's suppress_ragged_eofs
        // and node:tls we report end of stream; protocols with their own framing
        // (HTTP lengths, SMTP's QUIT) detect truncation themselves.
        this.#eof = true;
        return null;
      }
      if (this.#closed) return null;
      this.#engine.feed(this.#inbuf.subarray(0, got));
    }
  }

  /** Writes all of `p`; resolves to its length once the ciphertext is handed to the transport. */
  write(p: Uint8Array): Promise<number> {
    if (!(p instanceof Uint8Array)) {
      return Promise.reject(new TypeError("write: expected a Uint8Array"));
    }
    return this.#serial("write", async () => {
      if (this.#closed || this.#writeClosed) {
        throw new TlsError("CLOSED", "the connection is closed for writing");
      }
      let off = 0;
      while (off < p.length) {
        const n = this.#engine.write(off ? p.subarray(off) : p);
        if (n === 0) throw new TlsError("PROTOCOL", "the engine accepted no data");
        off += n;
        await this.#flush();
      }
      return p.length;
    });
  }

  /** Sends close_notify and ends the transport's writing side; reading goes on. */
  closeWrite(): Promise<void> {
    return this.#serial("write", async () => {
      if (this.#closed || this.#writeClosed) return;
      this.#writeClosed = true;
      this.#engine.shutdown();
      await this.#flush();
      await this.#transport.closeWrite();
    });
  }

  /** Sends close_notify (if not sent yet), then closes the transport and frees native memory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      try {
        this.#engine.shutdown();
        await this.#flush();
      } catch { /* the peer may be gone already */ }
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
    await this.#flushing;
    this.#engine.free();
  }

  /** Closes the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The local address. */
  get localAddr(): Addr {
    return this.#transport.localAddr;
  }

  /** The peer's address. */
  get remoteAddr(): Addr {
    return this.#transport.remoteAddr;
  }

  /** Protocol, cipher, ALPN, peer certificate and more; read it before `close()`. */
  get info(): ConnectionInfo {
    if (!this.#info) {
      if (this.#closed) {
        throw new TlsError("CLOSED", "info is not available after close() unless read before");
      }
      this.#info = {
        ...this.#engine.info(),
        backend: this.#backend,
        handshakeMs: this.#handshakeMs,
      };
    }
    return this.#info;
  }

  /**
   * The session, for `session` in a later `connect` (resumption). In TLS 1.3 the
   * server sends it after the handshake: it is here once some data has been read.
   */
  exportSession(): Uint8Array | null {
    if (this.#closed) return null;
    return this.#engine.exportSession();
  }

  /** TLS 1.3 KeyUpdate; with `requestPeer` the peer updates its keys too. */
  keyUpdate(requestPeer = false): Promise<void> {
    return this.#serial("write", async () => {
      if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
      this.#engine.keyUpdate(requestPeer);
      await this.#flush();
    });
  }

  /** Keying material exporter (RFC 5705 / RFC 8446 §7.5). */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    if (typeof label !== "string") {
      throw new TypeError("exportKeyingMaterial: label must be a string");
    }
    if (!Number.isInteger(length) || length < 1 || length > 16384) {
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option length: ${length} (expected 1 to 16384)`,
        {
          option: "length",
        },
      );
    }
    if (context !== undefined && !(context instanceof Uint8Array)) {
      throw new TypeError("exportKeyingMaterial: context must be a Uint8Array");
    }
    if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
    return this.#engine.exportKeyingMaterial(label, length, context);
  }

  /** Plaintext from the peer, as a byte stream (BYOB capable). Cancelling it closes the connection. */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 16 * 1024,
      pull: async (controller) => {
        const req = controller.byobRequest!;
        const view = req.view as Uint8Array;
        const n = await this.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        if (n === null) {
          controller.close();
          req.respond(0);
        } else req.respond(n);
      },
      cancel: () => this.close(),
    });
    return this.#readable;
  }

  /** Plaintext to the peer. Closing it sends close_notify (half-close). */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }
}
