/**
 * `connect`, `listen`, `serve`, `upgrade` and `wrap`: TLS over sockets and
 * over any byte stream.
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import { getBackend } from "../backends/registry.ts";
import { TlsConn } from "./conn.ts";
import { resolveContext, sideOf, type TlsContext } from "./context.ts";
import { isIpLiteral } from "../backends/backend.ts";
import { addDeadline, cancelDeadline } from "./deadlines.ts";
import {
  checkServerName,
  type ClientContextOptions,
  handshakeTimeoutOf,
  portOf,
  type ServerContextOptions,
  signalOf,
} from "./options.ts";
import {
  type Addr,
  connectTransport,
  type Duplex,
  type Endpoint,
  listenTransport,
  type RawListener,
  type Transport,
  transportOver,
} from "./transport.ts";

/** Per-connection client options (besides the context's). */
export interface ClientConnOptions extends ClientContextOptions {
  /** SNI and the name to verify (default: hostname; no SNI is sent for IP addresses). */
  serverName?: string;
  /** A session from `conn.exportSession()` to resume. */
  session?: Uint8Array;
  /**
   * A context from `createContext()` to use instead of the context options.
   * Without it, calls with the same options share a context built from them.
   */
  context?: TlsContext;
  /** Aborts the handshake. */
  signal?: AbortSignal;
}

/** Options of {@link connect}. */
export type ConnectOptions =
  & ClientConnOptions
  & ({ hostname?: string; port: number } | { path: string; transport: "unix" });

/** Options of {@link listen}. */
export type ListenOptions =
  & ServerContextOptions
  & { context?: TlsContext; onError?: (error: unknown, remoteAddr: Addr) => void }
  & ({ hostname?: string; port: number } | { path: string; transport: "unix" });

function endpointOf(o: Record<string, unknown>, dfltHost: string): Endpoint {
  if (o.transport === "unix" || o.path !== undefined) {
    if (typeof o.path !== "string" || !o.path) invalidOption("path", o.path, "a Unix socket path");
    if (o.transport !== undefined && o.transport !== "unix") {
      invalidOption("transport", o.transport, '"unix" with path');
    }
    return { path: o.path };
  }
  if (o.hostname !== undefined && (typeof o.hostname !== "string" || !o.hostname)) {
    invalidOption("hostname", o.hostname, "a host name or address");
  }
  return { hostname: (o.hostname as string | undefined) ?? dfltHost, port: portOf(o.port) };
}

/** Starts a client TLS connection over `transport`; resolves after the handshake. */
async function clientOver(
  transport: Transport,
  options: Record<string, unknown>,
  dfltName?: string,
): Promise<TlsConn> {
  let ctx;
  try {
    ctx = resolveContext(options, "client", false);
  } catch (e) {
    transport.close();
    throw e;
  }
  const { context, owned } = ctx;
  try {
    const name = options.serverName ?? dfltName;
    if (name !== undefined) checkServerName(name);
    if (options.session !== undefined && !(options.session instanceof Uint8Array)) {
      invalidOption("session", options.session, "a Uint8Array from exportSession()");
    }
    if (context.config.verify && name === undefined) {
      throw new TlsError(
        "INVALID_OPTION",
        "invalid option serverName: needed to verify the server (or set verify: false)",
        {
          option: "serverName",
        },
      );
    }
    const requestOcsp = options.requestOcsp;
    if (requestOcsp !== undefined && typeof requestOcsp !== "boolean") {
      invalidOption("requestOcsp", requestOcsp, "true or false");
    }
    if (requestOcsp && !getBackend(context.backend).capabilities.ocsp) {
      throw new TlsError(
        "UNSUPPORTED",
        `requestOcsp is not supported by the ${context.backend} backend`,
        {
          option: "requestOcsp",
        },
      );
    }
    const engine = context.newEngine({
      serverName: name && !isIpLiteral(name as string) ? name as string : null,
      verifyName: (name as string | undefined) ?? null,
      session: options.session as Uint8Array | undefined,
      requestOcsp: requestOcsp === true, // per connection, also with a shared context
    });
    const conn = new TlsConn(engine, transport, context.backend);
    await conn.handshake(signalOf(options), handshakeTimeoutOf(options));
    return conn;
  } catch (e) {
    transport.close();
    throw e;
  } finally {
    if (owned) context.free(); // the engine keeps what it needs alive
  }
}

/**
 * Connects to a TLS server and completes the handshake. The server's
 * certificate and name are verified against the system store by default.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * await using conn = await connect({ hostname: "localhost", port: 8443, caFile: "ca.pem" });
 * console.log(conn.info.protocol, conn.info.cipher);
 * ```
 */
export async function connect(options: ConnectOptions): Promise<TlsConn> {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options as unknown as Record<string, unknown>;
  const at = endpointOf(o, "localhost");
  const signal = signalOf(o);
  if (signal?.aborted) {
    throw new TlsError("ABORTED", "connect aborted", { cause: signal.reason });
  }
  let transport: Transport;
  try {
    transport = await connectTransport(at);
  } catch (e) {
    throw new TlsError(
      "CLOSED",
      `could not connect to ${"path" in at ? at.path : `${at.hostname}:${at.port}`}: ${
        (e as Error).message
      }`,
      {
        cause: e,
      },
    );
  }
  return clientOver(transport, o, "path" in at ? undefined : at.hostname);
}

/**
 * STARTTLS: turns a plaintext connection already in use (a `Duplex`, a
 * `Deno.Conn` or a Bun socket) into a TLS client connection.
 *
 * @example
 * ```ts
 * import { upgrade } from "@jsec/tls";
 * const plain = await Deno.connect({ hostname: "localhost", port: 2525 });
 * // ... EHLO / STARTTLS in plaintext ...
 * const tls = await upgrade(plain, { serverName: "localhost", caFile: "ca.pem" });
 * ```
 */
export async function upgrade(plain: unknown, options: ClientConnOptions = {}): Promise<TlsConn> {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  return await clientOver(transportOver(plain), options as Record<string, unknown>);
}

/** Options of {@link wrap}: a client's, or a server's with `server: true`. */
export type WrapOptions =
  | (ClientConnOptions & { server?: false })
  | (ServerContextOptions & { server: true; context?: TlsContext; signal?: AbortSignal });

/**
 * TLS over any byte duplex (in-memory pairs, custom transports), as client
 * or as server (`server: true`, or a server `context`). Resolves after the handshake.
 *
 * @example
 * ```ts
 * import { wrap } from "@jsec/tls";
 * const conn = await wrap(myDuplex, { server: true, cert, key });
 * ```
 */
export async function wrap(duplex: Duplex, options: WrapOptions): Promise<TlsConn> {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const transport = transportOver(duplex);
  const o = options as unknown as Record<string, unknown>;
  return await (sideOf(o) === "server" ? serverOver(transport, o) : clientOver(transport, o));
}

async function serverOver(
  transport: Transport,
  options: Record<string, unknown>,
  shared?: TlsContext,
): Promise<TlsConn> {
  let owned = false;
  let context = shared;
  try {
    if (!context) ({ context, owned } = resolveContext(options, "server", false));
    const conn = new TlsConn(context.newEngine({}), transport, context.backend);
    await conn.handshake(signalOf(options), handshakeTimeoutOf(options));
    return conn;
  } catch (e) {
    transport.close();
    throw e;
  } finally {
    if (owned) context!.free();
  }
}

/**
 * A TLS server: yields connections whose handshake has completed. A failed
 * handshake never ends the listener; it goes to `onError`.
 */
export class TlsListener implements AsyncIterable<TlsConn>, Disposable {
  /** The address it listens on (the port chosen when 0 was asked). */
  readonly addr: Addr;
  readonly #raw: RawListener;
  readonly #context: TlsContext;
  readonly #ownsContext: boolean;
  readonly #options: Record<string, unknown>;
  readonly #ready: TlsConn[] = [];
  readonly #waiters: ((c: TlsConn | null) => void)[] = [];
  readonly #handshaking = new Set<Transport>();
  #closed = false;

  /** @internal Use {@link listen}. */
  constructor(
    raw: RawListener,
    context: TlsContext,
    owns: boolean,
    options: Record<string, unknown>,
  ) {
    this.#raw = raw;
    this.addr = raw.addr;
    this.#context = context;
    this.#ownsContext = owns;
    this.#options = options;
    this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let t: Transport | null;
      try {
        t = await this.#raw.accept();
      } catch (e) {
        this.#report(e, this.addr);
        if (this.#closed) return;
        continue;
      }
      if (!t) return;
      this.#handshake(t);
    }
  }

  async #handshake(t: Transport): Promise<void> {
    this.#handshaking.add(t);
    try {
      const conn = await serverOver(t, this.#options, this.#context);
      if (this.#closed) {
        await conn.close();
        return;
      }
      const w = this.#waiters.shift();
      if (w) w(conn);
      else this.#ready.push(conn);
    } catch (e) {
      if (!this.#closed) this.#report(e, t.remoteAddr);
    } finally {
      this.#handshaking.delete(t);
    }
  }

  #report(e: unknown, addr: Addr): void {
    const onError = this.#options.onError as ((e: unknown, a: Addr) => void) | undefined;
    try {
      onError?.(e, addr);
    } catch { /* a throwing handler must not stop the listener */ }
  }

  /** The next established connection; rejects with `TlsError("CLOSED")` once closed. */
  accept(): Promise<TlsConn> {
    const c = this.#ready.shift();
    if (c) return Promise.resolve(c);
    if (this.#closed) return Promise.reject(new TlsError("CLOSED", "the listener is closed"));
    return new Promise((resolve, reject) =>
      this.#waiters.push((conn) =>
        conn ? resolve(conn) : reject(new TlsError("CLOSED", "the listener is closed"))
      )
    );
  }

  /** Yields each established connection until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<TlsConn> {
    while (!this.#closed || this.#ready.length) {
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof TlsError && e.code === "CLOSED") return;
        throw e;
      }
    }
  }

  /** Stops listening and drops connections still in their handshake. Established ones stay open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
    for (const t of this.#handshaking) t.abort();
    for (const w of this.#waiters.splice(0)) w(null);
    for (const c of this.#ready.splice(0)) c.close().catch(() => {});
    if (this.#ownsContext) this.#context.free();
  }

  /** Closes the listener (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Listens for TLS connections. Port 0 picks a free port (see `addr.port`).
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls";
 * const server = listen({ port: 8443, certFile: "cert.pem", keyFile: "key.pem" });
 * for await (const conn of server) {
 *   conn.readable.pipeTo(conn.writable).catch(() => {}); // echo
 * }
 * ```
 */
export function listen(options: ListenOptions): TlsListener {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options as unknown as Record<string, unknown>;
  if (o.onError !== undefined && typeof o.onError !== "function") {
    invalidOption("onError", o.onError, "a function");
  }
  handshakeTimeoutOf(o);
  const at = endpointOf(o, "0.0.0.0");
  // A listener lives long and builds its context once: it owns it, and frees it on close.
  const { context, owned } = resolveContext(o, "server", false, false);
  let raw: RawListener;
  try {
    raw = listenTransport(at);
  } catch (e) {
    if (owned) context.free();
    throw new TlsError(
      "INVALID_OPTION",
      `cannot listen on ${"path" in at ? at.path : `${at.hostname}:${at.port}`}: ${
        (e as Error).message
      }`,
      {
        option: "path" in at ? "path" : "port",
        cause: e,
      },
    );
  }
  const opts = { ...o, handshakeTimeout: handshakeTimeoutOf(o, 30_000) };
  return new TlsListener(raw, context, owned, opts);
}

/** Options of {@link serve}. */
export type ServeOptions = ListenOptions & {
  /** Called for each established connection; the connection is closed when it returns. */
  handler: (conn: TlsConn) => Promise<void> | void;
};

/** Options of {@link TlsServer.shutdown}. */
export interface ShutdownOptions {
  /**
   * Milliseconds to let running handlers finish on their own; then every
   * connection still open is closed (close_notify; its pending reads end with
   * null, later writes fail with `CLOSED`). `0` closes them at once. Without
   * it, shutdown waits for the handlers however long they take.
   */
  timeout?: number;
}

/** What {@link serve} returns. */
export interface TlsServer {
  /** The address the server listens on. */
  readonly addr: Addr;
  /** Settles once the server has shut down and every handler has returned. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, then waits for running handlers; with `timeout`, closes
   * the connections still open once it has passed. Resolves as `finished` does.
   *
   * @example
   * ```ts
   * // Give clients 10 s to finish, then close what is left.
   * await server.shutdown({ timeout: 10_000 });
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

function shutdownTimeoutOf(o: ShutdownOptions | undefined): number | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== "object" || o === null) invalidOption("options", o, "an object");
  const v = o.timeout;
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
    invalidOption("timeout", v, "a number of milliseconds, 0 or more");
  }
  return v;
}

/**
 * Serves TLS connections: each established connection runs `handler`
 * concurrently; a handler's error goes to `onError` and ends only that connection.
 *
 * @example
 * ```ts
 * import { serve } from "@jsec/tls";
 * const server = serve({
 *   port: 8443, certFile: "cert.pem", keyFile: "key.pem",
 *   handler: (conn) => conn.readable.pipeTo(conn.writable),
 * });
 * await server.shutdown();
 * ```
 */
export function serve(options: ServeOptions): TlsServer {
  if (typeof options?.handler !== "function") {
    invalidOption("handler", options?.handler, "a function");
  }
  const listener = listen(options);
  const running = new Set<Promise<void>>();
  const open = new Set<TlsConn>();
  const onError = (e: unknown, conn: TlsConn) => {
    try {
      options.onError?.(e, conn.remoteAddr);
    } catch { /* ignore */ }
  };
  const loop = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const p = (async () => {
        try {
          await options.handler(conn);
        } catch (e) {
          onError(e, conn);
        } finally {
          open.delete(conn);
          await conn.close().catch(() => {});
        }
      })();
      running.add(p);
      p.finally(() => running.delete(p));
    }
  })();
  const finished = loop.then(async () => {
    while (running.size) await Promise.all([...running]);
  });
  return {
    addr: listener.addr,
    finished,
    shutdown(shutdownOptions?: ShutdownOptions) {
      let timeout: number | undefined;
      try {
        timeout = shutdownTimeoutOf(shutdownOptions);
      } catch (e) {
        return Promise.reject(e);
      }
      listener.close();
      if (timeout !== undefined) {
        // The handlers' connections keep the process alive meanwhile; the deadline need not.
        const deadline = addDeadline(timeout, () => {
          for (const conn of open) conn.close().catch(() => {});
        }, false);
        const cancel = () => cancelDeadline(deadline);
        finished.then(cancel, cancel);
      }
      return finished;
    },
  };
}
