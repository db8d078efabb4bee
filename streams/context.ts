/**
 * `TlsContext` (a reusable configured context, like Python's `SSLContext`)
 * and `TlsEngine` (the public sans-IO engine, like Python's `SSLObject`).
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import type {
  Backend,
  BackendName,
  ContextConfig,
  Engine,
  EngineInfo,
  HandshakeState,
  NativeContext,
} from "../backends/backend.ts";
import { isIpLiteral } from "../backends/backend.ts";
import { bytesArg } from "../backends/bytes.ts";
import { exporterContext } from "./exporter.ts";
import { getBackend } from "../backends/registry.ts";
import {
  buildConfig,
  checkServerName,
  type ClientContextOptions,
  type Pem,
  pemBytes,
  type ServerContextOptions,
} from "./options.ts";

/** What `datagram: true` adds to {@link createContext}'s options: a DTLS context. */
export interface DatagramContextOptions {
  /** A DTLS 1.2 context, for `dtls.connect` / `dtls.listen` and DTLS engines. */
  datagram?: boolean;
  /** DTLS: path MTU in bytes (default 1200); no datagram is larger. */
  mtu?: number;
}

/**
 * Options of {@link createContext}: a client's, or a server's with `server: true`.
 *
 * @example
 * ```ts
 * import { createContext } from "@jsec/tls";
 * import * as dtls from "@jsec/tls/dtls";
 * const context = createContext({ datagram: true, caFile: "ca.pem" });
 * const conn = await dtls.connect({ hostname: "localhost", port: 4433, context });
 * ```
 */
export type ContextOptions =
  | (ClientContextOptions & DatagramContextOptions & { server?: false })
  | (ServerContextOptions & DatagramContextOptions & {
    server: true;
    /** DTLS: the HelloVerifyRequest cookie key (≥ 16 bytes; default random per context). */
    cookieSecret?: string | Uint8Array;
  });

/**
 * A configured context: certificates, trust, versions, ALPN, session cache.
 * Build it once and pass it as `context` to many connections. Free it when done
 * (connections that still use it keep it alive).
 *
 * @example
 * ```ts
 * import { connect, createContext } from "@jsec/tls";
 * using ctx = createContext({ caFile: "ca.pem", alpnProtocols: ["h2"] });
 * const a = await connect({ hostname: "localhost", port: 8443, context: ctx });
 * const b = await connect({ hostname: "localhost", port: 8443, context: ctx });
 * ```
 */
export class TlsContext implements Disposable {
  /** The backend this context belongs to. */
  readonly backend: BackendName;
  /** "client" or "server". */
  readonly side: "client" | "server";
  /** True for a DTLS context. */
  readonly datagram: boolean;
  readonly #native: NativeContext;

  /** @internal Use {@link createContext}. */
  constructor(backend: BackendName, native: NativeContext) {
    this.backend = backend;
    this.#native = native;
    this.side = native.config.side;
    this.datagram = native.config.datagram;
  }

  /** @internal The configuration the backend was given. */
  get config(): ContextConfig {
    return this.#native.config;
  }

  /** @internal A new engine on this context. */
  newEngine(options: Parameters<NativeContext["createEngine"]>[0]): Engine {
    return this.#native.createEngine(options);
  }

  /** @internal See {@link trustCertificate}. */
  addTrust(data: Uint8Array): void {
    if (!this.#native.trustCertificate) {
      throw new TlsError(
        "UNSUPPORTED",
        `trustCertificate is not supported by the ${this.backend} backend`,
      );
    }
    this.#native.trustCertificate(data);
  }

  /** Frees the native context once no connection uses it. Idempotent. */
  free(): void {
    this.#native.free();
  }

  /** Frees the context (for `using`). */
  [Symbol.dispose](): void {
    this.free();
  }
}

/**
 * Adds trusted CA certificates (PEM, possibly several, or DER) to a context
 * that may already be in use: handshakes that start afterwards trust them
 * (client: server chains; server: client certificates). Nothing is removed
 * or replaced.
 *
 * @example
 * ```ts
 * import { connect, createContext, trustCertificate } from "@jsec/tls";
 * using ctx = createContext({ caCerts: [oldCa] });
 * trustCertificate(ctx, newCaPem);
 * const conn = await connect({ hostname: "localhost", port: 8443, context: ctx });
 * ```
 */
export function trustCertificate(ctx: TlsContext, pem: Pem): void {
  if (!(ctx instanceof TlsContext)) invalidOption("ctx", ctx, "a TlsContext from createContext()");
  ctx.addTrust(pemBytes(pem, "pem"));
}

/** Builds a context for `side` from options (`server` and `datagram` decide the kind). */
export function contextFrom(
  options: Record<string, unknown>,
  side: "client" | "server",
  datagram: boolean,
): TlsContext {
  const backend = getBackend(options.backend as BackendName | undefined);
  return contextOf(backend, buildConfig(options, side, datagram));
}

function contextOf(backend: Backend, config: ContextConfig): TlsContext {
  const datagram = config.datagram;
  if (datagram && !backend.capabilities.dtls12) {
    throw new TlsError(
      "UNSUPPORTED",
      `DTLS is not supported by ${backend.name} (${backend.version})`,
    );
  }
  if (config.minVersion === "TLS1.3" && !backend.capabilities.tls13) {
    throw new TlsError(
      "UNSUPPORTED",
      `minVersion "TLS1.3" is not supported by the ${backend.name} backend (${backend.version}): it has no TLS 1.3`,
      { option: "minVersion" },
    );
  }
  if (!backend.capabilities.tls13 && config.maxVersion === "TLS1.3") config.maxVersion = "TLS1.2";
  return new TlsContext(backend.name, backend.createContext(config));
}

/**
 * Creates a reusable context. `server: true` makes a server context.
 *
 * @example
 * ```ts
 * import { createContext, listen } from "@jsec/tls";
 * const ctx = createContext({ server: true, certFile: "cert.pem", keyFile: "key.pem" });
 * const server = listen({ port: 8443, context: ctx });
 * ```
 */
export function createContext(options: ContextOptions = {}): TlsContext {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options as unknown as Record<string, unknown>;
  if (o.datagram !== undefined && typeof o.datagram !== "boolean") {
    invalidOption("datagram", o.datagram, "a boolean");
  }
  return contextFrom(o, o.server === true ? "server" : "client", o.datagram === true);
}

/**
 * Contexts built for calls without `context`, by backend and configuration.
 * Building one costs 0.4–0.9 ms (SSL_CTX_new, parsing CAs, certificates and
 * keys), about a third of a full handshake: calls with the same options share
 * one, as if they had passed the same `createContext()`. Configurations that
 * hold a function (keylog, an OCSP provider) or name files that may change
 * (caFile, caPath) are built afresh each time.
 */
const implicitContexts = new Map<string, TlsContext>();
const IMPLICIT_CONTEXTS_MAX = 16;
const latin1 = new TextDecoder("latin1");

/** The cache key of a configuration, or null when it must not be shared. */
function configKey(backend: BackendName, c: ContextConfig): string | null {
  if (c.keylog || typeof c.ocspResponse === "function" || c.caFile || c.caPath) return null;
  // Bytes (CAs, certificates, keys) as latin1 strings: equal keys mean equal configurations.
  return backend + JSON.stringify(c, (_k, v) => (v instanceof Uint8Array ? latin1.decode(v) : v));
}

/**
 * @internal A context for `config`, shared with earlier calls of the same
 * configuration where that is safe; `owned`: the caller must free it.
 */
export function sharedContext(
  backend: Backend,
  config: ContextConfig,
): { context: TlsContext; owned: boolean } {
  const key = configKey(backend.name, config);
  if (key === null) return { context: contextOf(backend, config), owned: true };
  let context = implicitContexts.get(key);
  if (context) {
    implicitContexts.delete(key); // most recently used last
  } else {
    context = contextOf(backend, config);
    if (implicitContexts.size >= IMPLICIT_CONTEXTS_MAX) {
      const [oldestKey, oldest] = implicitContexts.entries().next().value!;
      implicitContexts.delete(oldestKey);
      oldest.free(); // its connections keep it alive until they end
    }
  }
  implicitContexts.set(key, context);
  return { context, owned: false };
}

/**
 * The context to use: the `context` option (checked), else one built from the
 * options: shared with calls that have the same options when `share` is set
 * (the caller must not free it), else new and owned by the caller.
 */
export function resolveContext(
  options: Record<string, unknown>,
  side: "client" | "server",
  datagram: boolean,
  share = true,
): { context: TlsContext; owned: boolean } {
  const given = options.context;
  if (given === undefined) {
    if (!share) return { context: contextFrom(options, side, datagram), owned: true };
    const backend = getBackend(options.backend as BackendName | undefined);
    return sharedContext(backend, buildConfig(options, side, datagram));
  }
  if (!(given instanceof TlsContext)) {
    invalidOption("context", given, "a TlsContext from createContext()");
  }
  if (given.side !== side || given.datagram !== datagram) {
    invalidOption(
      "context",
      `${given.datagram ? "DTLS" : "TLS"} ${given.side} context`,
      `a ${datagram ? "DTLS" : "TLS"} ${side} context`,
    );
  }
  if (options.backend !== undefined && options.backend !== given.backend) {
    invalidOption("backend", options.backend, `the context's backend "${given.backend}"`);
  }
  return { context: given, owned: false };
}

/**
 * The side options ask for: `server: true` or `false` when given, else the side
 * of the `context` option, else client. So `{ context: serverContext }` makes a
 * server; an explicit `server` that contradicts the context still fails in
 * {@link resolveContext}.
 */
export function sideOf(options: Record<string, unknown>): "client" | "server" {
  if (options.server === undefined && options.context instanceof TlsContext) {
    return options.context.side;
  }
  return options.server === true ? "server" : "client";
}

/** Options of {@link createEngine}. */
export type EngineCreateOptions = ContextOptions & {
  /** Client: the server's name, for SNI and verification. */
  serverName?: string;
  /** Client: a session from `exportSession()` to resume. */
  session?: Uint8Array;
  /**
   * A context to build the engine on instead of the options. The engine takes
   * its side (and TLS or DTLS) from it unless `server` (`datagram`) says otherwise.
   */
  context?: TlsContext;
};

/**
 * A sans-IO TLS engine: no sockets, you move the bytes. Feed it ciphertext
 * from the peer, send what `pull()` returns, and use `read`/`write` for plaintext.
 *
 * @example
 * ```ts
 * import { createEngine } from "@jsec/tls";
 * const client = createEngine({ serverName: "localhost", caCerts: [caPem] });
 * const server = createEngine({ server: true, cert, key });
 * for (;;) {
 *   const states = [client.handshake(), server.handshake()]; // step both every round
 *   for (let d; (d = client.pull());) server.feed(d);
 *   for (let d; (d = server.pull());) client.feed(d);
 *   if (states[0] === "done" && states[1] === "done") break;
 * }
 * ```
 */
export class TlsEngine implements Disposable {
  readonly #engine: Engine;
  readonly #context: TlsContext;
  readonly #ownsContext: boolean;

  /** @internal Use {@link createEngine}. */
  constructor(engine: Engine, context: TlsContext, ownsContext: boolean) {
    this.#engine = engine;
    this.#context = context;
    this.#ownsContext = ownsContext;
  }

  /** The backend running this engine. */
  get backend(): BackendName {
    return this.#context.backend;
  }

  /** True once the handshake has completed. */
  get handshakeDone(): boolean {
    return this.#engine.handshakeDone;
  }

  /** Gives the engine ciphertext received from the peer. */
  feed(data: Uint8Array): void {
    this.#engine.feed(bytesArg("feed", data));
  }

  /** Ciphertext to send to the peer, or null when there is none (DTLS: one datagram). */
  pull(): Uint8Array | null {
    const size = this.#engine.pending();
    if (size === 0) return null;
    const out = new Uint8Array(size);
    const n = this.#engine.pull(out);
    return n ? out.subarray(0, n) : null;
  }

  /** Advances the handshake: "done", or "want-read" (feed more). Throws `TlsError`. */
  handshake(): HandshakeState {
    return this.#engine.handshake();
  }

  /** Plaintext into `into`: the count, 0 when more ciphertext is needed, null at close_notify. */
  read(into: Uint8Array): number | null {
    const n = this.#engine.read(bytesArg("read", into));
    return n < 0 ? null : n;
  }

  /** Encrypts plaintext; collect the records with `pull()`. Returns bytes taken. */
  write(data: Uint8Array): number {
    return this.#engine.write(bytesArg("write", data));
  }

  /** Queues close_notify. */
  shutdown(): void {
    this.#engine.shutdown();
  }

  /** Protocol, cipher, ALPN, peer certificate; a `PROTOCOL` error before the handshake is done. */
  info(): EngineInfo {
    return this.#engine.info();
  }

  /** The session for resumption, if there is one. */
  exportSession(): Uint8Array | null {
    return this.#engine.exportSession();
  }

  /** TLS 1.3 KeyUpdate. */
  keyUpdate(requestPeer = false): void {
    this.#engine.keyUpdate(requestPeer);
  }

  /** Keying material exporter (RFC 5705). */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    return this.#engine.exportKeyingMaterial(
      label,
      length,
      exporterContext(label, length, context),
    );
  }

  /** DTLS: ms until the retransmission timer fires, or null. */
  timeout(): number | null {
    return this.#engine.timeout();
  }

  /** DTLS: call when the retransmission timer fires. */
  onTimer(): void {
    this.#engine.onTimer();
  }

  /** Frees native memory. Idempotent. */
  free(): void {
    this.#engine.free();
    if (this.#ownsContext) this.#context.free();
  }

  /** Frees the engine (for `using`). */
  [Symbol.dispose](): void {
    this.free();
  }
}

/**
 * Creates a sans-IO engine: a client by default, a server with `server: true`
 * or a server `context`.
 */
export function createEngine(options: EngineCreateOptions = {}): TlsEngine {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options as unknown as Record<string, unknown>;
  const datagram = o.datagram === undefined && o.context instanceof TlsContext
    ? o.context.datagram
    : o.datagram === true;
  const { context, owned } = resolveContext(o, sideOf(o), datagram);
  try {
    const serverName = o.serverName;
    if (serverName !== undefined) checkServerName(serverName);
    if (o.session !== undefined && !(o.session instanceof Uint8Array)) {
      invalidOption("session", o.session, "a Uint8Array");
    }
    const name = serverName as string | undefined;
    const engine = context.newEngine({
      serverName: name && !isIpLiteral(name) ? name : null,
      verifyName: name ?? null,
      session: o.session as Uint8Array | undefined,
    });
    return new TlsEngine(engine, context, owned);
  } catch (e) {
    if (owned) context.free();
    throw e;
  }
}
