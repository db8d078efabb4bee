/**
 * `DtlsConn`: one DTLS association (a client's, or one peer of a server),
 * driven by events rather than a read loop: every datagram that arrives is
 * fed to the engine, every datagram the engine produces is sent, and the
 * retransmission timer is re-armed from `engine.timeout()`.
 *
 * @module
 */

import { TlsError } from "../errors.ts";
import { EOF, WANT_READ } from "../backends/backend.ts";
import type { BackendName, Engine } from "../backends/backend.ts";
import { bytesArg } from "../backends/bytes.ts";
import type { ConnectionInfo } from "../streams/conn.ts";
import { exporterContext } from "../streams/exporter.ts";
import type { Addr } from "../streams/transport.ts";
import { addDeadline, cancelDeadline, type Deadline } from "../streams/deadlines.ts";
import { SMALL_CHUNK, smallBuffers } from "../streams/buffers.ts";
import { minProtectedRecord, withoutShortRecords } from "./records.ts";

/** Counters of one DTLS connection. */
export interface DtlsConnStats {
  /** Datagrams received from the peer (handshake, records, junk). */
  datagramsIn: number;
  /** Datagrams sent to the peer (handshake flights, retransmissions, records). */
  datagramsOut: number;
  /** Ciphertext bytes received. */
  bytesIn: number;
  /** Ciphertext bytes sent. */
  bytesOut: number;
  /** Application datagrams received (plaintext). */
  messagesIn: number;
  /** Application datagrams sent (plaintext). */
  messagesOut: number;
  /** Times the retransmission timer fired and a flight was sent again. */
  retransmissions: number;
  /** Application datagrams dropped because the receive queue was full. */
  dropped: number;
}

/** @internal How a connection reaches its peer; the client or the server provides it. */
export interface DatagramLink {
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  /** Sends one datagram. */
  send(datagram: Uint8Array): Promise<void>;
  /** The connection has ended (closed, failed, expired); called once. */
  detach(conn: DtlsConn): void;
  /** An application datagram was queued (the server's receiveFrom listens). */
  queued?(conn: DtlsConn): void;
  /** The retransmission timer resent a flight. */
  retransmitted?(): void;
  /** The peer's slot is free (it sent close_notify, or the connection is ending). */
  released?(conn: DtlsConn): void;
}

/** Datagrams kept for a reader that is not reading, like a socket's receive buffer. */
const QUEUE_LIMIT = 1024;
const READ_BUFFER = 17 * 1024; // one record's plaintext at most

/** The default handshake deadline: UDP has no "connection refused" to end a hopeless attempt. */
export const DEFAULT_DTLS_HANDSHAKE_TIMEOUT = 30_000;

/**
 * A DTLS connection: every `send` is one datagram and every `receive` one
 * datagram, whole and separate, in arrival order (DTLS keeps no order and
 * does not retransmit application data: what UDP loses stays lost).
 *
 * @example
 * ```ts
 * import * as dtls from "@jsec/tls/dtls";
 * const conn = await dtls.connect({ hostname: "localhost", port: 4433, caCerts: [caPem] });
 * await conn.send(new TextEncoder().encode("ping"));
 * const reply = await conn.receive(); // one datagram, or null once closed
 * console.log(conn.info.protocol, reply);
 * await conn.close();
 * ```
 */
export class DtlsConn implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #link: DatagramLink;
  readonly #backend: BackendName;
  readonly #stats: DtlsConnStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    retransmissions: 0,
    dropped: 0,
  };
  #readBuf: Uint8Array | null = null;
  #queue: Uint8Array[] = [];
  #waiters: { resolve: (d: Uint8Array | null) => void; reject: (e: unknown) => void }[] = [];
  #sending: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline: Deadline | undefined;
  /** Protected records shorter than this are dropped (see withoutShortRecords). */
  #minRecord = minProtectedRecord(null);
  #handshake: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  #started = 0;
  #info: ConnectionInfo | null = null;
  #error: unknown = null;
  #eof = false;
  #closed = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  /** @internal When the peer was last heard from (performance.now()). */
  lastSeen: number = performance.now();

  /** @internal Built by `connect` and `listen`. */
  constructor(engine: Engine, link: DatagramLink, backend: BackendName) {
    this.#engine = engine;
    this.#link = link;
    this.#backend = backend;
  }

  /**
   * @internal Runs the handshake: sends `initial` (datagrams the engine already
   * produced), then advances on every datagram and timer until done or failed.
   */
  start(initial: Uint8Array[], signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    this.#started = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      this.#handshake = { resolve, reject };
    });
    let onAbort: (() => void) | undefined;
    if (timeoutMs !== undefined) {
      // A deadline, not setTimeout: beyond 2^31 - 1 ms that would fire at once.
      this.#deadline = addDeadline(
        timeoutMs,
        () =>
          this.#fail(
            new TlsError("TIMEOUT", `DTLS handshake did not complete within ${timeoutMs} ms`),
          ),
      );
    }
    if (signal) {
      onAbort = () =>
        this.#fail(new TlsError("ABORTED", "DTLS handshake aborted", { cause: signal.reason }));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    for (const d of initial) this.#sendRaw(d);
    if (!this.#closed) this.#advance();
    this.#flush();
    this.#arm();
    return done.finally(() => {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    });
  }

  /** @internal A datagram from the peer. */
  deliver(datagram: Uint8Array): void {
    if (this.#closed) return;
    // After the handshake only authenticated records count as signs of life
    // (#readRecords): anyone can send junk from the peer's address.
    if (!this.#engine.handshakeDone) this.lastSeen = performance.now();
    this.#stats.datagramsIn++;
    this.#stats.bytesIn += datagram.length;
    try {
      this.#engine.feed(withoutShortRecords(datagram, this.#minRecord));
    } catch {
      return; // a datagram the engine cannot queue is one UDP lost
    }
    if (!this.#engine.handshakeDone) this.#advance();
    if (this.#engine.handshakeDone && !this.#closed) this.#readRecords();
    this.#flush();
    this.#arm();
  }

  #advance(): void {
    let state;
    try {
      state = this.#engine.handshake();
    } catch (e) {
      this.#flush(); // the alert
      this.#fail(e);
      return;
    }
    if (state !== "done" || !this.#handshake) return;
    if (this.#deadline) cancelDeadline(this.#deadline);
    const info = this.#engine.info();
    this.#minRecord = minProtectedRecord(info.cipher);
    this.#info = {
      ...info,
      backend: this.#backend,
      handshakeMs: performance.now() - this.#started,
    };
    const h = this.#handshake;
    this.#handshake = null;
    h.resolve();
  }

  #readRecords(): void {
    this.#readBuf ??= new Uint8Array(READ_BUFFER);
    for (;;) {
      let n: number;
      try {
        n = this.#engine.read(this.#readBuf);
      } catch (e) {
        this.#flush();
        this.#fail(e);
        return;
      }
      if (n === WANT_READ) return;
      this.lastSeen = performance.now();
      if (n === EOF) {
        this.#eof = true;
        this.#endWaiters();
        this.#link.released?.(this);
        return;
      }
      if (n > 0) this.#push(this.#readBuf.slice(0, n));
    }
  }

  #push(d: Uint8Array): void {
    this.#stats.messagesIn++;
    const w = this.#waiters.shift();
    if (w) return w.resolve(d);
    if (this.#queue.length >= QUEUE_LIMIT) {
      this.#stats.dropped++;
      return;
    }
    this.#queue.push(d);
    this.#link.queued?.(this);
  }

  /** Queues `d` for sending; `pooled`, the buffer under it, goes back to the pool once sent. */
  #sendRaw(d: Uint8Array, pooled?: Uint8Array): void {
    this.#sending = this.#sending.then(async () => {
      try {
        await this.#link.send(d);
        this.#stats.datagramsOut++;
        this.#stats.bytesOut += d.length;
      } catch { /* like a datagram lost on the way */ }
      if (pooled) smallBuffers.give(pooled);
    });
  }

  /** Takes every datagram the engine has ready, in order, and queues their sending. */
  #flush(): Promise<void> {
    for (;;) {
      if (this.#closed) break;
      const size = this.#engine.pending();
      if (size === 0) break;
      // Most datagrams fit a pooled buffer, held until the socket has sent it.
      const pooled = size <= SMALL_CHUNK ? smallBuffers.take() : undefined;
      const d = pooled ?? new Uint8Array(size);
      const n = this.#engine.pull(d);
      if (n === 0) {
        if (pooled) smallBuffers.give(pooled);
        break;
      }
      this.#sendRaw(n === d.length ? d : d.subarray(0, n), pooled);
    }
    return this.#sending;
  }

  /** (Re)starts the retransmission timer from what the engine asks for. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    const ms = this.#engine.timeout();
    if (ms === null) return;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, ms));
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#engine.onTimer();
    if (this.#engine.pending() > 0) {
      this.#stats.retransmissions++;
      this.#link.retransmitted?.();
    }
    if (!this.#engine.handshakeDone) this.#advance();
    this.#flush();
    this.#arm();
  }

  #fail(e: unknown): void {
    if (this.#closed) return;
    this.#error = e;
    const h = this.#handshake;
    this.#handshake = null;
    this.#teardown();
    h?.reject(e);
  }

  #endWaiters(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (this.#error && !this.#eof) w.reject(this.#error);
      else w.resolve(null);
    }
  }

  /** Stops timers, forgets the peer and frees the engine once pending sends are out. */
  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#deadline) cancelDeadline(this.#deadline);
    this.#timer = this.#deadline = undefined;
    this.#endWaiters();
    this.#link.released?.(this);
    const sent = this.#sending;
    sent.then(() => {
      this.#engine.free();
      this.#link.detach(this);
    });
  }

  /**
   * Sends one datagram (encrypted as one record). Rejects with
   * `TlsError("PROTOCOL")` when it exceeds {@link maxDatagramSize}.
   */
  async send(datagram: Uint8Array): Promise<void> {
    datagram = bytesArg("send", datagram);
    if (this.#closed) throw new TlsError("CLOSED", "the DTLS connection is closed");
    if (!this.#engine.handshakeDone) {
      throw new TlsError("PROTOCOL", "send before the DTLS handshake completed");
    }
    if (datagram.length === 0) return;
    if (this.#engine.write(datagram) === 0) {
      throw new TlsError("PROTOCOL", "the engine accepted no data");
    }
    this.#stats.messagesOut++;
    await this.#flush();
  }

  /** The next datagram from the peer; null once the peer sent close_notify or the connection closed. */
  receive(): Promise<Uint8Array | null> {
    const d = this.#queue.shift();
    if (d) return Promise.resolve(d);
    if (this.#eof) return Promise.resolve(null);
    if (this.#closed) return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** @internal A queued datagram without waiting (the server's receiveFrom). */
  takeQueued(): Uint8Array | undefined {
    return this.#queue.shift();
  }

  /** Sends close_notify, stops the timers, and releases the socket (client) or the peer slot (server). */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#engine.handshakeDone) {
      try {
        this.#engine.shutdown();
        this.#flush();
      } catch { /* the engine may have failed already */ }
    }
    const h = this.#handshake;
    this.#handshake = null;
    this.#teardown();
    h?.reject(new TlsError("CLOSED", "the DTLS connection was closed during the handshake"));
    await this.#sending;
  }

  /** Closes the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** True once closed (by either side's close, a failure or idle expiry). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The local address. */
  get localAddr(): Addr {
    return this.#link.localAddr;
  }

  /** The peer's address. */
  get remoteAddr(): Addr {
    return this.#link.remoteAddr;
  }

  /** Protocol, cipher, ALPN, peer certificate: available once the handshake completed, also after close. */
  get info(): ConnectionInfo {
    if (!this.#info) {
      throw new TlsError("PROTOCOL", "info is available once the DTLS handshake completed");
    }
    return this.#info;
  }

  /** The largest datagram `send` takes (the data MTU after record overhead), when the backend knows it. */
  get maxDatagramSize(): number | null {
    if (this.#closed || !this.#engine.dataMtu) return null;
    return this.#engine.dataMtu() || null;
  }

  /** A snapshot of this connection's counters. */
  get stats(): DtlsConnStats {
    return { ...this.#stats };
  }

  /** The session, for `session` in a later `connect` (resumption); null if none. */
  exportSession(): Uint8Array | null {
    if (this.#closed) return null;
    return this.#engine.exportSession();
  }

  /** Keying material exporter (RFC 5705), e.g. for SRTP keys. */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    const c = exporterContext(label, length, context);
    if (this.#closed) throw new TlsError("CLOSED", "the DTLS connection is closed");
    return this.#engine.exportKeyingMaterial(label, length, c);
  }

  /** Datagrams from the peer: each chunk is one datagram. Cancelling it closes the connection. */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const d = await this.receive();
        if (d === null) controller.close();
        else controller.enqueue(d);
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  /** Datagrams to the peer: each chunk is sent as one datagram. Closing it closes the connection. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.send(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    return this.#writable;
  }
}
