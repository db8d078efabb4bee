/**
 * The DTLS server: one UDP socket, many peers. A ClientHello from an unknown
 * address is answered statelessly with a HelloVerifyRequest (the engine used
 * to build it is freed at once); only a ClientHello with a valid cookie gets
 * per-peer state. Established peers are yielded by the async iterator, and
 * their datagrams also reach `receiveFrom`.
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import type { TlsContext } from "../streams/context.ts";
import {
  handshakeTimeoutOf,
  optInt,
  portOf,
  type ServerContextOptions,
} from "../streams/options.ts";
import type { Addr } from "../streams/transport.ts";
import { type DatagramLink, DEFAULT_DTLS_HANDSHAKE_TIMEOUT, DtlsConn } from "./conn.ts";
import { dtlsContext } from "./context.ts";
import {
  bindUdp,
  bindUdpSync,
  normalizeHost,
  peerKey,
  type UdpPeer,
  type UdpSocket,
} from "./udp.ts";

/**
 * Options of {@link listen}: the TLS server options that apply to DTLS 1.2
 * (documented on `ServerContextOptions`), plus the UDP endpoint, cookies and peer limits.
 */
export interface DtlsListenOptions extends
  Pick<
    ServerContextOptions,
    | "cert"
    | "key"
    | "certFile"
    | "keyFile"
    | "keyPassword"
    | "clientAuth"
    | "caCerts"
    | "caFile"
    | "alpnProtocols"
    | "ciphers"
    | "backend"
    | "sessionTimeout"
    | "tickets"
    | "keylog"
  > {
  /** Address to bind (default "0.0.0.0"). */
  hostname?: string;
  /** UDP port; 0 picks a free one (see `addr`). */
  port: number;
  /** Path MTU in bytes (default 1200). */
  mtu?: number;
  /**
   * HMAC key for HelloVerifyRequest cookies (≥ 16 bytes; default random per
   * server). Share it between servers behind one address. Cookie exchange is always on.
   */
  cookieSecret?: string | Uint8Array;
  /** A peer not heard from for this many ms is dropped (default 60 000). */
  idleTimeout?: number;
  /** Handshake deadline per peer in ms (default 30 000). */
  handshakeTimeout?: number;
  /** Handshakes in progress at once; further ClientHellos are dropped (default 256). */
  maxHandshakes?: number;
  /** Called when a peer's handshake fails; the server goes on. */
  onError?: (error: unknown, remoteAddr: Addr) => void;
  /**
   * A DTLS server context from `createContext({ server: true, datagram: true, ... })`;
   * its settings stand in for the context options here. The server does not free it.
   */
  context?: TlsContext;
}

/** Counters of a DTLS server (plain numbers; read `server.stats` for a snapshot). */
export interface DtlsServerStats {
  /** Handshakes completed. */
  handshakesDone: number;
  /** Handshakes that failed (bad certificate, alert, timeout). */
  handshakesFailed: number;
  /** HelloVerifyRequests sent (ClientHellos without a valid cookie). */
  cookiesSent: number;
  /** ClientHellos whose cookie verified (each started a handshake). */
  cookiesVerified: number;
  /** Datagrams received, of any kind. */
  datagramsIn: number;
  /** Datagrams sent. */
  datagramsOut: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Flights resent by retransmission timers. */
  retransmissions: number;
  /** Datagrams from unknown addresses that were not a usable ClientHello. */
  junkDropped: number;
  /** ClientHellos dropped because `maxHandshakes` handshakes were running. */
  handshakesRefused: number;
  /** Peers dropped for idleness. */
  peersExpired: number;
  /** Peers with an established session now. */
  activePeers: number;
  /** Handshakes in progress now. */
  activeHandshakes: number;
}

interface Peer {
  conn: DtlsConn;
  addr: Addr;
  established: boolean;
}

/** A ClientHello in a plaintext handshake record (DTLS 1.0/1.2, epoch 0). */
function looksLikeClientHello(d: Uint8Array): boolean {
  return d.length >= 13 + 12 && d[0] === 22 && d[1] === 0xfe && d[3] === 0 && d[4] === 0 &&
    d[13] === 1;
}

/** Every record of the datagram is a HelloVerifyRequest. */
function isHelloVerifyRequest(d: Uint8Array): boolean {
  return d.length >= 13 + 12 && d[0] === 22 && d[13] === 3;
}

const HELD_ARRIVALS = 4096;

/**
 * A DTLS server on one UDP socket. Iterate it for established peers (each a
 * {@link DtlsConn}), or use `receiveFrom`/`sendTo` to treat it like a UDP socket
 * whose datagrams are encrypted per peer.
 *
 * @example
 * ```ts
 * import * as dtls from "@jsec/tls/dtls";
 * const server = dtls.listen({ port: 4433, cert, key });
 * for await (const peer of server) {
 *   (async () => {
 *     for (let d; (d = await peer.receive()) !== null;) await peer.send(d); // echo
 *   })();
 * }
 * ```
 */
export class DtlsListener implements AsyncIterable<DtlsConn>, AsyncDisposable {
  readonly #context: TlsContext;
  /** The server built its context from the options (not given one): it frees it. */
  readonly #ownsContext: boolean;
  readonly #peers = new Map<string, Peer>();
  readonly #accepted: DtlsConn[] = [];
  #acceptWaiters: ((c: DtlsConn | null) => void)[] = [];
  #arrivals: DtlsConn[] = [];
  #arrivalWaiters: (() => void)[] = [];
  #socket: UdpSocket | null = null;
  #addr: Addr | null = null;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #idleTimeout: number;
  readonly #handshakeTimeout: number;
  readonly #maxHandshakes: number;
  readonly #onError?: (error: unknown, remoteAddr: Addr) => void;
  readonly #stats: DtlsServerStats = {
    handshakesDone: 0,
    handshakesFailed: 0,
    cookiesSent: 0,
    cookiesVerified: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmissions: 0,
    junkDropped: 0,
    handshakesRefused: 0,
    peersExpired: 0,
    activePeers: 0,
    activeHandshakes: 0,
  };
  /** Resolves once the socket is bound (at once on Deno; Bun binds asynchronously). */
  readonly ready: Promise<void>;

  /** @internal Use {@link listen}. */
  constructor(o: Record<string, unknown>) {
    const hostname = o.hostname ?? "0.0.0.0";
    if (typeof hostname !== "string" || !hostname) {
      invalidOption("hostname", hostname, "an address to bind");
    }
    const port = portOf(o.port);
    this.#idleTimeout = optInt(o, "idleTimeout", 0x7fffffff) ?? 60_000;
    if (this.#idleTimeout < 1) {
      invalidOption("idleTimeout", o.idleTimeout, "a positive number of ms");
    }
    this.#handshakeTimeout = handshakeTimeoutOf(o, DEFAULT_DTLS_HANDSHAKE_TIMEOUT)!;
    this.#maxHandshakes = optInt(o, "maxHandshakes", 1 << 20) ?? 256;
    if (this.#maxHandshakes < 1) invalidOption("maxHandshakes", o.maxHandshakes, "at least 1");
    if (o.onError !== undefined && typeof o.onError !== "function") {
      invalidOption("onError", o.onError, "a function");
    }
    this.#onError = o.onError as DtlsListenOptions["onError"];
    ({ context: this.#context, owned: this.#ownsContext } = dtlsContext(o, "server"));
    const onDatagram = (d: Uint8Array, from: UdpPeer) => this.#onDatagram(d, from);
    try {
      const sync = bindUdpSync(hostname, port, onDatagram);
      if (sync) {
        this.#bound(sync);
        this.ready = Promise.resolve();
      } else {
        // Bun binds UDP asynchronously. So that `addr` is known at once, as on
        // Deno, port 0 becomes a random ephemeral port picked here (a taken one
        // is replaced). Datagrams sent before the bind completes are lost, and
        // DTLS retransmits them.
        const planned = port === 0 ? randomEphemeralPort() : port;
        this.#addr = { hostname, port: planned, transport: "udp" };
        this.ready = this.#bindRetrying(hostname, planned, port === 0, onDatagram);
        this.ready.catch(() => this.#releaseContext());
      }
    } catch (e) {
      this.#releaseContext();
      throw e;
    }
  }

  async #bindRetrying(
    hostname: string,
    port: number,
    mayMove: boolean,
    onDatagram: (d: Uint8Array, from: UdpPeer) => void,
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        this.#bound(await bindUdp(hostname, port, onDatagram));
        return;
      } catch (e) {
        if (!mayMove || attempt === 16) throw e;
        port = randomEphemeralPort();
        this.#addr = { hostname, port, transport: "udp" };
      }
    }
  }

  #bound(socket: UdpSocket): void {
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#addr = socket.addr;
    const every = Math.min(Math.max(Math.floor(this.#idleTimeout / 4), 10), 5_000);
    this.#sweeper = setInterval(() => this.#sweep(), every);
  }

  /** The address (on Bun with port 0: the port chosen; `await server.ready` confirms the bind). */
  get addr(): Addr {
    return this.#addr!;
  }

  /** A snapshot of the server's counters. */
  get stats(): DtlsServerStats {
    return { ...this.#stats };
  }

  #onDatagram(d: Uint8Array, from: UdpPeer): void {
    if (this.#closed) return;
    const s = this.#stats;
    s.datagramsIn++;
    s.bytesIn += d.length;
    const key = peerKey(from);
    const peer = this.#peers.get(key);
    // A ClientHello from an established peer's address is that client restarted on
    // the same port, or a spoofer: it goes through the cookie exchange like a new
    // client, and only one with a valid cookie (which an off-path spoofer never
    // sees) replaces the old association.
    if (peer && !(peer.established && looksLikeClientHello(d))) return peer.conn.deliver(d);
    if (!looksLikeClientHello(d)) {
      s.junkDropped++;
      return;
    }
    if (s.activeHandshakes >= this.#maxHandshakes) {
      s.handshakesRefused++; // the client retransmits: it may find room then
      return;
    }
    const addr: Addr = {
      hostname: normalizeHost(from.hostname),
      port: from.port,
      transport: "udp",
    };
    const engine = this.#context.newEngine({ transportId: new TextEncoder().encode(key) });
    const out: Uint8Array[] = [];
    try {
      engine.feed(d);
      engine.handshake();
      for (let n; (n = engine.pending()) > 0;) {
        const buf = new Uint8Array(n);
        out.push(buf.subarray(0, engine.pull(buf)));
      }
    } catch {
      engine.free();
      s.junkDropped++;
      return;
    }
    if (out.length === 0 || out.every(isHelloVerifyRequest)) {
      // No valid cookie yet: answer (or drop) and keep nothing.
      engine.free();
      if (out.length === 0) s.junkDropped++;
      else s.cookiesSent++;
      for (const o of out) this.#send(o, addr).catch(() => {});
      return;
    }
    s.cookiesVerified++;
    const old = this.#peers.get(key);
    if (old) {
      this.#forget(key, old.conn);
      old.conn.close().catch(() => {}); // close_notify to a client that has moved on
    }
    this.#startPeer(
      key,
      addr,
      new DtlsConn(engine, this.#link(key, addr), this.#context.backend),
      out,
    );
  }

  #startPeer(key: string, addr: Addr, conn: DtlsConn, initial: Uint8Array[]): void {
    const s = this.#stats;
    const peer: Peer = { conn, addr, established: false };
    this.#peers.set(key, peer);
    s.activeHandshakes++;
    conn.start(initial, undefined, this.#handshakeTimeout).then(() => {
      s.activeHandshakes--;
      s.handshakesDone++;
      s.activePeers++;
      peer.established = true;
      const w = this.#acceptWaiters.shift();
      if (w) w(conn);
      else this.#accepted.push(conn);
    }, (e) => {
      s.activeHandshakes--;
      if (this.#closed) return;
      s.handshakesFailed++;
      try {
        this.#onError?.(e, addr);
      } catch { /* a throwing handler must not stop the server */ }
    });
  }

  #send(d: Uint8Array, to: UdpPeer): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new TlsError("CLOSED", "the DTLS server is closed"));
    this.#stats.datagramsOut++;
    this.#stats.bytesOut += d.length;
    return socket.send(d, to);
  }

  #link(key: string, addr: Addr): DatagramLink {
    return {
      localAddr: this.#addr!,
      remoteAddr: addr,
      send: (d) => this.#send(d, addr),
      detach: (conn) => this.#forget(key, conn),
      released: (conn) => this.#forget(key, conn),
      retransmitted: () => void this.#stats.retransmissions++,
      queued: (conn) => {
        if (this.#arrivals.length >= HELD_ARRIVALS) this.#arrivals.shift();
        this.#arrivals.push(conn);
        const w = this.#arrivalWaiters.shift();
        w?.();
      },
    };
  }

  /** The address is free for a new handshake; the connection object lives on until closed. */
  #forget(key: string, conn: DtlsConn): void {
    const peer = this.#peers.get(key);
    if (!peer || peer.conn !== conn) return;
    this.#peers.delete(key);
    if (peer.established) this.#stats.activePeers--;
    const i = this.#accepted.indexOf(conn);
    if (i >= 0) this.#accepted.splice(i, 1);
  }

  #sweep(): void {
    const now = performance.now();
    for (const peer of [...this.#peers.values()]) {
      if (now - peer.conn.lastSeen > this.#idleTimeout) {
        this.#stats.peersExpired++;
        peer.conn.close(); // close_notify in case it is still there; frees the slot
      }
    }
  }

  /** The next established peer, or null once the server is closed. */
  async accept(): Promise<DtlsConn | null> {
    await this.ready;
    const c = this.#accepted.shift();
    if (c) return c;
    if (this.#closed) return null;
    return new Promise((resolve) => this.#acceptWaiters.push(resolve));
  }

  /** Yields peers after their handshake. */
  async *[Symbol.asyncIterator](): AsyncIterator<DtlsConn> {
    for (;;) {
      const c = await this.accept();
      if (c === null) return;
      yield c;
    }
  }

  /**
   * The next application datagram from any established peer, with the
   * peer's address. Rejects with `TlsError("CLOSED")` once the server is closed.
   * Peers' datagrams go to whichever asks first: `receiveFrom` or the peer's own `receive`.
   */
  async receiveFrom(): Promise<{ data: Uint8Array; addr: Addr }> {
    await this.ready;
    for (;;) {
      while (this.#arrivals.length) {
        const conn = this.#arrivals.shift()!;
        const data = conn.takeQueued();
        if (data) return { data, addr: conn.remoteAddr };
      }
      if (this.#closed) throw new TlsError("CLOSED", "the DTLS server is closed");
      await new Promise<void>((resolve) => this.#arrivalWaiters.push(resolve));
    }
  }

  /** Sends one datagram to an established peer; `TlsError("CLOSED")` if there is none at `addr`. */
  sendTo(addr: { hostname: string; port: number }, data: Uint8Array): Promise<void> {
    if (typeof addr?.hostname !== "string" || typeof addr.port !== "number") {
      return Promise.reject(
        new TypeError(`sendTo: addr must be { hostname: string, port: number }, got ${addr}`),
      );
    }
    const peer = this.#peers.get(peerKey(addr));
    if (!peer || !peer.established) {
      return Promise.reject(
        new TlsError("CLOSED", `no DTLS session with ${addr?.hostname}:${addr?.port}`),
      );
    }
    return peer.conn.send(data);
  }

  /** Sends close_notify to every peer, then closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all([...this.#peers.values()].map((p) => p.conn.close()));
    for (const w of this.#acceptWaiters.splice(0)) w(null);
    for (const w of this.#arrivalWaiters.splice(0)) w();
    this.#socket?.close();
    this.#socket = null;
    this.#releaseContext();
  }

  /** Frees the context if the server built it; a given one stays its owner's. */
  #releaseContext(): void {
    if (this.#ownsContext) this.#context.free();
  }

  /** Closes the server (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a DTLS 1.2 server on a UDP port. Cookie exchange (HelloVerifyRequest)
 * is always on. Returns at once with `server.addr` set; `await server.ready`
 * to know the socket is bound (on Deno it already is; Bun binds UDP asynchronously).
 *
 * @example
 * ```ts
 * import * as dtls from "@jsec/tls/dtls";
 * const server = dtls.listen({ port: 0, cert, key });
 * console.log("DTLS on", server.addr.port);
 * const { data, addr } = await server.receiveFrom();
 * await server.sendTo(addr, data);
 * await server.close();
 * ```
 */
export function listen(options: DtlsListenOptions): DtlsListener {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  return new DtlsListener(options as unknown as Record<string, unknown>);
}

/** A port from the IANA dynamic range (49152–65535). */
function randomEphemeralPort(): number {
  return 49152 + Math.floor(Math.random() * (65536 - 49152));
}
