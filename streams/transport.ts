/**
 * Ciphertext transports: Deno's and Bun's TCP and Unix sockets, and any
 * user {@link Duplex}, behind one small interface. This is the only file in
 * `streams/` that knows which runtime it runs on.
 *
 * @module
 */

import { runtime } from "../backends/registry.ts";
import { addDeadline, cancelDeadline, type Deadline } from "./deadlines.ts";

/**
 * How long a closed socket keeps reading (and dropping) what still arrives
 * while it waits for the peer to end too. Closing a socket with unread bytes in
 * it makes the kernel send RST instead of FIN, and the peer's kernel then drops
 * whatever its application has not read yet: a TLS 1.3 client that never read
 * its session tickets cost the server the tail of an upload. So sockets close
 * as nginx's lingering close does: end our writing side, read until the peer
 * ends, then close; past this the socket closes anyway.
 */
const LINGER_MS = 5_000;

/** A socket address. */
export interface Addr {
  /** Host name or IP address; empty for Unix sockets. */
  hostname: string;
  /** Port number; 0 for Unix sockets. */
  port: number;
  /** The kind of socket. */
  transport: "tcp" | "udp" | "unix";
  /** The socket's file path (Unix sockets only). */
  path?: string;
}

/** A pair of Web Streams carrying bytes. */
export interface Duplex {
  /** The bytes coming in. */
  readable: ReadableStream<Uint8Array>;
  /** The bytes going out. */
  writable: WritableStream<Uint8Array>;
}

/** What a TLS connection needs from the thing under it. */
export interface Transport {
  /** Reads into `into`; null at end of stream. */
  read(into: Uint8Array): Promise<number | null>;
  /**
   * Optional: the next chunk as received (the caller owns it), or null at end of
   * stream. Transports that queue chunks anyway offer it to save a copy.
   */
  readChunk?(): Promise<Uint8Array | null>;
  /**
   * Writes all of `data`; the caller may reuse `data` once this resolves.
   * Returns {@link WRITTEN} itself when everything was taken synchronously.
   */
  write(data: Uint8Array): Promise<void>;
  /** Ends the writing side, keeps reading. */
  closeWrite(): Promise<void>;
  /**
   * Closes both sides; reads end with null. Unless `peerDone` (the peer sent
   * its last byte: its close_notify was read), sockets first end their writing
   * side and drop what still arrives until the peer ends (at most `LINGER_MS`);
   * a read pending meanwhile ends then.
   */
  close(peerDone?: boolean): void;
  /**
   * Closes both sides now, dropping what is still queued: pending reads end
   * with null and pending writes fail, whatever the peer does.
   */
  abort(): void;
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
}

/** Where to connect or listen. */
export type Endpoint = { hostname: string; port: number } | { path: string };

/** Accepts raw transports. */
export interface RawListener {
  readonly addr: Addr;
  /** The next connection, or null once closed. */
  accept(): Promise<Transport | null>;
  close(): void;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const g = globalThis as Any;

const unknownAddr: Addr = { hostname: "", port: 0, transport: "tcp" };

function denoAddr(a: Any): Addr {
  if (a?.transport === "unix") return { hostname: "", port: 0, transport: "unix", path: a.path };
  return { hostname: a?.hostname ?? "", port: a?.port ?? 0, transport: "tcp" };
}

/** Errors a Deno socket gives once it is closed (by us, or ended): not failures to report. */
function isClosedError(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === "BadResource" || name === "Interrupted" || name === "BrokenPipe" ||
    name === "NotConnected";
}

/** A read on a socket closed meanwhile (by us, or ended) ends the stream. */
function closedAsEnd(e: unknown): null {
  if (isClosedError(e)) return null;
  throw e;
}

/** A Deno `Conn` as a transport. */
export class DenoTransport implements Transport {
  readonly #conn: Any;
  #localAddr: Addr | null = null;
  #remoteAddr: Addr | null = null;
  #closed = false;

  constructor(conn: Any) {
    this.#conn = conn;
    try {
      conn.setNoDelay?.(true);
    } catch { /* unix sockets have no Nagle */ }
  }

  // Read when asked: converting Deno's two addresses cost about 1% of a resumed
  // connection's instructions, and most programs never look at them.
  get localAddr(): Addr {
    return this.#localAddr ??= denoAddr(this.#conn.localAddr);
  }

  get remoteAddr(): Addr {
    return this.#remoteAddr ??= denoAddr(this.#conn.remoteAddr);
  }

  // read and write chain on Deno's promise rather than await it in an async
  // function: one promise and no async frame less per call.
  read(into: Uint8Array): Promise<number | null> {
    if (this.#closed) return DONE_NULL;
    return this.#conn.read(into).catch(closedAsEnd);
  }

  write(data: Uint8Array): Promise<void> {
    return this.#conn.write(data).then((n: number) => {
      if (n < data.length) return this.#writeRest(data, n);
    });
  }

  async #writeRest(data: Uint8Array, off: number): Promise<void> {
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  async closeWrite(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch (e) {
      if (!isClosedError(e) && (e as Error)?.name !== "NotConnected") throw e;
    }
  }

  close(peerDone = false): void {
    if (this.#closed) return;
    this.#closed = true;
    if (peerDone) this.#closeNow();
    else void this.#linger();
  }

  /** See LINGER_MS. A read still pending reads first; this one waits its turn. */
  async #linger(): Promise<void> {
    const stop = addDeadline(LINGER_MS, () => this.#closeNow(), false);
    try {
      // Not awaited: the read below need not wait for the shutdown op's turn.
      this.closeWrite().catch(() => {}); // tolerates a side already ended
      while ((await this.#conn.read(lingerScratch)) !== null) { /* dropped */ }
    } catch { /* reset, or closed by abort() or the deadline */ }
    cancelDeadline(stop);
    this.#closeNow();
  }

  #closeNow(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Deno's close() ends pending reads and writes (they reject, as interrupted). */
  abort(): void {
    this.#closed = true;
    this.#closeNow();
  }
}

/** Where lingering sockets drop what they read; nobody looks at it. */
const lingerScratch = new Uint8Array(64 * 1024);

/** What `Transport.write` returns when it took all the data synchronously. */
export const WRITTEN: Promise<void> = Promise.resolve();
const DONE_NULL: Promise<null> = Promise.resolve(null);

/** A Bun socket as a transport: Bun pushes data to callbacks, we queue it. */
export class BunTransport implements Transport {
  #socket: Any = null;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #eof = false;
  /** The peer ended its writing side (FIN): Bun has handed us all it sent. */
  #peerEnded = false;
  #closed = false;
  /** Set while a closed socket lingers (see LINGER_MS). */
  #linger: Deadline | null = null;
  #error: unknown = null;
  /** The socket failed (a reset) before we closed it: reads end with `#error`, not null. */
  #failed = false;
  #readWaiter: (() => void) | null = null;
  #drainWaiter: (() => void) | null = null;
  #paused = false;
  localAddr: Addr = unknownAddr;
  remoteAddr: Addr = unknownAddr;

  /** Socket handlers that feed this transport (Bun calls them with the socket). */
  static readonly handlers = {
    // Plain Uint8Arrays: Bun's default Buffer costs a prototype change per chunk.
    binaryType: "uint8array",
    open(s: Any) {
      (s.data as BunTransport)?.attach(s);
    },
    data(s: Any, d: Uint8Array) {
      (s.data as BunTransport)?.onData(d);
    },
    drain(s: Any) {
      (s.data as BunTransport)?.onDrain();
    },
    end(s: Any) {
      (s.data as BunTransport)?.onEnd();
    },
    close(s: Any, e?: unknown) {
      (s.data as BunTransport)?.onClose(e ?? null);
    },
    error(s: Any, e: unknown) {
      (s.data as BunTransport)?.onClose(e);
    },
  };

  attach(s: Any): void {
    this.#socket = s;
    try {
      s.setNoDelay?.(true);
    } catch { /* unix */ }
    if (s.unix !== undefined && typeof s.unix === "string") {
      this.localAddr = { hostname: "", port: 0, transport: "unix", path: s.unix };
      this.remoteAddr = this.localAddr;
    } else {
      this.localAddr = { hostname: s.localAddress ?? "", port: s.localPort ?? 0, transport: "tcp" };
      this.remoteAddr = {
        hostname: s.remoteAddress ?? "",
        port: s.remotePort ?? 0,
        transport: "tcp",
      };
    }
  }

  onData(d: Uint8Array): void {
    if (this.#closed) return; // lingering: dropped
    this.#chunks.push(d);
    this.#queued += d.length;
    if (this.#queued > 1 << 22 && !this.#paused && typeof this.#socket?.pause === "function") {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#wake();
  }

  onDrain(): void {
    const w = this.#drainWaiter;
    this.#drainWaiter = null;
    w?.();
  }

  /** The peer ended its writing side (FIN): reads end, writes go on. */
  onEnd(): void {
    this.#eof = true;
    this.#peerEnded = true;
    this.#wake();
    if (this.#linger) this.#endNow();
  }

  /** The socket is gone: reads end and writes fail. */
  onClose(e: unknown): void {
    if (e && !this.#error) {
      this.#error = e;
      this.#failed = !this.#closed;
    }
    this.#eof = true;
    this.#closed = true;
    this.#peerEnded = true;
    if (this.#linger) cancelDeadline(this.#linger);
    this.#wake();
    this.onDrain();
  }

  #wake(): void {
    const w = this.#readWaiter;
    this.#readWaiter = null;
    w?.();
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#eof) return this.#end();
      await new Promise<void>((r) => (this.#readWaiter = r));
    }
    let n = 0;
    while (n < into.length && this.#chunks.length) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, into.length - n);
      into.set(take === c.length ? c : c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#dequeued(n);
    return n;
  }

  readChunk(): Promise<Uint8Array | null> {
    if (this.#chunks.length) return Promise.resolve(this.#shiftChunk());
    if (this.#eof) return this.#failed ? Promise.reject(this.#error) : DONE_NULL;
    // Woken by new data or by the end of the stream.
    return new Promise((resolve, reject) => {
      this.#readWaiter = () => {
        if (this.#chunks.length) resolve(this.#shiftChunk());
        else if (this.#failed) reject(this.#error);
        else resolve(null);
      };
    });
  }

  /** What a read gets once everything queued was read: null, or the socket's failure. */
  #end(): null {
    if (this.#failed) throw this.#error;
    return null;
  }

  #shiftChunk(): Uint8Array {
    const c = this.#chunks.shift()!;
    this.#dequeued(c.length);
    return c;
  }

  /** `n` queued bytes were consumed: resume a paused socket once the queue is short. */
  #dequeued(n: number): void {
    this.#queued -= n;
    if (this.#paused && this.#queued < 1 << 20) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  write(data: Uint8Array): Promise<void> {
    // Bun's socket.write is synchronous and usually takes everything: then no promise to build.
    const n = this.#closed ? -1 : this.#socket.write(data);
    if (n === data.length) return WRITTEN;
    return n < 0 ? Promise.reject(this.#closedError()) : this.#writeRest(data, n);
  }

  async #writeRest(data: Uint8Array, off: number): Promise<void> {
    while (off < data.length) {
      await new Promise<void>((r) => (this.#drainWaiter = r));
      const n = this.#closed ? -1 : this.#socket.write(data.subarray(off));
      if (n < 0) throw this.#closedError();
      off += n;
    }
  }

  #closedError(): Error {
    return new Error("socket closed", { cause: this.#error ?? undefined });
  }

  closeWrite(): Promise<void> {
    try {
      this.#socket?.shutdown(); // Bun: shutdown(true) would end the *reading* side
    } catch { /* closed */ }
    return WRITTEN;
  }

  /** See LINGER_MS: shut our side, drop what still arrives, and close when the peer ends. */
  close(peerDone = false): void {
    if (!this.#stop()) return;
    if (peerDone || this.#peerEnded) return this.#endNow();
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
    try {
      this.#socket.shutdown(); // Bun closes the socket once the peer ends too
    } catch { /* closed */ }
    this.#linger = addDeadline(LINGER_MS, () => this.abort(), false);
  }

  abort(): void {
    this.#stop();
    if (!this.#socket) return;
    this.#endNow(); // a FIN rather than terminate()'s RST when nothing is left unread
    try {
      this.#socket.terminate(); // end() alone would wait to send what Bun still buffers
    } catch { /* closed */ }
  }

  /** Ends reads and writes here; false when already stopped or never attached. */
  #stop(): boolean {
    if (this.#closed) return false;
    this.#eof = true;
    this.#closed = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#wake();
    this.onDrain(); // a write waiting for room fails now (closed) rather than with the socket
    return this.#socket !== null;
  }

  #endNow(): void {
    try {
      this.#socket.end();
    } catch { /* closed */ }
  }
}

/** A user's Web Streams pair as a transport. */
export class DuplexTransport implements Transport {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #leftover: Uint8Array | null = null;
  #closed = false;
  /** Set when a write of ours failed (see #sinkFailed): reads fail with its error from then on. */
  #sinkFailure: { error: unknown } | null = null;
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;

  constructor(d: Duplex, localAddr = unknownAddr, remoteAddr = unknownAddr) {
    this.#reader = d.readable.getReader();
    this.#writer = d.writable.getWriter();
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
  }

  /** The end of reading: null, or the failure of a write of ours (see #sinkFailed). */
  #ended(): null {
    const failure = this.#sinkFailure;
    if (failure && !this.#closed) throw failure.error;
    return null;
  }

  /**
   * A write of ours failed: the peer never gets those bytes, so an answer to
   * them will not come. End the reads too, as a reset socket does (a handshake
   * would wait forever). Only our failed writes count: a peer that cancelled
   * its readable after reading to our end errors our sink too, yet what it
   * sent before is still ours to read.
   */
  #sinkFailed(error: unknown): void {
    if (this.#closed || this.#sinkFailure) return;
    this.#sinkFailure = { error };
    this.#reader.cancel(error).catch(() => {});
  }

  async read(into: Uint8Array): Promise<number | null> {
    let chunk = this.#leftover;
    this.#leftover = null;
    while (!chunk || chunk.length === 0) {
      if (this.#closed || this.#sinkFailure) return this.#ended();
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.#reader.read();
      } catch (e) {
        if (this.#closed) return null;
        throw e;
      }
      if (r.done) return this.#ended();
      chunk = r.value;
    }
    const n = Math.min(chunk.length, into.length);
    into.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#leftover = chunk.subarray(n);
    return n;
  }

  async write(data: Uint8Array): Promise<void> {
    // Wait for room, not for the peer to consume the chunk: a zero-buffer pipe
    // (a TransformStream pair) would otherwise deadlock two writers. A failed
    // write surfaces through `ready` on the next call.
    try {
      await this.#writer.ready;
    } catch (e) {
      this.#sinkFailed(e);
      throw e;
    }
    // The stream keeps the chunk: give it its own.
    this.#writer.write(data.slice()).catch((e) => this.#sinkFailed(e));
  }

  /** Like write(), does not wait for the peer to consume what is queued (a deadlock, as above). */
  closeWrite(): Promise<void> {
    this.#writer.close().catch(() => {}); // a sink that cannot half-close: reads go on
    return WRITTEN;
  }

  close(peerDone = false): void {
    if (this.#closed) return;
    this.#closed = true;
    // close(), not abort(): queued chunks (our close_notify) still reach the peer.
    this.#writer.close().catch(() => {});
    if (peerDone) this.#reader.cancel().catch(() => {});
    else void this.#linger();
  }

  /**
   * Reads to the end (at most LINGER_MS) rather than cancelling at once: over a
   * TransformStream pair, cancelling our readable errors the peer's writable,
   * and the peer's pending writes (a TLS 1.3 server's tickets) would fail.
   */
  async #linger(): Promise<void> {
    const reader = this.#reader;
    const stop = addDeadline(LINGER_MS, () => reader.cancel().catch(() => {}), false);
    try {
      while (!(await reader.read()).done) { /* dropped */ }
    } catch { /* the source failed */ }
    cancelDeadline(stop);
    reader.cancel().catch(() => {}); // tells a source that has not ended that we are done
  }

  abort(): void {
    this.#closed = true;
    this.#reader.cancel().catch(() => {});
    this.#writer.abort().catch(() => {}); // a write waiting for room (`ready`) fails now
  }
}

/** True when `x` looks like a Deno `Conn`. */
function isDenoConn(x: Any): boolean {
  return runtime === "deno" && typeof x?.read === "function" && typeof x?.write === "function" &&
    typeof x?.closeWrite === "function";
}

/** True when `x` looks like a Bun socket. */
function isBunSocket(x: Any): boolean {
  return runtime === "bun" && typeof x?.reload === "function" && typeof x?.write === "function";
}

/** A transport over a plaintext connection already in use (STARTTLS), or a Duplex. */
export function transportOver(plain: unknown): Transport {
  const x = plain as Any;
  if (isDenoConn(x)) return new DenoTransport(x);
  if (isBunSocket(x)) {
    const t = new BunTransport();
    x.data = t;
    x.reload({ socket: BunTransport.handlers });
    t.attach(x);
    return t;
  }
  if (x?.readable instanceof ReadableStream && x?.writable instanceof WritableStream) {
    return new DuplexTransport(x);
  }
  throw new TypeError("expected a Duplex ({ readable, writable }), a Deno.Conn or a Bun socket");
}

/** Opens a TCP or Unix connection. */
export async function connectTransport(to: Endpoint): Promise<Transport> {
  if (runtime === "bun") {
    const t = new BunTransport();
    const where = "path" in to ? { unix: to.path } : { hostname: to.hostname, port: to.port };
    // allowHalfOpen: the peer's FIN must not close our writing side (TLS half-close).
    // The `open` handler attaches the socket before this resolves.
    await g.Bun.connect({
      ...where,
      data: t,
      allowHalfOpen: true,
      socket: BunTransport.handlers,
    });
    if ("path" in to) {
      t.localAddr = t.remoteAddr = { hostname: "", port: 0, transport: "unix", path: to.path };
    }
    return t;
  }
  const conn = "path" in to
    ? await g.Deno.connect({ transport: "unix", path: to.path })
    : await g.Deno.connect({ hostname: to.hostname, port: to.port });
  return new DenoTransport(conn);
}

/** Listens for TCP or Unix connections. */
export function listenTransport(at: Endpoint): RawListener {
  if (runtime === "bun") return bunListener(at);
  const l = "path" in at
    ? g.Deno.listen({ transport: "unix", path: at.path })
    : g.Deno.listen({ hostname: at.hostname, port: at.port });
  let closed = false;
  return {
    addr: denoAddr(l.addr),
    async accept() {
      if (closed) return null;
      try {
        return new DenoTransport(await l.accept());
      } catch (e) {
        if (closed || isClosedError(e)) return null;
        throw e;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        l.close();
      } catch { /* closed */ }
    },
  };
}

function bunListener(at: Endpoint): RawListener {
  const queue: Transport[] = [];
  let waiter: ((t: Transport | null) => void) | null = null;
  let closed = false;
  const handlers = {
    ...BunTransport.handlers,
    open(s: Any) {
      const t = new BunTransport();
      s.data = t;
      t.attach(s);
      if ("path" in at) {
        t.localAddr = t.remoteAddr = { hostname: "", port: 0, transport: "unix", path: at.path };
      }
      if (waiter) {
        const w = waiter;
        waiter = null;
        w(t);
      } else queue.push(t);
    },
  };
  const where = "path" in at ? { unix: at.path } : { hostname: at.hostname, port: at.port };
  const l = g.Bun.listen({ ...where, allowHalfOpen: true, socket: handlers });
  const addr: Addr = "path" in at
    ? { hostname: "", port: 0, transport: "unix", path: at.path }
    : { hostname: l.hostname ?? at.hostname, port: l.port, transport: "tcp" };
  return {
    addr,
    accept() {
      if (queue.length) return Promise.resolve(queue.shift()!);
      if (closed) return Promise.resolve(null);
      return new Promise((r) => (waiter = r));
    },
    close() {
      if (closed) return;
      closed = true;
      l.stop(false);
      for (const t of queue.splice(0)) t.close();
      const w = waiter;
      waiter = null;
      w?.(null);
    },
  };
}
