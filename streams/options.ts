/**
 * The options users pass, their validation, and their translation into a
 * backend's {@link ContextConfig}. Bad input is a `TlsError("INVALID_OPTION")`
 * that names the option and the value; nothing invalid reaches a backend.
 *
 * @module
 */

import { appendFileSync, readFileSync } from "node:fs";
import { invalidOption, TlsError } from "../errors.ts";
import type { BackendName, ClientAuth, ContextConfig, TlsVersion } from "../backends/backend.ts";
import { env } from "../backends/registry.ts";

/** PEM text, or bytes holding PEM or DER. */
export type Pem = string | Uint8Array;

/** Options shared by clients and servers, TLS and DTLS. */
export interface CommonOptions {
  /** Which native library to use (default: `setDefaultBackend`, `JSEC_BACKEND`, "openssl"). */
  backend?: BackendName;
  /** Trusted CA certificates (PEM, or DER bytes). Default: the system store. */
  caCerts?: Pem[];
  /** A file of trusted CA certificates (PEM). */
  caFile?: string;
  /** A directory of hashed CA certificates (`openssl rehash`). */
  caPath?: string;
  /** Own certificate chain, leaf first (PEM, or DER bytes). */
  cert?: Pem;
  /** Own private key (PEM, or DER bytes). */
  key?: Pem;
  /** A file holding the certificate chain. */
  certFile?: string;
  /** A file holding the private key. */
  keyFile?: string;
  /** Password of an encrypted PEM private key. */
  keyPassword?: string;
  /** ALPN protocols, most preferred first. */
  alpnProtocols?: string[];
  /** Lowest version (default "TLS1.2"). */
  minVersion?: TlsVersion;
  /** Highest version (default "TLS1.3" where the backend has it). */
  maxVersion?: TlsVersion;
  /** TLS 1.2 cipher list, OpenSSL syntax, e.g. "ECDHE+AESGCM". */
  ciphers?: string;
  /** TLS 1.3 suites, e.g. "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256". */
  cipherSuites?: string;
  /** Key-exchange groups, e.g. "X25519:P-256". */
  groups?: string;
  /** Receives NSS key log lines (for Wireshark). `SSLKEYLOGFILE` is honoured when unset. */
  keylog?: (line: string) => void;
  /** Handshake deadline in milliseconds. */
  handshakeTimeout?: number;
  /**
   * Allow TLS 1.2 renegotiation (default false: a server refuses a client's
   * renegotiation, a client refuses the server's HelloRequest).
   */
  renegotiation?: boolean;
  /**
   * OpenSSL security level, 0 to 5 (`SSL_CTX_set_security_level`): the
   * minimum strength of keys, signatures and groups. Default: the library's
   * (1 on most builds). The mbedtls backend has none: UNSUPPORTED.
   */
  securityLevel?: number;
}

/** Context-level options of a TLS client. */
export interface ClientContextOptions extends CommonOptions {
  /** Verify the server's certificate and name (default true; false must be explicit). */
  verify?: boolean;
  /**
   * Ask the server to staple an OCSP response (status_request); it arrives in
   * `conn.info.ocspResponse` (parse it with `parseOcspResponse`). jsec does
   * not judge the response itself. The mbedtls backend has no OCSP: UNSUPPORTED.
   */
  requestOcsp?: boolean;
}

/** Context-level options of a TLS server. */
export interface ServerContextOptions extends CommonOptions {
  /** Certificates by SNI host name ("*.example.com" matches one label). */
  sni?: Record<string, { cert: Pem; key: Pem }>;
  /** Ask for ("request") or insist on ("require") a client certificate. Default "none". */
  clientAuth?: ClientAuth;
  /** Server session cache size (0 turns the cache off). */
  sessionCacheSize?: number;
  /** Server session lifetime in seconds. */
  sessionTimeout?: number;
  /** Session tickets (default true). */
  tickets?: boolean;
  /**
   * OCSP response (DER) to staple for clients that ask (status_request): fixed
   * bytes, or a function called per handshake that returns fresh bytes (null or
   * a throw: nothing is stapled, the handshake goes on). The mbedtls backend
   * has no OCSP stapling: UNSUPPORTED.
   */
  ocspResponse?: Uint8Array | (() => Uint8Array | null);
}

const VERSIONS: readonly TlsVersion[] = ["TLS1.2", "TLS1.3"];
const CLIENT_AUTH: readonly ClientAuth[] = ["none", "request", "require"];
const encoder = new TextEncoder();

/** Bytes of a `Pem` option. */
export function pemBytes(value: unknown, option: string): Uint8Array {
  if (typeof value === "string") {
    if (!value.trim()) invalidOption(option, value, "PEM text or DER bytes");
    return encoder.encode(value);
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) invalidOption(option, "(empty bytes)", "PEM text or DER bytes");
    return value.slice();
  }
  return invalidOption(option, value, "a PEM string or a Uint8Array");
}

function readOptionFile(path: unknown, option: string): Uint8Array {
  if (typeof path !== "string" || !path) invalidOption(option, path, "a file path");
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new TlsError(
      "INVALID_OPTION",
      `invalid option ${option}: cannot read ${path}: ${(e as Error).message}`,
      {
        option,
        cause: e,
      },
    );
  }
}

function contentOrFile(
  o: Record<string, unknown>,
  content: string,
  file: string,
): Uint8Array | undefined {
  if (o[content] !== undefined && o[file] !== undefined) {
    throw new TlsError("INVALID_OPTION", `invalid options: give ${content} or ${file}, not both`, {
      option: file,
    });
  }
  if (o[content] !== undefined) return pemBytes(o[content], content);
  if (o[file] !== undefined) return readOptionFile(o[file], file);
  return undefined;
}

function optString(o: Record<string, unknown>, name: string): string | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !v || v.includes("\0")) invalidOption(name, v, "a non-empty string");
  return v;
}

function optBool(o: Record<string, unknown>, name: string, dflt: boolean): boolean {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") invalidOption(name, v, "true or false");
  return v;
}

/** A non-negative integer option within `max`. */
export function optInt(o: Record<string, unknown>, name: string, max: number): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    invalidOption(name, v, `an integer from 0 to ${max}`);
  }
  return v;
}

function optEnum<T extends string>(
  o: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
  dflt: T,
): T {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    invalidOption(name, v, allowed.map((a) => JSON.stringify(a)).join(" or "));
  }
  return v as T;
}

function alpnList(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length === 0) {
    invalidOption("alpnProtocols", v, "a non-empty array of strings");
  }
  for (const p of v) {
    const len = typeof p === "string" ? encoder.encode(p).length : 0;
    if (len === 0 || len > 255) {
      invalidOption("alpnProtocols", p, "protocol names of 1 to 255 bytes");
    }
  }
  return [...v];
}

function keylogFromEnv(): ((line: string) => void) | undefined {
  const path = env("SSLKEYLOGFILE");
  if (!path) return undefined;
  return (line) => appendFileSync(path, line + "\n");
}

/** Validates the options every mode shares and builds the config. */
export function buildConfig(
  options: Record<string, unknown>,
  side: "client" | "server",
  datagram: boolean,
): ContextConfig {
  if (typeof options !== "object" || options === null) {
    invalidOption("options", options, "an object");
  }
  const o = options;
  const caCertsRaw = o.caCerts;
  if (caCertsRaw !== undefined && !Array.isArray(caCertsRaw)) {
    invalidOption("caCerts", caCertsRaw, "an array of PEM strings or Uint8Arrays");
  }
  const caCerts = ((caCertsRaw as unknown[] | undefined) ?? []).map((c, i) =>
    pemBytes(c, `caCerts[${i}]`)
  );
  const caFile = optString(o, "caFile");
  const caPath = optString(o, "caPath");
  const minVersion = optEnum(o, "minVersion", VERSIONS, "TLS1.2");
  const maxVersion = optEnum(o, "maxVersion", VERSIONS, "TLS1.3");
  if (minVersion === "TLS1.3" && maxVersion === "TLS1.2") {
    invalidOption("minVersion", minVersion, `a version no higher than maxVersion ${maxVersion}`);
  }
  if (o.keylog !== undefined && typeof o.keylog !== "function") {
    invalidOption("keylog", o.keylog, "a function");
  }
  if (
    o.keyPassword !== undefined &&
    (typeof o.keyPassword !== "string" || o.keyPassword.includes("\0"))
  ) {
    // A NUL would cut the password short in C.
    invalidOption("keyPassword", "(hidden)", "a string with no NUL characters");
  }
  const verify = side === "client" ? optBool(o, "verify", true) : true;
  const clientAuth = side === "server" ? optEnum(o, "clientAuth", CLIENT_AUTH, "none") : "none";
  const hasOwnCas = caCerts.length > 0 || caFile !== undefined || caPath !== undefined;
  const config: ContextConfig = {
    side,
    datagram,
    verify,
    caCerts,
    caFile,
    caPath,
    systemTrust: !hasOwnCas && (side === "client" ? verify : clientAuth !== "none"),
    cert: contentOrFile(o, "cert", "certFile"),
    key: contentOrFile(o, "key", "keyFile"),
    keyPassword: o.keyPassword as string | undefined,
    sni: [],
    alpnProtocols: alpnList(o.alpnProtocols),
    clientAuth,
    minVersion,
    maxVersion,
    ciphers: optString(o, "ciphers"),
    cipherSuites: optString(o, "cipherSuites"),
    groups: optString(o, "groups"),
    sessionCacheSize: optInt(o, "sessionCacheSize", 1 << 24),
    sessionTimeout: optInt(o, "sessionTimeout", 0x7fffffff),
    tickets: optBool(o, "tickets", true),
    keylog: (o.keylog as ContextConfig["keylog"]) ?? keylogFromEnv(),
    mtu: optInt(o, "mtu", 65507),
  };
  if (o.renegotiation !== undefined) config.renegotiation = optBool(o, "renegotiation", false);
  if (o.securityLevel !== undefined) config.securityLevel = optInt(o, "securityLevel", 5);
  if (side === "client" && o.requestOcsp !== undefined) {
    config.requestOcsp = optBool(o, "requestOcsp", false);
  }
  if (side === "server" && o.ocspResponse !== undefined) {
    const r = o.ocspResponse;
    if (r instanceof Uint8Array) {
      if (r.length === 0) invalidOption("ocspResponse", "(empty bytes)", "DER OCSP response bytes");
      config.ocspResponse = r.slice();
    } else if (typeof r === "function") {
      config.ocspResponse = r as () => Uint8Array | null;
    } else {
      invalidOption("ocspResponse", r, "a Uint8Array (DER) or a function returning one");
    }
  }
  if (config.mtu !== undefined && config.mtu < 256) {
    invalidOption("mtu", config.mtu, "at least 256");
  }
  if (datagram) datagramSettings(o, config);
  if ((config.cert === undefined) !== (config.key === undefined)) {
    const missing = config.cert === undefined ? "cert" : "key";
    throw new TlsError("INVALID_OPTION", `invalid option ${missing}: cert and key go together`, {
      option: missing,
    });
  }
  if (side === "server") {
    const sni = o.sni;
    if (sni !== undefined) {
      if (typeof sni !== "object" || sni === null || Array.isArray(sni)) {
        invalidOption("sni", sni, "an object mapping host names to { cert, key }");
      }
      for (const [name, entry] of Object.entries(sni as Record<string, { cert: Pem; key: Pem }>)) {
        if (!name || name.includes("\0")) invalidOption("sni", name, "host names");
        config.sni.push({
          name,
          cert: pemBytes(entry?.cert, `sni[${JSON.stringify(name)}].cert`),
          key: pemBytes(entry?.key, `sni[${JSON.stringify(name)}].key`),
        });
      }
    }
    if (!config.cert && config.sni.length === 0) {
      throw new TlsError(
        "INVALID_OPTION",
        "invalid option cert: a server needs cert and key (or certFile and keyFile)",
        {
          option: "cert",
        },
      );
    }
  }
  return config;
}

/**
 * DTLS: 1.2 is the only version, so the TLS version options do not apply; a
 * server may fix its cookie secret (by default each context draws its own).
 */
function datagramSettings(o: Record<string, unknown>, config: ContextConfig): void {
  config.minVersion = "TLS1.2";
  config.maxVersion = "TLS1.2";
  if (config.side !== "server" || o.cookieSecret === undefined) return;
  const s = o.cookieSecret;
  const bytes = typeof s === "string"
    ? new TextEncoder().encode(s)
    : s instanceof Uint8Array
    ? s.slice()
    : null;
  if (!bytes || bytes.length < 16) {
    invalidOption("cookieSecret", typeof s, "a string or Uint8Array of at least 16 bytes");
  }
  config.cookieSecret = bytes;
}

/** Validates `handshakeTimeout`. */
export function handshakeTimeoutOf(o: Record<string, unknown>, dflt?: number): number | undefined {
  const v = o.handshakeTimeout;
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    invalidOption("handshakeTimeout", v, "a positive number of milliseconds");
  }
  return v;
}

/** Validates `signal`. */
export function signalOf(o: Record<string, unknown>): AbortSignal | undefined {
  const v = o.signal;
  if (v === undefined) return undefined;
  if (!(v instanceof AbortSignal)) invalidOption("signal", v, "an AbortSignal");
  return v;
}

/** Validates a port. */
export function portOf(v: unknown, option = "port"): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    invalidOption(option, v, "an integer from 0 to 65535");
  }
  return v;
}

/**
 * Validates the name a client verifies (and sends as SNI). A NUL or other
 * control character would cut the name short in C and verify a different one.
 */
export function checkServerName(name: unknown): string {
  // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
  if (typeof name !== "string" || !name || name.length > 255 || /[\x00-\x20\x7f]/.test(name)) {
    invalidOption(
      "serverName",
      name,
      "a host name or IP address (no spaces or control characters)",
    );
  }
  return name;
}
