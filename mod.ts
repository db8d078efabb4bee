/**
 * jsec: TLS and DTLS for Deno and Bun on the system's OpenSSL or mbedTLS,
 * loaded at run time through the runtime's FFI, with Web Streams on top.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * await using conn = await connect({ hostname: "example.com", port: 443 });
 * console.log(conn.info.protocol, conn.info.cipher);
 * ```
 *
 * @module
 */

export { CryptoError, TlsError } from "./errors.ts";
export type { CryptoErrorCode, TlsErrorCode, TlsErrorInit } from "./errors.ts";
export {
  backendInfo,
  backendNames,
  defaultBackendName,
  setDefaultBackend,
} from "./backends/registry.ts";
export type { BackendInfo } from "./backends/registry.ts";
export type {
  BackendName,
  Capabilities,
  CertInfo,
  ClientAuth,
  EngineInfo,
  HandshakeState,
  TlsVersion,
} from "./backends/backend.ts";
export { TlsConn } from "./streams/conn.ts";
export type { ConnectionInfo } from "./streams/conn.ts";
export {
  createContext,
  createEngine,
  TlsContext,
  TlsEngine,
  trustCertificate,
} from "./streams/context.ts";
export type {
  ContextOptions,
  DatagramContextOptions,
  EngineCreateOptions,
} from "./streams/context.ts";
export { connect, listen, serve, TlsListener, upgrade, wrap } from "./streams/tls.ts";
export type {
  ClientConnOptions,
  ConnectOptions,
  ListenOptions,
  ServeOptions,
  ShutdownOptions,
  TlsServer,
  WrapOptions,
} from "./streams/tls.ts";
export type { Addr, Duplex } from "./streams/transport.ts";
export type {
  ClientContextOptions,
  CommonOptions,
  Pem,
  ServerContextOptions,
} from "./streams/options.ts";
