/**
 * An `mbedtls_ssl_config` built from a {@link ContextConfig}: trust, own
 * certificate, SNI certificates, versions, suites, groups, ALPN, tickets,
 * session cache, DTLS cookies. One context serves many engines.
 *
 * The config keeps pointers to the chains, keys, RNG, ALPN list, suite and
 * group lists: all live in pinned memory owned by {@link ContextNative}, which
 * is freed once the owner has let go and the last engine is gone.
 *
 * @module
 */

import { C, SIZES } from "../../ffi/mbedtls.ts";
import { cstr, pinnedBytes, type Ptr, ptrAdd, ptrOf, writePtrTo } from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import type { CertInfo, ContextConfig, Engine, EngineOptions, NativeContext } from "../backend.ts";
import { callbacks } from "./callbacks.ts";
import { CertChain, PrivateKey } from "./certs.ts";
import { CookieContext } from "./dtls.ts";
import { MbedEngine } from "./engine.ts";
import { type MbedTls, strerror } from "./lib.ts";
import {
  checkTls13Suites,
  DEFAULT_CIPHERS,
  groupIds,
  mbedSuiteNames,
  SUPPORTED_GROUPS,
} from "./names.ts";
import { SessionCache, TicketKeys } from "./sessions.ts";

/**
 * `offsetof(mbedtls_x509_crt, pk)` in 2.28 on 64-bit: the fields before it are
 * fixed-layout buffers, names and times that no build option changes.
 */
const X509_CRT_PK_OFFSET = 360;

let sharedSystemChain: CertChain | null | undefined;

/** The process-wide chain of the system's trust anchors (never freed), or null if none was found. */
function systemChain(m: MbedTls): CertChain | null {
  if (sharedSystemChain === undefined) {
    const chain = new CertChain(m);
    sharedSystemChain = chain.addSystemTrust() ? chain : (chain.free(), null);
  }
  return sharedSystemChain;
}

/** Something native with a single free. */
interface Owned {
  free(): void;
}

/** A certificate and key chosen by SNI. */
export interface SniEntry {
  name: string;
  chain: CertChain;
  key: PrivateKey;
}

/**
 * The native half of a context, shared by its engines: freed when the owner
 * has released it and no engine remains (in whatever order those happen,
 * finalizers included).
 */
export class ContextNative {
  readonly m: MbedTls;
  readonly confMem = pinnedBytes(SIZES.config);
  readonly conf: Ptr;
  /** Chains, keys, tickets, cache, cookies: freed after the config. */
  readonly owned: Owned[] = [];
  /** Memory the config points into (ALPN strings and list, suite and group lists). */
  readonly pins: Uint8Array[] = [];
  #users = 1; // the owner, plus one per live engine
  #freed = false;

  constructor(m: MbedTls) {
    this.m = m;
    this.conf = ptrOf(this.confMem);
    m.tls.mbedtls_ssl_config_init(this.conf);
  }

  get freed(): boolean {
    return this.#freed;
  }

  retain(): void {
    this.#users++;
  }

  release(): void {
    if (--this.#users > 0 || this.#freed) return;
    this.#freed = true;
    this.m.tls.mbedtls_ssl_config_free(this.conf);
    for (const o of this.owned) o.free();
    this.owned.length = 0;
    this.pins.length = 0;
  }
}

const registry = new FinalizationRegistry<ContextNative>((n) => n.release());

function pinCString(native: ContextNative, s: string): Ptr {
  const b = pinnedBytes(new TextEncoder().encode(s).length + 1);
  b.set(cstr(s));
  native.pins.push(b);
  return ptrOf(b);
}

/** A 0-terminated int array in pinned memory (suite and group lists). */
function pinIntList(native: ContextNative, values: number[]): Ptr {
  const b = pinnedBytes((values.length + 1) * 4);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setInt32(i * 4, v, true));
  native.pins.push(b);
  return ptrOf(b);
}

const DEFAULT_SESSION_TIMEOUT = 300; // seconds, as OpenSSL's default
const DEFAULT_CACHE_SIZE = 1024;

/** An mbedTLS context: one `mbedtls_ssl_config` and everything it points at. */
export class MbedContext implements NativeContext {
  readonly config: ContextConfig;
  readonly m: MbedTls;
  readonly native: ContextNative;
  /** Turns a DER certificate into CertInfo. */
  readonly parseCertificate: (der: Uint8Array) => CertInfo;
  /** Whether the context has a default certificate of its own. */
  hasOwnCert = false;
  readonly #sni: SniEntry[] = [];
  #released = false;
  /** The trust anchors the config points at (appended to by trustCertificate). */
  #caChain: CertChain | null = null;

  constructor(m: MbedTls, config: ContextConfig, parse: (der: Uint8Array) => CertInfo) {
    this.m = m;
    this.config = config;
    this.parseCertificate = parse;
    this.#checkVersions(config);
    this.native = new ContextNative(m);
    try {
      this.#configure(config);
    } catch (e) {
      this.native.release();
      throw e;
    }
    registry.register(this, this.native, this);
  }

  #checkVersions(c: ContextConfig): void {
    for (
      const [option, v] of [["minVersion", c.minVersion], ["maxVersion", c.maxVersion]] as const
    ) {
      if (v !== "TLS1.2" && v !== "TLS1.3") {
        throw new TlsError("INVALID_OPTION", `invalid option ${option}: ${JSON.stringify(v)}`, {
          option,
        });
      }
    }
    if (c.minVersion === "TLS1.3") {
      throw new TlsError(
        "UNSUPPORTED",
        `minVersion "TLS1.3" is not possible with the mbedtls backend: mbedTLS ${
          this.m.version.replace(/^mbed TLS /i, "")
        } has no TLS 1.3 (use the openssl backend)`,
        { option: "minVersion" },
      );
    }
  }

  /** Options mbedTLS 2.28 has no way to honour: refused, never silently dropped. */
  #checkUnsupported(c: ContextConfig): void {
    const version = this.m.version.replace(/^mbed TLS /i, "");
    const refuse = (option: string, what: string): never => {
      throw new TlsError(
        "UNSUPPORTED",
        `${option} is not supported by the mbedtls backend (mbedTLS ${version}): ${what}`,
        { option },
      );
    };
    if (c.ocspResponse !== undefined) refuse("ocspResponse", "it has no OCSP stapling");
    if (c.requestOcsp) refuse("requestOcsp", "it has no OCSP stapling");
    if (c.securityLevel !== undefined) refuse("securityLevel", "it has no security levels");
  }

  #configure(c: ContextConfig): void {
    this.#checkUnsupported(c);
    const { tls } = this.m;
    const n = this.native;
    const conf = n.conf;
    const server = c.side === "server";
    let rc = tls.mbedtls_ssl_config_defaults(
      conf,
      server ? C.IS_SERVER : C.IS_CLIENT,
      c.datagram ? C.TRANSPORT_DATAGRAM : C.TRANSPORT_STREAM,
      C.PRESET_DEFAULT,
    );
    if (rc !== 0) {
      throw new TlsError("HANDSHAKE", "mbedtls_ssl_config_defaults failed", {
        detail: strerror(this.m, rc),
      });
    }
    tls.mbedtls_ssl_conf_rng(conf, this.m.fn.mbedtls_ctr_drbg_random, this.m.drbg);
    // 2.28 speaks TLS 1.2 / DTLS 1.2 at most; 1.0 and 1.1 are never enabled.
    tls.mbedtls_ssl_conf_min_version(conf, C.MAJOR_VERSION_3, C.MINOR_VERSION_3);
    tls.mbedtls_ssl_conf_max_version(conf, C.MAJOR_VERSION_3, C.MINOR_VERSION_3);
    tls.mbedtls_ssl_conf_renegotiation(conf, c.renegotiation ? 1 : 0);

    const verifying = server ? c.clientAuth !== "none" : c.verify;
    tls.mbedtls_ssl_conf_authmode(
      conf,
      server
        ? (c.clientAuth === "require"
          ? C.VERIFY_REQUIRED
          : c.clientAuth === "request"
          ? C.VERIFY_OPTIONAL
          : C.VERIFY_NONE)
        : (c.verify ? C.VERIFY_REQUIRED : C.VERIFY_NONE),
    );
    if (server && !["none", "request", "require"].includes(c.clientAuth)) {
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option clientAuth: ${JSON.stringify(c.clientAuth)}`,
        {
          option: "clientAuth",
        },
      );
    }
    this.#setTrust(c, verifying);

    if (c.cert || c.key) {
      if (!c.cert || !c.key) {
        throw new TlsError(
          "INVALID_OPTION",
          `invalid option ${c.cert ? "key" : "cert"}: cert and key go together`,
          {
            option: c.cert ? "key" : "cert",
          },
        );
      }
      const { chain, key } = this.#loadPair(c.cert, c.key, c.keyPassword, "cert", "key");
      rc = tls.mbedtls_ssl_conf_own_cert(conf, chain.ptr, key.ptr);
      if (rc !== 0) {
        throw new TlsError("INVALID_OPTION", "invalid option cert: rejected by mbedTLS", {
          option: "cert",
          detail: strerror(this.m, rc),
        });
      }
      this.hasOwnCert = true;
    }
    if (server) {
      for (const e of c.sni) {
        const { chain, key } = this.#loadPair(
          e.cert,
          e.key,
          undefined,
          `sni.${e.name}.cert`,
          `sni.${e.name}.key`,
        );
        this.#sni.push({ name: e.name.toLowerCase(), chain, key });
      }
      if (!this.hasOwnCert && this.#sni.length === 0) {
        throw new TlsError("INVALID_OPTION", "invalid option cert: a server needs cert and key", {
          option: "cert",
        });
      }
      // Always installed: it is also how the server learns the client's SNI.
      tls.mbedtls_ssl_conf_sni(conf, callbacks().sni.ptr, null);
    }

    this.#setAlpn(c.alpnProtocols);
    this.#setCiphers(c.ciphers ?? DEFAULT_CIPHERS, c.ciphers === undefined);
    if (c.cipherSuites !== undefined) checkTls13Suites(c.cipherSuites);
    tls.mbedtls_ssl_conf_curves(
      conf,
      pinIntList(n, groupIds(c.groups ?? SUPPORTED_GROUPS.join(":"))),
    );

    // Key export: needed for exportKeyingMaterial and keylog.
    tls.mbedtls_ssl_conf_export_keys_ext_cb(conf, callbacks().exportKeys.ptr, null);
    this.#setSessions(c, server);
    if (c.datagram && server) {
      if (
        c.cookieSecret !== undefined &&
        (!(c.cookieSecret instanceof Uint8Array) || c.cookieSecret.length < 16)
      ) {
        throw new TlsError(
          "INVALID_OPTION",
          "invalid option cookieSecret: at least 16 bytes expected",
          {
            option: "cookieSecret",
          },
        );
      }
      const cookies = new CookieContext(this.m, c.cookieSecret);
      n.owned.push(cookies);
      tls.mbedtls_ssl_conf_dtls_cookies(
        conf,
        this.m.fn.mbedtls_ssl_cookie_write,
        this.m.fn.mbedtls_ssl_cookie_check,
        cookies.ptr,
      );
    }
    if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || c.mtu < 256 || c.mtu > 65535)) {
      throw new TlsError("INVALID_OPTION", `invalid option mtu: ${c.mtu} (expected 256..65535)`, {
        option: "mtu",
      });
    }
  }

  #setTrust(c: ContextConfig, verifying: boolean): void {
    if (verifying && c.systemTrust) {
      // The system bundle takes ~3 ms to parse: share one chain (never modified) per process.
      const system = systemChain(this.m);
      if (system) {
        this.#caChain = system;
        this.m.tls.mbedtls_ssl_conf_ca_chain(this.native.conf, system.ptr, null);
        return;
      }
    }
    const chain = new CertChain(this.m);
    this.native.owned.push(chain);
    this.#caChain = chain;
    c.caCerts.forEach((ca, i) => chain.add(ca, `caCerts[${i}]`));
    if (c.caFile) chain.addFile(c.caFile, "caFile");
    if (c.caPath) chain.addPath(c.caPath, "caPath");
    if (verifying && c.systemTrust) chain.addSystemTrust();
    if (chain.count > 0) this.m.tls.mbedtls_ssl_conf_ca_chain(this.native.conf, chain.ptr, null);
  }

  #loadPair(
    cert: Uint8Array,
    keyData: Uint8Array,
    password: string | undefined,
    certOption: string,
    keyOption: string,
  ): { chain: CertChain; key: PrivateKey } {
    const chain = new CertChain(this.m);
    this.native.owned.push(chain);
    chain.add(cert, certOption);
    const key = new PrivateKey(this.m, keyData, password, keyOption);
    this.native.owned.push(key);
    // mbedTLS would take a key that does not match the certificate and fail
    // every handshake later; refuse it here, as OpenSSL does.
    if (this.m.crypto.mbedtls_pk_check_pair(ptrAdd(chain.ptr, X509_CRT_PK_OFFSET), key.ptr) !== 0) {
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option ${keyOption}: it does not match ${certOption}`,
        {
          option: keyOption,
        },
      );
    }
    return { chain, key };
  }

  #setAlpn(protocols: string[]): void {
    if (protocols.length === 0) return;
    const n = this.native;
    const list = pinnedBytes((protocols.length + 1) * 8);
    protocols.forEach((p, i) => {
      const len = new TextEncoder().encode(p).length;
      if (typeof p !== "string" || len === 0 || len > 255 || p.includes("\0")) {
        throw new TlsError("INVALID_OPTION", `invalid option alpnProtocols: ${JSON.stringify(p)}`, {
          option: "alpnProtocols",
        });
      }
      writePtrTo(list, i * 8, pinCString(n, p));
    });
    n.pins.push(list);
    const rc = this.m.tls.mbedtls_ssl_conf_alpn_protocols(n.conf, ptrOf(list));
    if (rc !== 0) {
      throw new TlsError("INVALID_OPTION", "invalid option alpnProtocols", {
        option: "alpnProtocols",
        detail: strerror(this.m, rc),
      });
    }
  }

  /** `lenient`: skip suites this build lacks (the defaults) instead of rejecting them. */
  #setCiphers(ciphers: string, lenient: boolean): void {
    const ids: number[] = [];
    for (const name of mbedSuiteNames(ciphers)) {
      const id = this.m.tls.mbedtls_ssl_get_ciphersuite_id(cstr(name));
      if (id === 0 && lenient) continue;
      if (id === 0) {
        throw new TlsError(
          "INVALID_OPTION",
          `invalid option ciphers: ${JSON.stringify(ciphers)} (${
            name.replaceAll("-", "_")
          } is not in this mbedTLS build)`,
          { option: "ciphers" },
        );
      }
      if (!ids.includes(id)) ids.push(id);
    }
    this.m.tls.mbedtls_ssl_conf_ciphersuites(this.native.conf, pinIntList(this.native, ids));
  }

  #setSessions(c: ContextConfig, server: boolean): void {
    const { tls } = this.m;
    const conf = this.native.conf;
    const timeout = c.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT;
    if (!Number.isInteger(timeout) || timeout < 0) {
      throw new TlsError("INVALID_OPTION", `invalid option sessionTimeout: ${timeout}`, {
        option: "sessionTimeout",
      });
    }
    if (!server) {
      tls.mbedtls_ssl_conf_session_tickets(conf, c.tickets ? 1 : 0);
      return;
    }
    if (c.tickets) {
      const keys = new TicketKeys(this.m, timeout);
      this.native.owned.push(keys);
      tls.mbedtls_ssl_conf_session_tickets_cb(
        conf,
        this.m.fn.mbedtls_ssl_ticket_write,
        this.m.fn.mbedtls_ssl_ticket_parse,
        keys.ptr,
      );
    }
    const size = c.sessionCacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(size) || size < 0) {
      throw new TlsError("INVALID_OPTION", `invalid option sessionCacheSize: ${size}`, {
        option: "sessionCacheSize",
      });
    }
    if (size > 0) {
      const cache = new SessionCache(this.m, size, timeout);
      this.native.owned.push(cache);
      tls.mbedtls_ssl_conf_session_cache(
        conf,
        cache.ptr,
        this.m.fn.mbedtls_ssl_cache_get,
        this.m.fn.mbedtls_ssl_cache_set,
      );
    }
  }

  /** The SNI entry for `name`: exact match first, then a `*.` wildcard. */
  sniFor(name: string): SniEntry | null {
    const host = name.toLowerCase();
    const exact = this.#sni.find((e) => e.name === host);
    if (exact) return exact;
    const dot = host.indexOf(".");
    if (dot <= 0) return null;
    return this.#sni.find((e) =>
      e.name.startsWith("*.") && e.name.slice(2) === host.slice(dot + 1)
    ) ?? null;
  }

  /**
   * Appends CAs to the chain the config already points at: mbedTLS reads that
   * list at verification time, so later handshakes trust them.
   */
  trustCertificate(data: Uint8Array): void {
    if (this.#released || this.native.freed || !this.#caChain) {
      throw new TlsError("CLOSED", "the context has been freed");
    }
    let chain = this.#caChain;
    if (chain === sharedSystemChain) {
      // Never modify the shared system chain: this context gets its own copy.
      chain = new CertChain(this.m);
      this.native.owned.push(chain);
      chain.addSystemTrust();
      this.#caChain = chain;
      this.m.tls.mbedtls_ssl_conf_ca_chain(this.native.conf, chain.ptr, null);
    }
    const first = chain.count === 0;
    chain.add(data, "trustCertificate");
    // An empty chain was never given to the config (verification had no anchors).
    if (first) this.m.tls.mbedtls_ssl_conf_ca_chain(this.native.conf, chain.ptr, null);
  }

  createEngine(options: EngineOptions): Engine {
    if (this.#released || this.native.freed) {
      throw new TlsError("CLOSED", "the context has been freed");
    }
    return new MbedEngine(this, options);
  }

  free(): void {
    if (this.#released) return;
    this.#released = true;
    registry.unregister(this);
    this.native.release();
  }
}
