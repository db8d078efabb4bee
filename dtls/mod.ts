/**
 * DTLS 1.2 over UDP: `connect` for clients, `listen` for servers. Each
 * `send` is one datagram and each `receive` one datagram.
 *
 * @example
 * ```ts
 * import * as dtls from "@jsec/tls/dtls";
 * const conn = await dtls.connect({ hostname: "localhost", port: 4433, caFile: "ca.pem" });
 * await conn.send(new TextEncoder().encode("ping"));
 * console.log(await conn.receive());
 * await conn.close();
 * ```
 *
 * @module
 */

export { connect } from "./client.ts";
export type { DtlsConnectOptions } from "./client.ts";
export { DtlsConn } from "./conn.ts";
export type { DtlsConnStats } from "./conn.ts";
export { DtlsListener, listen } from "./server.ts";
export type { DtlsListenOptions, DtlsServerStats } from "./server.ts";
export { TlsError } from "../errors.ts";
export type { ConnectionInfo } from "../streams/conn.ts";
export type { Addr } from "../streams/transport.ts";
