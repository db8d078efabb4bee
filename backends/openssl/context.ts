/**
 * `SSL_CTX` built from a {@link ContextConfig}: trust, own certificate, versions,
 * ciphers, ALPN, SNI, sessions, keylog. One context serves many engines.
 *
 * @module
 */

import {
  copyFrom,
  copyToNative,
  createCallback,
  cstr,
  isNull,
  keepAlive,
  type NativeCallback,
  nativeView,
  type Ptr,
  ptrAdd,
  ptrOf,
  ptrValue,
  readCString,
  writePtrTo,
} from "../../ffi/runtime.ts";
import {
  SSL_CTRL,
  SSL_MODE,
  SSL_OP,
  SSL_SESS_CACHE,
  SSL_TLSEXT_ERR,
  SSL_VERIFY,
  VERSION,
} from "../../ffi/openssl.ts";
import { TlsError } from "../../errors.ts";
import type { CertInfo, ContextConfig, EngineOptions, NativeContext } from "../backend.ts";
import { runUserCallback } from "../backend.ts";
import { plainBytes } from "../bytes.ts";
import { loadCertificates, loadPrivateKey } from "./certs.ts";
import { detailOf, drainErrors } from "./errors.ts";
import type { OpenSsl } from "./lib.ts";
import { OpenSslEngine } from "./engine.ts";

const SESSION_ID_CONTEXT = cstr("jsec").subarray(0, 4);
/** `TLSEXT_STATUSTYPE_ocsp`, the only certificate status type. */
const TLSEXT_STATUSTYPE_OCSP = 1;

/** Encodes ALPN protocol names in the wire format (length-prefixed). */
export function alpnWire(protocols: string[]): Uint8Array {
  const parts = protocols.map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out[off++] = p.length;
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function matchesHost(pattern: string, host: string): boolean {
  pattern = pattern.toLowerCase();
  host = host.toLowerCase();
  if (pattern === host) return true;
  if (!pattern.startsWith("*.")) return false;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}

let sharedSystemStore: Ptr | undefined;

/** The process-wide store of the system's trust anchors (never freed), or null. */
function systemStore(o: OpenSsl): Ptr {
  if (sharedSystemStore === undefined) {
    const store = o.crypto.X509_STORE_new();
    if (!isNull(store) && o.crypto.X509_STORE_set_default_paths(store) !== 1) drainErrors(o);
    sharedSystemStore = store;
  }
  return sharedSystemStore;
}

/** True when `ctx` verifies with the shared system store (which must never be modified). */
function usesSystemStore(o: OpenSsl, ctx: Ptr): boolean {
  return !!sharedSystemStore &&
    ptrValue(o.ssl.SSL_CTX_get_cert_store(ctx)) === ptrValue(sharedSystemStore);
}

const registry = new FinalizationRegistry<() => void>((release) => release());

/** An OpenSSL `SSL_CTX` and the callbacks it holds. */
export class OpenSslContext implements NativeContext {
  readonly config: ContextConfig;
  readonly o: OpenSsl;
  /** The `SSL_CTX *`; null once freed. */
  ptr: Ptr;
  /** Live engines by `SSL *` address, for callbacks that must find theirs. */
  readonly engines = new Map<bigint, WeakRef<OpenSslEngine>>();
  #callbacks: NativeCallback[] = [];
  #sniContexts: { name: string; ctx: OpenSslContext }[] = [];
  #users = 1; // the owner's reference, plus one per live engine
  #freed = false;

  /** Turns a DER certificate into CertInfo (the backend's crypto provider). */
  readonly parseCertificate: (der: Uint8Array) => CertInfo;

  constructor(o: OpenSsl, config: ContextConfig, parseCertificate: (der: Uint8Array) => CertInfo) {
    this.o = o;
    this.config = config;
    this.parseCertificate = parseCertificate;
    const method = config.datagram ? o.ssl.DTLS_method() : o.ssl.TLS_method();
    const ctx = o.ssl.SSL_CTX_new(method);
    if (isNull(ctx)) {
      throw new TlsError("HANDSHAKE", "SSL_CTX_new failed", { detail: detailOf(drainErrors(o)) });
    }
    this.ptr = ctx;
    try {
      this.#configure(config);
    } catch (e) {
      this.#destroy();
      throw e;
    }
    const ctxPtr = ctx;
    registry.register(this, () => {
      // Only reached if the owner forgot free(); engines hold the context strongly.
      o.ssl.SSL_CTX_free(ctxPtr);
    }, this);
  }

  #configure(c: ContextConfig): void {
    const { ssl } = this.o;
    const ctx = this.ptr;
    let options = SSL_OP.NO_COMPRESSION | SSL_OP.CIPHER_SERVER_PREFERENCE;
    // Renegotiation is refused unless asked for; OpenSSL 3 servers also need
    // ALLOW_CLIENT_RENEGOTIATION to accept a client-initiated one.
    if (c.renegotiation) {
      if (c.side === "server") options |= SSL_OP.ALLOW_CLIENT_RENEGOTIATION;
    } else options |= SSL_OP.NO_RENEGOTIATION;
    if (!c.tickets) options |= SSL_OP.NO_TICKET;
    if (c.datagram) options |= SSL_OP.NO_QUERY_MTU;
    ssl.SSL_CTX_set_options(ctx, options);
    // Before the certificates: the level decides which keys are acceptable.
    if (c.securityLevel !== undefined) ssl.SSL_CTX_set_security_level(ctx, c.securityLevel);
    ssl.SSL_CTX_ctrl(
      ctx,
      SSL_CTRL.MODE,
      BigInt(SSL_MODE.ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE.RELEASE_BUFFERS),
      null,
    );
    this.#setVersions(c);
    this.#setTrust(c);
    if (c.cert || c.key) this.#setOwnCertificate(c.cert, c.key, c.keyPassword);
    if (c.ciphers !== undefined) {
      this.#checked(ssl.SSL_CTX_set_cipher_list(ctx, cstr(c.ciphers)), "ciphers", c.ciphers);
    }
    if (c.cipherSuites !== undefined) {
      this.#checked(
        ssl.SSL_CTX_set_ciphersuites(ctx, cstr(c.cipherSuites)),
        "cipherSuites",
        c.cipherSuites,
      );
    }
    if (c.groups !== undefined) {
      const list = cstr(c.groups); // parsed during the call
      const r = ssl.SSL_CTX_ctrl(ctx, SSL_CTRL.SET_GROUPS_LIST, 0n, ptrOf(list));
      keepAlive(list);
      this.#checked(Number(r), "groups", c.groups);
    }
    if (c.alpnProtocols.length) this.#setAlpn(c);
    if (c.side === "server") {
      ssl.SSL_CTX_set_session_id_context(ctx, SESSION_ID_CONTEXT, SESSION_ID_CONTEXT.length);
      if (c.sessionCacheSize !== undefined) {
        ssl.SSL_CTX_ctrl(ctx, SSL_CTRL.SET_SESS_CACHE_SIZE, BigInt(c.sessionCacheSize), null);
        if (c.sessionCacheSize === 0) {
          ssl.SSL_CTX_ctrl(ctx, SSL_CTRL.SET_SESS_CACHE_MODE, BigInt(SSL_SESS_CACHE.OFF), null);
        }
      }
      if (c.sessionTimeout !== undefined) ssl.SSL_CTX_set_timeout(ctx, BigInt(c.sessionTimeout));
      if (c.sni.length) this.#setSni(c);
      if (c.datagram) this.#setCookies(c);
      if (c.ocspResponse !== undefined) this.#setOcspStapling(c.ocspResponse);
    } else {
      if (c.requestOcsp) {
        ssl.SSL_CTX_ctrl(
          ctx,
          SSL_CTRL.SET_TLSEXT_STATUS_REQ_TYPE,
          BigInt(TLSEXT_STATUSTYPE_OCSP),
          null,
        );
      }
      // Client: hand every new session (TLS 1.3 tickets arrive after the handshake) to its engine.
      ssl.SSL_CTX_ctrl(
        ctx,
        SSL_CTRL.SET_SESS_CACHE_MODE,
        BigInt(SSL_SESS_CACHE.CLIENT | SSL_SESS_CACHE.NO_INTERNAL_STORE),
        null,
      );
      const cb = this.#callback({ params: ["ptr", "ptr"], result: "i32" }, (s: Ptr, sess: Ptr) => {
        this.engineOf(s)?.onNewSession(sess);
        return 0; // we did not keep a reference: OpenSSL keeps ownership
      });
      ssl.SSL_CTX_sess_set_new_cb(ctx, cb);
    }
    if (c.keylog) {
      const keylog = c.keylog;
      const cb = this.#callback(
        { params: ["ptr", "ptr"], result: "void" },
        (_s: Ptr, line: Ptr) => {
          try {
            const text = readCString(line);
            runUserCallback(() => keylog(text));
          } catch { /* a throwing user callback must not reach C */ }
        },
      );
      ssl.SSL_CTX_set_keylog_callback(ctx, cb);
    }
  }

  /**
   * Server: staples `source` (DER, or a function giving fresh DER per handshake)
   * when the client sends status_request. OpenSSL frees the response it is
   * given, so each handshake gets its own `CRYPTO_malloc` copy.
   */
  #setOcspStapling(source: Uint8Array | (() => Uint8Array | null)): void {
    const { ssl, crypto } = this.o;
    const fixed = source instanceof Uint8Array ? source.slice() : null;
    const file = cstr("jsec-ocsp");
    const cb = this.#callback({ params: ["ptr", "ptr"], result: "i32" }, (s: Ptr) => {
      try {
        const given = fixed ?? runUserCallback(source as () => Uint8Array | null);
        if (!(given instanceof Uint8Array)) return SSL_TLSEXT_ERR.NOACK;
        const der = plainBytes(given); // its length goes to C
        if (der.length === 0) return SSL_TLSEXT_ERR.NOACK;
        const mem = crypto.CRYPTO_malloc(BigInt(der.length), file, 0);
        if (isNull(mem)) return SSL_TLSEXT_ERR.NOACK;
        copyToNative(mem, der);
        // On success OpenSSL owns `mem` (it frees the response with the SSL).
        ssl.SSL_ctrl(s, SSL_CTRL.SET_TLSEXT_STATUS_REQ_OCSP_RESP, BigInt(der.length), mem);
        return SSL_TLSEXT_ERR.OK;
      } catch {
        return SSL_TLSEXT_ERR.NOACK; // a throwing provider means no staple, not a failed handshake
      }
    });
    ssl.SSL_CTX_callback_ctrl(this.ptr, SSL_CTRL.SET_TLSEXT_STATUS_REQ_CB, cb);
  }

  /** Adds trusted CAs (PEM or DER) to the live store: later handshakes trust them. */
  trustCertificate(data: Uint8Array): void {
    if (this.#freed || isNull(this.ptr)) throw new TlsError("CLOSED", "the context has been freed");
    const { ssl, crypto } = this.o;
    const certs = loadCertificates(this.o, data, "trustCertificate");
    if (usesSystemStore(this.o, this.ptr)) {
      // The shared system store is never modified: give this context its own copy first.
      const own = crypto.X509_STORE_new();
      if (isNull(own)) {
        throw new TlsError("INVALID_OPTION", "trustCertificate: out of memory", {
          option: "trustCertificate",
        });
      }
      crypto.X509_STORE_set_default_paths(own);
      ssl.SSL_CTX_set_cert_store(this.ptr, own); // takes our reference, drops the shared one
    }
    const store = ssl.SSL_CTX_get_cert_store(this.ptr);
    try {
      for (const x of certs) {
        crypto.X509_STORE_add_cert(store, x);
        if (this.config.side === "server") ssl.SSL_CTX_add_client_CA(this.ptr, x);
      }
    } finally {
      for (const x of certs) crypto.X509_free(x);
      drainErrors(this.o); // "cert already in hash table" is harmless
    }
    for (const e of this.#sniContexts) e.ctx.trustCertificate(data);
  }

  #checked(r: number, option: string, value: string): void {
    if (r !== 1) {
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option ${option}: ${JSON.stringify(value)} is not accepted by ${this.o.version}`,
        {
          option,
          detail: detailOf(drainErrors(this.o)),
        },
      );
    }
  }

  #setVersions(c: ContextConfig): void {
    const { ssl } = this.o;
    const v = (name: string) =>
      c.datagram ? VERSION.DTLS1_2 : name === "TLS1.3" ? VERSION.TLS1_3 : VERSION.TLS1_2;
    ssl.SSL_CTX_ctrl(this.ptr, SSL_CTRL.SET_MIN_PROTO_VERSION, BigInt(v(c.minVersion)), null);
    ssl.SSL_CTX_ctrl(this.ptr, SSL_CTRL.SET_MAX_PROTO_VERSION, BigInt(v(c.maxVersion)), null);
  }

  #setTrust(c: ContextConfig): void {
    const { ssl, crypto } = this.o;
    const ctx = this.ptr;
    let mode: number = SSL_VERIFY.NONE;
    if (c.side === "client") mode = c.verify ? SSL_VERIFY.PEER : SSL_VERIFY.NONE;
    else if (c.clientAuth === "request") mode = SSL_VERIFY.PEER;
    else if (c.clientAuth === "require") mode = SSL_VERIFY.PEER | SSL_VERIFY.FAIL_IF_NO_PEER_CERT;
    ssl.SSL_CTX_set_verify(ctx, mode, null);
    if (mode === SSL_VERIFY.NONE) return;
    const store = ssl.SSL_CTX_get_cert_store(ctx);
    for (const [i, pem] of c.caCerts.entries()) {
      for (const x of loadCertificates(this.o, pem, `caCerts[${i}]`)) {
        crypto.X509_STORE_add_cert(store, x); // the store takes its own reference
        if (c.side === "server") ssl.SSL_CTX_add_client_CA(ctx, x); // names for the CertificateRequest
        crypto.X509_free(x);
      }
    }
    drainErrors(this.o); // "cert already in hash table" is harmless
    if (c.caFile !== undefined || c.caPath !== undefined) {
      const r = ssl.SSL_CTX_load_verify_locations(
        ctx,
        c.caFile !== undefined ? cstr(c.caFile) : null,
        c.caPath !== undefined ? cstr(c.caPath) : null,
      );
      if (r !== 1) {
        const option = c.caFile !== undefined ? "caFile" : "caPath";
        throw new TlsError(
          "INVALID_OPTION",
          `invalid option ${option}: could not load ${c.caFile ?? c.caPath}`,
          {
            option,
            detail: detailOf(drainErrors(this.o)),
          },
        );
      }
    }
    if (c.systemTrust) {
      // Parsing the system bundle costs ~20 ms: do it once per process and
      // share the store (read-only: only contexts with no CAs of their own use it).
      const system = systemStore(this.o);
      if (system) {
        crypto.X509_STORE_up_ref(system);
        ssl.SSL_CTX_set_cert_store(ctx, system);
      } else ssl.SSL_CTX_set_default_verify_paths(ctx);
    }
  }

  #setOwnCertificate(
    cert: Uint8Array | undefined,
    key: Uint8Array | undefined,
    password?: string,
  ): void {
    if (!cert || !key) {
      const option = cert ? "key" : "cert";
      throw new TlsError("INVALID_OPTION", `invalid option ${option}: cert and key go together`, {
        option,
      });
    }
    const { ssl, crypto } = this.o;
    const chain = loadCertificates(this.o, cert, "cert");
    const [leaf, ...rest] = chain;
    try {
      if (ssl.SSL_CTX_use_certificate(this.ptr, leaf) !== 1) {
        throw new TlsError("INVALID_OPTION", "invalid option cert: rejected by OpenSSL", {
          option: "cert",
          detail: detailOf(drainErrors(this.o)),
        });
      }
      for (const x of rest) {
        crypto.X509_up_ref(x); // EXTRA_CHAIN_CERT takes ownership of one reference
        ssl.SSL_CTX_ctrl(this.ptr, SSL_CTRL.EXTRA_CHAIN_CERT, 0n, x);
      }
    } finally {
      for (const x of chain) crypto.X509_free(x);
    }
    const pkey = loadPrivateKey(this.o, key, "key", password);
    try {
      if (
        ssl.SSL_CTX_use_PrivateKey(this.ptr, pkey) !== 1 ||
        ssl.SSL_CTX_check_private_key(this.ptr) !== 1
      ) {
        throw new TlsError("INVALID_OPTION", "invalid option key: it does not match cert", {
          option: "key",
          detail: detailOf(drainErrors(this.o)),
        });
      }
    } finally {
      crypto.EVP_PKEY_free(pkey);
    }
  }

  #setAlpn(c: ContextConfig): void {
    const { ssl } = this.o;
    const wire = alpnWire(c.alpnProtocols);
    if (c.side === "client") {
      if (ssl.SSL_CTX_set_alpn_protos(this.ptr, wire, wire.length) !== 0) {
        throw new TlsError("INVALID_OPTION", "invalid option alpnProtocols", {
          option: "alpnProtocols",
        });
      }
      return;
    }
    const ours = c.alpnProtocols;
    const cb = this.#callback(
      { params: ["ptr", "ptr", "ptr", "ptr", "u32", "ptr"], result: "i32" },
      (_s: Ptr, out: Ptr, outLen: Ptr, input: Ptr, inLen: number) => {
        try {
          // Server preference; point `out` into the client's list, which OpenSSL owns.
          const theirs = copyFrom(input, inLen);
          for (const want of ours) {
            for (let off = 0; off < theirs.length;) {
              const len = theirs[off];
              const name = new TextDecoder().decode(theirs.subarray(off + 1, off + 1 + len));
              if (name === want) {
                const outSlot = nativeView(out, 8);
                writePtrTo(outSlot, 0, ptrAdd(input, off + 1));
                nativeView(outLen, 1)[0] = len;
                return SSL_TLSEXT_ERR.OK;
              }
              off += 1 + len;
            }
          }
          return SSL_TLSEXT_ERR.ALERT_FATAL; // no_application_protocol
        } catch {
          return SSL_TLSEXT_ERR.ALERT_FATAL;
        }
      },
    );
    ssl.SSL_CTX_set_alpn_select_cb(this.ptr, cb, null);
  }

  #setSni(c: ContextConfig): void {
    for (const entry of c.sni) {
      const child = new OpenSslContext(
        this.o,
        { ...c, cert: entry.cert, key: entry.key, sni: [] },
        this.parseCertificate,
      );
      this.#sniContexts.push({ name: entry.name, ctx: child });
    }
    const cb = this.#callback({ params: ["ptr", "ptr", "ptr"], result: "i32" }, (s: Ptr) => {
      try {
        const name = readCString(this.o.ssl.SSL_get_servername(s, 0));
        if (!name) return SSL_TLSEXT_ERR.OK;
        const hit = this.#sniContexts.find((e) => matchesHost(e.name, name));
        if (hit) this.o.ssl.SSL_set_SSL_CTX(s, hit.ctx.ptr);
        return SSL_TLSEXT_ERR.OK;
      } catch {
        return SSL_TLSEXT_ERR.ALERT_FATAL;
      }
    });
    this.o.ssl.SSL_CTX_callback_ctrl(this.ptr, SSL_CTRL.SET_TLSEXT_SERVERNAME_CB, cb);
  }

  /** DTLS HelloVerifyRequest cookies: HMAC-SHA256(secret, the engine's transportId). */
  #setCookies(c: ContextConfig): void {
    const { ssl, crypto } = this.o;
    const secret = c.cookieSecret?.length
      ? c.cookieSecret.slice()
      : globalThis.crypto.getRandomValues(new Uint8Array(32));
    const md = crypto.EVP_sha256();
    const mdLen = new Uint8Array(4);
    const one = new Uint8Array(1); // Bun has no address for an empty buffer
    const cookieOf = (s: Ptr): Uint8Array => {
      const id = this.engineOf(s)?.transportId ?? one.subarray(0, 0);
      const out = new Uint8Array(32);
      crypto.HMAC(md, secret, secret.length, id.length ? id : one, BigInt(id.length), out, mdLen);
      return out;
    };
    const generate = this.#callback(
      { params: ["ptr", "ptr", "ptr"], result: "i32" },
      (s: Ptr, cookie: Ptr, len: Ptr) => {
        try {
          nativeView(cookie, 32).set(cookieOf(s));
          const lenView = nativeView(len, 4);
          new DataView(lenView.buffer, lenView.byteOffset, 4).setUint32(0, 32, true);
          return 1;
        } catch {
          return 0;
        }
      },
    );
    const verify = this.#callback(
      { params: ["ptr", "ptr", "u32"], result: "i32" },
      (s: Ptr, cookie: Ptr, len: number) => {
        try {
          if (len !== 32) return 0;
          const got = copyFrom(cookie, 32);
          const want = cookieOf(s);
          let diff = 0;
          for (let i = 0; i < 32; i++) diff |= got[i] ^ want[i];
          return diff === 0 ? 1 : 0;
        } catch {
          return 0;
        }
      },
    );
    ssl.SSL_CTX_set_cookie_generate_cb(this.ptr, generate);
    ssl.SSL_CTX_set_cookie_verify_cb(this.ptr, verify);
  }

  #callback(
    def: Parameters<typeof createCallback>[0],
    fn: Parameters<typeof createCallback>[1],
  ): Ptr {
    const cb = createCallback(def, fn);
    this.#callbacks.push(cb);
    return cb.ptr;
  }

  /** The engine that owns the `SSL *` `s`, if it is still alive. */
  engineOf(s: Ptr): OpenSslEngine | undefined {
    return this.engines.get(ptrValue(s))?.deref();
  }

  createEngine(options: EngineOptions): OpenSslEngine {
    if (this.#freed) throw new TlsError("CLOSED", "the context has been freed");
    this.#users++; // the engine's reference: it releases it, on failure too
    return new OpenSslEngine(this, options);
  }

  /** Drops one reference; the last one frees the native context. */
  release(): void {
    if (--this.#users === 0) this.#destroy();
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    registry.unregister(this);
    this.release();
  }

  #destroy(): void {
    if (isNull(this.ptr)) return;
    this.o.ssl.SSL_CTX_free(this.ptr);
    this.ptr = null;
    for (const e of this.#sniContexts) e.ctx.free();
    // Only now that no SSL_CTX can call them is it safe to close the callbacks.
    for (const cb of this.#callbacks) cb.close();
    this.#callbacks = [];
  }
}
