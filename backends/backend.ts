/**
 * The backend seam: what every native TLS library (OpenSSL, mbedTLS) provides
 * to the layers above. Engines are sans-IO state machines: ciphertext in,
 * ciphertext out, plaintext through `read`/`write`; they never touch a socket.
 *
 * @module
 */

import type { CryptoProvider } from "./crypto_provider.ts";
import { TlsError } from "../errors.ts";
export type { CryptoProvider } from "./crypto_provider.ts";

/** The native TLS libraries jsec can load. */
export type BackendName = "openssl" | "mbedtls";

/** Protocol versions as options spell them. */
export type TlsVersion = "TLS1.2" | "TLS1.3";

/** Who verifies whom on the server. */
export type ClientAuth = "none" | "request" | "require";

/** What a backend (and the loaded version of its library) can do. */
export interface Capabilities {
  /** True when TLS 1.2 is supported. */
  tls12: boolean;
  /** True when TLS 1.3 is supported. */
  tls13: boolean;
  /** True when DTLS 1.2 is supported. */
  dtls12: boolean;
  /** True when DTLS 1.3 is supported. */
  dtls13: boolean;
  /** True when TLS 1.3 KeyUpdate is supported. */
  keyUpdate: boolean;
  /** True when OCSP stapling is supported. */
  ocsp: boolean;
  /** True when keying material can be exported (RFC 5705 / RFC 8446 §7.5). */
  exportKeyingMaterial: boolean;
  /** True when sessions can be resumed. */
  sessionResumption: boolean;
  /** True when session tickets are supported. */
  sessionTickets: boolean;
  /** True when ALPN is supported. */
  alpn: boolean;
  /** True when SNI (server name indication) is supported. */
  sni: boolean;
  /** True when key logging (NSS key log format) is supported. */
  keylog: boolean;
  /** Key-exchange groups the library offers, in the names `groups` accepts. */
  groups: string[];
  /** Post-quantum hybrid groups among `groups` (empty when the library has none). */
  postQuantumGroups: string[];
}

/** A parsed X.509 certificate. */
export interface CertInfo {
  /** Subject as an RFC 4514 string, e.g. "CN=localhost,O=Acme". */
  subject: string;
  /** Issuer as an RFC 4514 string. */
  issuer: string;
  /** The subject's common name, when it has one. */
  commonName: string | null;
  /** Subject alternative names, e.g. "DNS:localhost", "IP:127.0.0.1", "email:a@b". */
  san: string[];
  /** Start of the validity period. */
  notBefore: Date;
  /** End of the validity period. */
  notAfter: Date;
  /** Serial number, upper-case hex. */
  serial: string;
  /** SHA-256 of the DER, upper-case hex pairs joined with ":". */
  fingerprint256: string;
  /** True when basicConstraints says CA. */
  isCa: boolean;
  /** "rsa", "ec", "ed25519", "ed448", ... */
  publicKeyType: string;
  /** Key size in bits (RSA modulus, EC field size). */
  publicKeyBits: number;
  /** The curve for EC keys ("P-256", ...), else null. */
  curve: string | null;
  /** The certificate itself, DER. */
  der: Uint8Array;
}

/**
 * A context's configuration, normalized and validated by the options layer:
 * files already read, defaults applied. Backends trust its shape but still
 * validate anything they pass to C.
 */
export interface ContextConfig {
  side: "client" | "server";
  /** DTLS instead of TLS. */
  datagram: boolean;
  /** Verify the peer's certificate chain (client: the server; server: see clientAuth). */
  verify: boolean;
  /** Trust anchors: PEM or DER contents. */
  caCerts: Uint8Array[];
  caFile?: string;
  caPath?: string;
  /** Load the system's trust store (when verifying and no CA was given). */
  systemTrust: boolean;
  /** Own certificate chain (PEM may hold several) and key, PEM or DER. */
  cert?: Uint8Array;
  key?: Uint8Array;
  keyPassword?: string;
  /** Server: certificates by SNI host name. */
  sni: { name: string; cert: Uint8Array; key: Uint8Array }[];
  alpnProtocols: string[];
  clientAuth: ClientAuth;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** TLS 1.2 cipher list (OpenSSL syntax). */
  ciphers?: string;
  /** TLS 1.3 suites, colon-separated IANA names. */
  cipherSuites?: string;
  /** Key-exchange groups, colon-separated. */
  groups?: string;
  /** Server session cache size (0 disables the cache). */
  sessionCacheSize?: number;
  /** Server session lifetime in seconds. */
  sessionTimeout?: number;
  /** Session tickets (default true). */
  tickets: boolean;
  /** NSS key log lines, for debugging with Wireshark. */
  keylog?: (line: string) => void;
  /** DTLS path MTU. */
  mtu?: number;
  /** DTLS server: HMAC key for HelloVerifyRequest cookies (default: random per context). */
  cookieSecret?: Uint8Array;
  /**
   * Server: a DER OCSP response to staple when the client asks for one, or a
   * function called per handshake that returns fresh bytes (null: staple nothing).
   */
  ocspResponse?: Uint8Array | (() => Uint8Array | null);
  /** Client: ask the server to staple an OCSP response (status_request). */
  requestOcsp?: boolean;
  /** Allow TLS 1.2 renegotiation (default false: refused). */
  renegotiation?: boolean;
  /** OpenSSL security level 0..5 (`SSL_CTX_set_security_level`). */
  securityLevel?: number;
}

/** Per-connection engine settings. */
export interface EngineOptions {
  /** Client: SNI to send (null: none, as for IP addresses). */
  serverName?: string | null;
  /** Client: the DNS name or IP address the certificate must match (null: no name check). */
  verifyName?: string | null;
  /** Client: a session from `exportSession()` to resume. */
  session?: Uint8Array;
  /**
   * DTLS server: the peer's transport address as bytes (e.g. IP and port),
   * bound into HelloVerifyRequest cookies so a cookie only works from the
   * address it was sent to.
   */
  transportId?: Uint8Array;
  /** Client: ask for a stapled OCSP response (overrides the context's `requestOcsp`). */
  requestOcsp?: boolean;
}

/** Progress of a handshake step. */
export type HandshakeState = "done" | "want-read";

/**
 * True for an IPv4 or IPv6 address literal: such a name is checked against IP
 * SANs and never sent as SNI (RFC 6066 §3). One answer for every layer.
 */
export function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}

/**
 * A feed larger than this means data is streaming in: engines keep their
 * buffers rather than release them when they run dry (the next chunk would
 * only allocate them again).
 */
export const STREAMING_FEED = 16 * 1024;

/** An engine's `info()` before its handshake is done: there is nothing to report yet. */
export function infoBeforeHandshake(): TlsError {
  return new TlsError(
    "PROTOCOL",
    'info() needs a completed handshake (handshake() returned "done")',
  );
}

/** How many user callbacks (keylog, an OCSP response function) are running now. */
let userCallbacks = 0;

/**
 * Runs a user's callback that the library's call stack waits on: C called us
 * (OpenSSL's keylog and OCSP callbacks), or an engine step is still under way
 * (mbedTLS delivers keylog lines between its C calls). An engine freed meanwhile
 * keeps its native half until {@link freeWhenSafe} lets it go.
 */
export function runUserCallback<T>(fn: () => T): T {
  userCallbacks++;
  try {
    return fn();
  } finally {
    userCallbacks--;
  }
}

/**
 * Frees an engine's native half, or, when a user callback asked for it, right
 * after the synchronous work that called the callback: that work would go on
 * with freed memory (a segfault when a keylog callback closed its connection).
 */
export function freeWhenSafe(free: () => void): void {
  if (userCallbacks > 0) queueMicrotask(free);
  else free();
}

/** `Engine.read` result: no plaintext until more ciphertext is fed. */
export const WANT_READ = 0;
/** `Engine.read` result: the peer sent close_notify. */
export const EOF = -1;

/** What an engine knows about its connection after the handshake. */
export interface EngineInfo {
  /** Negotiated protocol version. */
  protocol: "TLSv1.2" | "TLSv1.3" | "DTLSv1.2" | "DTLSv1.3";
  /** Negotiated cipher suite, IANA name (e.g. "TLS_AES_128_GCM_SHA256"); empty if none. */
  cipher: string;
  /** Symmetric key strength of the cipher suite in bits (0 if unknown). */
  cipherBits: number;
  /** Negotiated ALPN protocol, or null when none was agreed. */
  alpnProtocol: string | null;
  /** The SNI host name of the connection, or null when there is none. */
  serverName: string | null;
  /** True when the session was resumed rather than fully negotiated. */
  sessionReused: boolean;
  /** The peer's leaf certificate, or null when it sent none. */
  peerCertificate: CertInfo | null;
  /** The peer's chain as sent, leaf first. */
  peerCertificateChain: CertInfo[];
  /** Negotiated key-exchange group, e.g. "X25519". */
  group: string | null;
  /** Signature algorithm the peer signed the handshake with, when known. */
  signatureAlgorithm: string | null;
  /** Client: the OCSP response (DER) the server stapled, or null (none asked for or sent). */
  ocspResponse: Uint8Array | null;
}

/**
 * A sans-IO TLS or DTLS connection. Every method is synchronous and does no
 * I/O; the caller moves ciphertext between `pull`/`feed` and the transport.
 */
export interface Engine {
  readonly datagram: boolean;
  /** True once the handshake has completed. */
  readonly handshakeDone: boolean;
  /** Ciphertext from the transport (DTLS: exactly one datagram). */
  feed(data: Uint8Array): void;
  /** Bytes of ciphertext waiting to be sent (DTLS: size of the next datagram). */
  pending(): number;
  /** Moves pending ciphertext into `into`; returns the count (DTLS: one datagram). */
  pull(into: Uint8Array): number;
  /** Advances the handshake. Throws {@link TlsError} on failure. */
  handshake(): HandshakeState;
  /** Plaintext into `into`: a count > 0, {@link WANT_READ} or {@link EOF}. */
  read(into: Uint8Array): number;
  /** Encrypts `data`; the records wait in the `pull` queue. Returns bytes consumed. */
  write(data: Uint8Array): number;
  /** Queues close_notify. */
  shutdown(): void;
  /** What was negotiated; throws `TlsError("PROTOCOL")` before the handshake is done. */
  info(): EngineInfo;
  /** The session for resumption, once the handshake is done (null if none). */
  exportSession(): Uint8Array | null;
  /** TLS 1.3 key update; with `requestPeer` the peer updates too. */
  keyUpdate(requestPeer: boolean): void;
  /** RFC 5705 / RFC 8446 keying material exporter. */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array;
  /** DTLS: ms until the retransmission timer fires, or null when none is running. */
  timeout(): number | null;
  /** DTLS: the retransmission timer fired. */
  onTimer(): void;
  /** DTLS: the largest plaintext one `write` (one record, one datagram) may carry, when known. */
  dataMtu?(): number;
  /** Frees native memory; idempotent. */
  free(): void;
}

/** A configured native context, shared by many engines. */
export interface NativeContext {
  readonly config: ContextConfig;
  createEngine(options: EngineOptions): Engine;
  /**
   * Adds a trusted CA (PEM, possibly several, or DER) to a context already in
   * use; later handshakes trust it. Absent where the backend cannot.
   */
  trustCertificate?(data: Uint8Array): void;
  /** Frees native memory once no engine uses it; idempotent. */
  free(): void;
}

/**
 * A FIFO of bytes (OpenSSL's `BIO_s_mem`, or a pure-TS queue where the library
 * has no BIO). Arguments are validated by `backends/bio.ts`; never empty here.
 */
export interface NativeMemoryBio {
  /** Appends a copy of `data` (non-empty); returns the count taken. */
  write(data: Uint8Array): number;
  /** Moves up to `into.length` (> 0) bytes into `into`; returns the count. */
  read(into: Uint8Array): number;
  /** Bytes waiting to be read. */
  pending(): number;
  /** Frees native memory; idempotent. */
  free(): void;
}

/** One native TLS library behind jsec's interface. */
export interface Backend {
  readonly name: BackendName;
  /** The loaded library's version, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  readonly version: string;
  /** Paths of the loaded library files. */
  readonly libraries: string[];
  readonly capabilities: Capabilities;
  /** Builds a context; throws `TlsError("INVALID_OPTION" | "UNSUPPORTED")` for what it cannot take. */
  createContext(config: ContextConfig): NativeContext;
  /** The crypto primitives of this library. */
  readonly crypto: CryptoProvider;
  /** A memory BIO on this library (optional: `backends/bio.ts` falls back to a JS queue). */
  createMemoryBio?(): NativeMemoryBio;
}
