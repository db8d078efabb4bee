/**
 * `TlsConn`: an engine and a transport joined, shown as Web Streams and as
 * `read`/`write`. The loop is the same for every backend: transport → feed →
 * handshake/read → pull → transport.
 *
 * @module
 */

import { TlsError } from "../errors.ts";
import { EOF } from "../backends/backend.ts";
import { bytesArg } from "../backends/bytes.ts";
import type { BackendName, CertInfo, Engine, EngineInfo } from "../backends/backend.ts";
import { addDeadline, cancelDeadline, type Deadline } from "./deadlines.ts";
import { exporterContext } from "./exporter.ts";
import { type Addr, type Duplex, type Transport, WRITTEN } from "./transport.ts";
import { giveBack, largeBuffers, SMALL_CHUNK, smallBuffers } from "./buffers.ts";
import { Lane } from "./lane.ts";

/** Everything known about an established connection. */
export interface ConnectionInfo extends EngineInfo {
  /** The backend that runs this connection. */
  backend: BackendName;
  /** How long the handshake took, in milliseconds. */
  handshakeMs: number;
}

export type { CertInfo };

/**
 * How long close() waits for its close_notify (and writes before it) to reach
 * the transport before it aborts it; Go's tls.Conn.Close gives the same five seconds.
 */
const CLOSE_GRACE_MS = 5_000;

/**
 * The transport's own error (a reset socket, a Duplex whose source or sink
 * failed, with whatever reason it gives, `undefined` included) as the CLOSED it
 * means, with the original as cause.
 */
function transportFailed(e: unknown): TlsError {
  if (e instanceof TlsError) return e;
  return new TlsError("CLOSED", `the transport failed: ${e}`, { cause: e });
}

/** The most plaintext one TLS record carries. */
const MAX_RECORD = 16 * 1024;

/**
 * Microtasks the handshake's last flight waits for the caller's first write.
 * `await connect()` reaches the caller's next line in 4 of them and
 * `for await (const conn of listener)` in 8 (Deno and Bun alike).
 */
const LAST_FLIGHT_HOPS = 16;

/** Plaintext written per flush: four full records, whose ciphertext fits one large buffer. */
const WRITE_BATCH = 4 * MAX_RECORD;

/** The most a default reader of `readable` gets at once: four records, so bulk moves in fewer chunks. */
const MAX_CHUNK = 4 * MAX_RECORD;

/**
 * Where reads for a default reader of `readable` decrypt, shared by every
 * connection: each such read copies out exactly what it got in the same
 * synchronous step, so a connection waiting for data holds no plaintext buffer.
 */
const CHUNK_SCRATCH = new Uint8Array(MAX_CHUNK);
/** A decrypt into CHUNK_SCRATCH is on the stack (a user callback may read another connection). */
let chunkScratchBusy = false;

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
  /** The last transport read filled its buffer: read into a large one next time. */
  #largeReads = false;
  /** The flush waiting on the transport, if any; later flushes join it. */
  #flushing: Promise<void> | null = null;
  readonly #readLane = new Lane();
  readonly #writeLane = new Lane();
  #handshakeMs = 0;
  #info: ConnectionInfo | null = null;
  #eof = false;
  #writeClosed = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  /** Ends a read waiting on a transport read when the connection closes (see #fill). */
  #endWaitingRead: ((n: null) => void) | null = null;

  /** @internal Built by `connect`, `listen`, `upgrade` and `wrap`. */
  constructor(engine: Engine, transport: Transport, backend: BackendName) {
    this.#engine = engine;
    this.#transport = transport;
    this.#backend = backend;
  }

  /**
   * @internal Runs the handshake; on failure sends the alert, closes and throws.
   * The timeout and the signal abort the transport, which ends whatever read or
   * write the handshake waits on, and the handshake then fails with their error.
   */
  async handshake(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    const started = performance.now();
    let stopped: TlsError | undefined;
    const stop = (e: TlsError) => {
      stopped ??= e;
      this.#transport.abort();
    };
    let deadline: Deadline | undefined;
    let onAbort: (() => void) | undefined;
    if (timeoutMs !== undefined) {
      deadline = addDeadline(
        timeoutMs,
        () => stop(new TlsError("TIMEOUT", `handshake did not complete within ${timeoutMs} ms`)),
      );
    }
    if (signal) {
      onAbort = () => stop(new TlsError("ABORTED", "handshake aborted", { cause: signal.reason }));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      await this.#handshakeLoop();
      if (stopped) throw stopped; // the loop won, but the transport is gone
      this.#handshakeMs = performance.now() - started;
    } catch (e) {
      this.#abortTransport();
      throw stopped ?? transportFailed(e);
    } finally {
      if (deadline) cancelDeadline(deadline);
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
  }

  async #handshakeLoop(): Promise<void> {
    for (;;) {
      let state;
      try {
        state = this.#engine.handshake();
      } catch (e) {
        await this.#flushQuietly(); // deliver our alert
        throw e;
      }
      if (state === "done") return this.#flushSoon();
      await this.#flush();
      const n = await this.#fill();
      if (this.#closed) throw new TlsError("CLOSED", "connection closed during the handshake");
      if (n === null) {
        throw new TlsError("HANDSHAKE", "the peer closed the connection during the handshake");
      }
    }
  }

  /**
   * One transport read fed to the engine: the byte count, or null at end of
   * stream, or null as soon as the connection closes. Bun's transport ends its
   * pending reads itself when closed, but a Deno socket read cannot be
   * cancelled without closing the socket, which the lingering close keeps open,
   * and a Duplex's read waits on its source: without this, a read pending at
   * close() would wait for the peer or the linger's deadline. The transport read
   * then goes on in the background and keeps its buffer until it settles; what
   * it gets is dropped. A promise built by hand, not an async function: the
   * same cost per read as one.
   */
  #fill(): Promise<number | null> {
    const t = this.#transport;
    if (t.readChunk) return t.readChunk().then((chunk) => this.#feedChunk(chunk));
    const pool = this.#largeReads ? largeBuffers : smallBuffers;
    const buf = pool.take();
    return new Promise((resolve, reject) => {
      this.#endWaitingRead = resolve;
      t.read(buf).then((n) => {
        try {
          if (n !== null && !this.#closed) {
            this.#engine.feed(buf.subarray(0, n));
            this.#largeReads = n === buf.length || (this.#largeReads && n > SMALL_CHUNK);
          }
          resolve(n);
        } catch (e) {
          reject(e);
        } finally {
          pool.give(buf);
        }
      }, (e) => {
        pool.give(buf);
        reject(e);
      });
    });
  }

  /** The transport is closing: a read waiting on it ends now (with null, as closed). */
  #closeTransport(peerDone: boolean): void {
    this.#transport.close(peerDone);
    this.#endWaitingRead?.(null);
    this.#endWaitingRead = null;
  }

  #feedChunk(chunk: Uint8Array | null): number | null {
    if (chunk === null) return null;
    if (!this.#closed) this.#engine.feed(chunk);
    return chunk.length;
  }

  /**
   * After an engine step failed (a fatal alert from the peer, a bad record) the
   * connection is dead: send our alert if any, close the transport and free the
   * engine. Later calls report CLOSED.
   */
  async #die(): Promise<void> {
    // Behind a write stuck on a peer that stopped reading, our alert would wait
    // as long: the error must not. Otherwise the alert gets close()'s grace.
    if (!this.#flushing) await this.#withinGrace(this.#flushQuietly());
    this.#abortTransport();
  }

  /**
   * Waits for `sent` (a flush), failures ignored: the peer may be gone. A peer
   * that stopped reading would keep it waiting forever, so past close()'s grace
   * the transport is aborted, which fails the writes. The pending write keeps
   * the process alive; the deadline need not.
   */
  async #withinGrace(sent: Promise<void>): Promise<void> {
    const stalled = addDeadline(CLOSE_GRACE_MS, () => this.#transport.abort(), false);
    try {
      await sent;
    } catch { /* the peer may be gone already */ }
    cancelDeadline(stalled);
  }

  #abortTransport(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeTransport(false);
    this.#engine.free();
  }

  /**
   * Sends every pending ciphertext byte. A call while a flush waits on the
   * transport joins that flush, which pulls again after each transport write
   * and so sends this caller's records too. Returns nothing when the transport
   * took it all synchronously (Bun), else a promise.
   */
  #flush(): void | Promise<void> {
    return this.#flushing ?? this.#flushNow();
  }

  /**
   * The handshake's last flight (a client's Finished, a TLS 1.3 server's tickets)
   * waits for the first write so both leave in one transport write: one socket
   * write and one peer wake-up less per connection. A read flushes it before
   * waiting. When the caller does neither within LAST_FLIGHT_HOPS microtasks, it
   * leaves on its own. A macrotask (`setImmediate`) would wait longer, but on Deno
   * it cost a resumed connection 20–45k instructions more than the hops (~5k),
   * and a different amount on every run.
   */
  #flushSoon(): void {
    if (this.#engine.pending() === 0) return;
    let hops = LAST_FLIGHT_HOPS;
    const hop = (): void => {
      if (--hops > 0) queueMicrotask(hop);
      else void this.#flushQuietly();
    };
    queueMicrotask(hop);
  }

  async #flushQuietly(): Promise<void> {
    try {
      await this.#flush();
    } catch { /* the peer may be gone already */ }
  }

  #flushNow(): void | Promise<void> {
    const out = this.#takeOut();
    if (!out) return;
    const sent = this.#send(out);
    if (sent) return this.#flushing = this.#flushAfter(sent, out);
  }

  /**
   * A buffer for what the engine holds, or null when it holds nothing. Small
   * flights (handshake messages, short writes) take a small one: on Deno a buffer
   * stays out until the socket write resolves, and many connections handshaking
   * at once would otherwise each hold 65 KiB.
   */
  #takeOut(): Uint8Array | null {
    const size = this.#closed ? 0 : this.#engine.pending();
    if (size === 0) return null;
    return (size <= SMALL_CHUNK ? smallBuffers : largeBuffers).take();
  }

  /**
   * Pulls into `out` and writes until the engine is drained (then gives `out`
   * back and returns null) or the transport makes us wait (returns its promise;
   * `out` stays in use until it settles).
   */
  #send(out: Uint8Array): Promise<void> | null {
    for (;;) {
      const n = this.#closed ? 0 : this.#engine.pull(out);
      const sent = n === 0 ? WRITTEN : this.#transport.write(out.subarray(0, n));
      if (sent !== WRITTEN) return sent;
      // A stream pull that did not fill `out` drained the engine.
      if (n < out.length) {
        giveBack(out);
        return null;
      }
    }
  }

  /** The transport is writing `out`: wait, then send what is left and what was added meanwhile. */
  async #flushAfter(sent: Promise<void>, out: Uint8Array): Promise<void> {
    try {
      for (;;) {
        try {
          await sent;
        } finally {
          giveBack(out);
        }
        const next = this.#takeOut();
        if (!next) return;
        const more = this.#send(next);
        if (!more) return;
        sent = more;
        out = next;
      }
    } finally {
      this.#flushing = null;
    }
  }

  /** Runs a write (or a close_notify, a KeyUpdate) once the writes before it are done. */
  #serialWrite<T>(fn: () => T | Promise<T>): Promise<T> {
    // Promise.resolve returns a promise as is: one allocation at most.
    return Promise.resolve(this.#writeLane.run(fn));
  }

  /**
   * #readNow once the reads before it are done: at once when none is in
   * flight. A read that waits holds the lane until it ends (#readLater and
   * #failRead release it) rather than have the lane watch its promise: that
   * reaction and the closure cost 3–10% of an echo round trip on Bun.
   */
  #serialRead(p: Uint8Array | null): Promise<number | Uint8Array | null> {
    const lane = this.#readLane;
    if (!lane.idle) return Promise.resolve(lane.run(() => this.#readNow(p)));
    let r;
    try {
      r = this.#readNow(p);
    } catch (e) {
      return Promise.reject(e);
    }
    return r instanceof Promise ? lane.hold(r) : Promise.resolve(r);
  }

  /** Reads plaintext into `p`; resolves to the count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null> {
    let into: Uint8Array;
    try {
      into = bytesArg("read", p);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#serialRead(into) as Promise<number | null>;
  }

  /** The next plaintext as a chunk of its own (what a default reader gets), or null at the end. */
  #readChunk(): Promise<Uint8Array | null> {
    return this.#serialRead(null) as Promise<Uint8Array | null>;
  }

  /**
   * Plaintext already decrypted or decryptable without waiting; else the slow
   * path. Into `p` (the count), or with `p` null as a chunk of its own.
   */
  #readNow(
    p: Uint8Array | null,
  ): number | Uint8Array | null | Promise<number | Uint8Array | null> {
    if (p?.length === 0) return 0;
    if (this.#eof) return null;
    if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
    let got: number | Uint8Array;
    try {
      got = p ? this.#decrypt(p) : this.#decryptChunk();
    } catch (e) {
      return this.#failRead(e);
    }
    return got === 0 ? this.#readLater(p) : got;
  }

  /** An engine step of a read failed: the connection dies (#die), then the read fails with `e`. */
  async #failRead(e: unknown): Promise<never> {
    try {
      await this.#die();
    } finally {
      this.#readLane.release();
    }
    throw e;
  }

  async #readLater(p: Uint8Array | null): Promise<number | Uint8Array | null> {
    // Releases the read lane just before the read settles (see #serialRead).
    try {
      for (;;) {
        if (this.#eof) return null;
        // Reading can produce records to send (a KeyUpdate reply): send them before
        // waiting for the peer. Never wait on that flush: a writer blocked on a full
        // socket must not stall reads.
        if (this.#engine.pending() > 0) Promise.resolve(this.#flush()).catch(() => {});
        const t = this.#transport;
        let got;
        try {
          got = t.readChunk ? this.#feedChunk(await t.readChunk()) : await this.#fill();
        } catch (e) {
          throw transportFailed(e);
        }
        if (got === null) {
          // The transport ended without close_notify. Like Python's suppress_ragged_eofs
          // and node:tls we report end of stream; protocols with their own framing
          // (HTTP lengths, SMTP's QUIT) detect truncation themselves.
          this.#eof = true;
          return null;
        }
        if (this.#closed) return null;
        // The caller's buffer may have been detached or shrunk meanwhile: it would never fill.
        if (p?.length === 0) {
          throw new TypeError("read: the buffer was detached while the read waited");
        }
        let read: number | Uint8Array;
        try {
          read = p ? this.#decrypt(p) : this.#decryptChunk();
        } catch (e) {
          await this.#die();
          throw e;
        }
        if (read !== 0) return read;
      }
    } finally {
      this.#readLane.release();
    }
  }

  /**
   * #decrypt into CHUNK_SCRATCH and out as a chunk of its own, or 0 when no
   * record was complete. Should a user callback run inside the engine (during a
   * renegotiation) and read another connection that way, that read gets a
   * buffer of its own rather than the scratch in use.
   */
  #decryptChunk(): Uint8Array | 0 {
    const buf = chunkScratchBusy ? new Uint8Array(MAX_CHUNK) : CHUNK_SCRATCH;
    const owner = buf === CHUNK_SCRATCH;
    chunkScratchBusy = true;
    try {
      const n = this.#decrypt(buf);
      return n > 0 ? buf.slice(0, n) : 0;
    } finally {
      if (owner) chunkScratchBusy = false;
    }
  }

  /**
   * Decrypts the records already fed, as many as fit in `p`: the count, or 0
   * when the engine needs ciphertext. close_notify sets `#eof` (reported by the next read).
   * Only full records are followed by another engine read: a short one usually
   * ends what the peer sent, and asking again would just cost a failed read.
   */
  #decrypt(p: Uint8Array): number {
    let total = 0;
    while (total < p.length) {
      const n = this.#engine.read(total ? p.subarray(total) : p);
      if (n <= 0) {
        if (n === EOF) this.#eof = true;
        break; // EOF or WANT_READ
      }
      total += n;
      if (n < MAX_RECORD) break;
    }
    return total;
  }

  /** Writes all of `p`; resolves to its length once the ciphertext is handed to the transport. */
  write(p: Uint8Array): Promise<number> {
    let data: Uint8Array;
    try {
      data = bytesArg("write", p);
    } catch (e) {
      return Promise.reject(e);
    }
    const length = data.length;
    return this.#serialWrite(() => {
      if (this.#closed || this.#writeClosed) {
        throw new TlsError("CLOSED", "the connection is closed for writing");
      }
      // Queued behind other writes, the caller's buffer may have been detached meanwhile.
      if (data.length < length) {
        throw new TypeError("write: the buffer was detached or shrunk before it was sent");
      }
      return this.#writeFrom(data, 0);
    });
  }

  /**
   * Encrypts `p` from `off` on, up to WRITE_BATCH per flush (one transport
   * write for several records); synchronous while the transport takes
   * everything at once.
   */
  #writeFrom(p: Uint8Array, off: number): number | Promise<number> {
    while (off < p.length) {
      const batchEnd = Math.min(p.length, off + WRITE_BATCH);
      while (off < batchEnd) {
        let n: number;
        try {
          n = this.#engine.write(
            off === 0 && batchEnd === p.length ? p : p.subarray(off, batchEnd),
          );
        } catch (e) {
          return this.#die().then(() => Promise.reject(e));
        }
        if (n === 0) throw new TlsError("PROTOCOL", "the engine accepted no data");
        off += n;
      }
      const sent = this.#flush();
      if (sent) {
        const next = off;
        return sent.then(() => this.#writeFrom(p, next), (e) => {
          // close() gave up on a peer that stopped reading (or was called meanwhile).
          if (!this.#closed && !this.#writeClosed) throw transportFailed(e);
          throw new TlsError("CLOSED", "the connection closed before this write was sent", {
            cause: e,
          });
        });
      }
    }
    return p.length;
  }

  /** Sends close_notify and ends the transport's writing side; reading goes on. */
  closeWrite(): Promise<void> {
    return this.#serialWrite(async () => {
      if (this.#closed || this.#writeClosed) return;
      this.#writeClosed = true;
      this.#engine.shutdown();
      try {
        await this.#flush();
        await this.#transport.closeWrite();
      } catch (e) {
        throw transportFailed(e);
      }
    });
  }

  /**
   * Sends close_notify (if not sent yet) after the write in progress, then closes
   * the transport and frees native memory. Writes not yet started fail with
   * `CLOSED`. Concurrent calls share one close. Unless the peer's close_notify was
   * read, a socket then lingers in the background: it ends its writing side and
   * drops what still arrives until the peer ends (at most 5 s), so that bytes
   * left unread do not make the kernel reset the connection under the peer's
   * unread data.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#closeOnce();
  }

  async #closeOnce(): Promise<void> {
    if (this.#closed) return;
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      const sent = this.#writeLane.run(() => {
        if (this.#closed) return;
        this.#engine.shutdown();
        return this.#flush();
      });
      if (sent instanceof Promise) await this.#withinGrace(sent);
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#closeTransport(this.#eof); // after the peer's close_notify nothing is left unread
    // A transport write still pending never comes back to the engine: #takeOut
    // and #send check #closed first.
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
    return this.#serialWrite(async () => {
      if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
      this.#engine.keyUpdate(requestPeer);
      try {
        await this.#flush();
      } catch (e) {
        throw transportFailed(e);
      }
    });
  }

  /** Keying material exporter (RFC 5705 / RFC 8446 §7.5). */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    const c = exporterContext(label, length, context);
    if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
    return this.#engine.exportKeyingMaterial(label, length, c);
  }

  /**
   * Plaintext from the peer, as a byte stream (BYOB capable). Cancelling it
   * closes the connection. A default reader gets chunks of exactly the bytes
   * read (up to 64 KiB, each with a buffer of its own), and while it waits for
   * data no plaintext buffer is held for it.
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        const req = controller.byobRequest;
        if (!req) {
          const chunk = await this.#readChunk();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
          return;
        }
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
      // The stream ignores what a sink's write resolves to: no async wrapper needed.
      write: (chunk) => this.write(chunk) as Promise<unknown> as Promise<void>,
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }
}
