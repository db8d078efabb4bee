/**
 * The DTLS client: `connect` binds a UDP socket, runs the handshake with
 * retransmissions, and hands back a {@link DtlsConn}.
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import { isIpLiteral } from "../backends/backend.ts";
import { checkServerName, handshakeTimeoutOf, portOf, signalOf } from "../streams/options.ts";
import type { ClientConnOptions } from "../streams/tls.ts";
import { DEFAULT_DTLS_HANDSHAKE_TIMEOUT, DtlsConn } from "./conn.ts";
import { dtlsConfig, dtlsContext } from "./context.ts";
import { sharedContext, type TlsContext } from "../streams/context.ts";
import { bindUdp, normalizeHost, resolveHost, type UdpSocket } from "./udp.ts";

/**
 * Options of {@link connect}: the TLS client options that apply to DTLS 1.2
 * (documented on `ClientConnOptions`), plus the UDP endpoint and the datagram settings.
 */
export interface DtlsConnectOptions extends
  Pick<
    ClientConnOptions,
    | "serverName"
    | "verify"
    | "caCerts"
    | "caFile"
    | "caPath"
    | "cert"
    | "key"
    | "certFile"
    | "keyFile"
    | "keyPassword"
    | "alpnProtocols"
    | "session"
    | "ciphers"
    | "backend"
    | "signal"
    | "keylog"
  > {
  /**
   * A DTLS client context from `createContext({ datagram: true })`, shared by
   * many connects; its settings stand in for the context options here.
   */
  context?: TlsContext;
  /** The server's host name or address (default "localhost"). */
  hostname?: string;
  /** The server's UDP port. */
  port: number;
  /** Path MTU in bytes (default 1200): no datagram is larger. */
  mtu?: number;
  /** Handshake deadline in ms (default 30 000). */
  handshakeTimeout?: number;
}

/**
 * Connects to a DTLS 1.2 server over UDP and completes the handshake
 * (retransmitting lost flights). The server's certificate and name are
 * verified against the system store unless `caCerts`/`caFile` are given.
 *
 * @example
 * ```ts
 * import * as dtls from "@jsec/tls/dtls";
 * const conn = await dtls.connect({ hostname: "localhost", port: 4433, caFile: "ca.pem" });
 * await conn.send(new TextEncoder().encode("hello"));
 * console.log(await conn.receive());
 * await conn.close();
 * ```
 */
export async function connect(options: DtlsConnectOptions): Promise<DtlsConn> {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options as unknown as Record<string, unknown>;
  const hostname = o.hostname ?? "localhost";
  if (typeof hostname !== "string" || !hostname) {
    invalidOption("hostname", hostname, "a host name or address");
  }
  const port = portOf(o.port);
  if (port === 0) invalidOption("port", port, "the server's port (1 to 65535)");
  const signal = signalOf(o);
  const timeout = handshakeTimeoutOf(o, DEFAULT_DTLS_HANDSHAKE_TIMEOUT);
  const name = o.serverName ?? hostname;
  const serverName = checkServerName(name);
  if (o.session !== undefined && !(o.session instanceof Uint8Array)) {
    invalidOption("session", o.session, "a Uint8Array from exportSession()");
  }
  if (signal?.aborted) {
    throw new TlsError("ABORTED", "DTLS connect aborted", { cause: signal.reason });
  }
  // Bad options (or a context of the wrong kind) fail before any lookup.
  const given = o.context !== undefined ? dtlsContext(o, "client") : null;
  const built = given ? null : dtlsConfig(o, "client");
  let socket: UdpSocket | undefined;
  let context: TlsContext | undefined;
  let owned = false;
  try {
    const address = normalizeHost(await resolveHost(hostname));
    // Taken after the lookup: a shared context must not wait across an await.
    ({ context, owned } = given ?? sharedContext(built!.backend, built!.config));
    const engine = context.newEngine({
      serverName: isIpLiteral(serverName) ? null : serverName,
      verifyName: context.config.verify ? serverName : null,
      session: o.session as Uint8Array | undefined,
    });
    const made: { conn?: DtlsConn } = {}; // set once the socket exists
    const early: Uint8Array[] = [];
    try {
      socket = await bindUdp(address.includes(":") ? "::" : "0.0.0.0", 0, (data, from) => {
        // An unconnected socket: only the server's datagrams belong to this connection.
        if (from.port !== port || normalizeHost(from.hostname) !== address) return;
        if (made.conn) made.conn.deliver(data);
        else early.push(data.slice()); // the socket reuses `data`
      });
    } catch (e) {
      engine.free();
      throw e;
    }
    const sock = socket;
    const remoteAddr = { hostname: address, port, transport: "udp" as const };
    const conn = made.conn = new DtlsConn(engine, {
      localAddr: sock.addr,
      remoteAddr,
      send: (d) => sock.send(d, remoteAddr),
      detach: () => sock.close(),
    }, context.backend);
    const started = conn.start([], signal, timeout);
    for (const d of early) conn.deliver(d);
    await started;
    return conn;
  } catch (e) {
    socket?.close();
    if (e instanceof TlsError) throw e;
    throw new TlsError(
      "CLOSED",
      `DTLS connect to ${hostname}:${port} failed: ${(e as Error)?.message}`,
      { cause: e },
    );
  } finally {
    if (owned) context!.free(); // the engine keeps what it needs alive
  }
}
