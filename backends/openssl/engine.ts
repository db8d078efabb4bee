/**
 * The OpenSSL sans-IO engine: one `SSL` between two memory BIOs. Ciphertext
 * goes in with `feed` (BIO_write on the read BIO) and out with `pull`
 * (BIO_read on the write BIO); plaintext through SSL_read/SSL_write.
 *
 * For DTLS the write BIO glues datagrams together, so `pull` splits its
 * output on record headers and packs whole records into datagrams ≤ MTU.
 *
 * @module
 */

import {
  copyFrom,
  cstr,
  isNull,
  keepAlive,
  type Ptr,
  ptrOf,
  ptrValue,
  readCString,
  readPtrFrom,
  writePtrTo,
} from "../../ffi/runtime.ts";
import { BIO_CTRL, SSL_CTRL, SSL_ERROR } from "../../ffi/openssl.ts";
import { TlsError } from "../../errors.ts";
import {
  EOF,
  freeWhenSafe,
  infoBeforeHandshake,
  isIpLiteral,
  STREAMING_FEED,
  WANT_READ,
} from "../backend.ts";
import type { CertInfo, Engine, EngineInfo, EngineOptions, HandshakeState } from "../backend.ts";
import { fnv1a, plainBytes, sameBytes } from "../bytes.ts";
import { certificateDer, copyOutPair } from "./certs.ts";
import { clearErrors, drainErrors, tlsFailure } from "./errors.ts";
import type { OpenSslContext } from "./context.ts";
import { DatagramQueue } from "./datagrams.ts";

const PKEY_TYPE: Record<number, string> = {
  6: "rsa_pkcs1",
  912: "rsa_pss",
  408: "ecdsa",
  1087: "ed25519",
  1088: "ed448",
};

/** OpenSSL's group names → the names the `groups` option documents. */
const GROUP_NAMES: Record<string, string> = {
  x25519: "X25519",
  x448: "X448",
  secp256r1: "P-256",
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

const scratch8 = new Uint8Array(8);
const scratch4 = new Uint8Array(4);
const timeval = new Uint8Array(new ArrayBuffer(16));
/** DTLSv1_listen's BIO_ADDR out-parameter (a sockaddr union, ≤ 112 bytes); memory BIOs leave it clear. */
const bioAddr = new Uint8Array(256);
const NO_TRANSPORT_ID = new Uint8Array(0);

interface Native {
  ssl: Ptr;
  ctx: OpenSslContext;
  /** Client: the newest session OpenSSL announced (we hold a reference), serialized on export. */
  session: Ptr | null;
  /** Client: the session offered from `options.session` (we hold a reference) and its DER. */
  offered: { sess: Ptr; der: Uint8Array } | null;
}

/** Frees an engine's native half, once: by `free()` or by the finalizer. */
function freeNative(n: Native): void {
  n.ctx.engines.delete(ptrValue(n.ssl));
  n.ctx.o.ssl.SSL_free(n.ssl); // frees both BIOs too
  if (n.session) n.ctx.o.ssl.SSL_SESSION_free(n.session);
  if (n.offered) n.ctx.o.ssl.SSL_SESSION_free(n.offered.sess);
  n.ctx.release();
}

const registry = new FinalizationRegistry<Native>(freeNative);

/** A fresh pair of memory BIOs, or null when OpenSSL is out of memory. */
function newMemBios(o: OpenSslContext["o"]): [Ptr, Ptr] | null {
  const rbio = o.crypto.BIO_new(o.crypto.BIO_s_mem());
  const wbio = o.crypto.BIO_new(o.crypto.BIO_s_mem());
  if (!isNull(rbio) && !isNull(wbio)) return [rbio, wbio];
  if (!isNull(rbio)) o.crypto.BIO_free(rbio);
  if (!isNull(wbio)) o.crypto.BIO_free(wbio);
  return null;
}

type SslSymbols = OpenSslContext["o"]["ssl"];

/**
 * Parsed sessions by their DER, least recently used first; each entry holds a
 * reference. d2i_SSL_SESSION re-parses the peer certificate, which on OpenSSL 3.0
 * is most of the cost of a resumption: sessions exported or resumed here are parsed once.
 * Keyed by a hash of the DER (a string key costs a decode of the whole DER);
 * the entry's own copy of the DER settles collisions.
 */
interface CachedSession {
  ssl: SslSymbols;
  sess: Ptr;
  der: Uint8Array;
}
const sessionCache = new Map<number, CachedSession>();
const SESSION_CACHE_MAX = 32;

function cachedSession(der: Uint8Array): CachedSession | null {
  const key = fnv1a(der);
  const hit = sessionCache.get(key);
  if (!hit || !sameBytes(hit.der, der)) return null;
  sessionCache.delete(key);
  // A failed handshake marks its session not resumable: parse the DER afresh then.
  if (hit.ssl.SSL_SESSION_is_resumable(hit.sess) !== 1) {
    hit.ssl.SSL_SESSION_free(hit.sess);
    return null;
  }
  sessionCache.set(key, hit);
  return hit;
}

/**
 * Caches `sess`, parsed from (or serialized to) `der`, taking over the caller's
 * reference. Returns the entry, whose copy of the DER is never written.
 */
function cacheSession(ssl: SslSymbols, der: Uint8Array, sess: Ptr): CachedSession {
  const key = fnv1a(der);
  const old = sessionCache.get(key);
  if (old) old.ssl.SSL_SESSION_free(old.sess);
  sessionCache.delete(key);
  const entry = { ssl, sess, der: der.slice() };
  sessionCache.set(key, entry);
  if (sessionCache.size > SESSION_CACHE_MAX) {
    const [oldestKey, oldest] = sessionCache.entries().next().value!;
    sessionCache.delete(oldestKey);
    oldest.ssl.SSL_SESSION_free(oldest.sess);
  }
  return entry;
}

/** One TLS or DTLS connection's state in OpenSSL. */
export class OpenSslEngine implements Engine {
  readonly datagram: boolean;
  handshakeDone = false;
  #n: Native;
  #ssl: Ptr;
  #rbio: Ptr;
  #wbio: Ptr;
  #datagrams: DatagramQueue | null;
  #freed = false;
  /**
   * SSL_read found no complete record and nothing was fed since: the next read
   * would fail the same way, so it returns WANT_READ without calling C.
   */
  #starved = false;
  /**
   * The handshake asked for input and nothing was fed since: it would only ask
   * again. A TLS server starts so (it has nothing to say before the ClientHello).
   * Kept apart from #starved: a read can finish the handshake, and the next
   * handshake() must then say so.
   */
  #handshakeWaits: boolean;
  /**
   * A memory BIO's buffer never shrinks: it keeps the size of the largest flight
   * or burst it held. Set by the handshake and by large feeds or pulls; the BIOs
   * are replaced the next time the engine goes idle.
   */
  #bigBios = true;
  /** The last feed was large: data is streaming in, replacing the BIOs now would only regrow them. */
  #bulkFeed = false;
  /** DTLS server: still in the stateless cookie exchange (DTLSv1_listen). */
  #listening: boolean;
  /** DTLS server: the peer's address bytes, bound into its cookie. */
  readonly transportId: Uint8Array;

  constructor(ctx: OpenSslContext, options: EngineOptions) {
    const o = ctx.o;
    this.datagram = ctx.config.datagram;
    this.#listening = this.datagram && ctx.config.side === "server";
    this.#handshakeWaits = !this.datagram && ctx.config.side === "server";
    this.transportId = options.transportId ? options.transportId.slice() : NO_TRANSPORT_ID;
    clearErrors(o);
    const ssl = o.ssl.SSL_new(ctx.ptr);
    const bios = isNull(ssl) ? null : newMemBios(o);
    if (!bios) {
      if (!isNull(ssl)) o.ssl.SSL_free(ssl);
      ctx.release(); // the reference createEngine took for this engine
      throw new TlsError("HANDSHAKE", "SSL_new or BIO_new failed: out of memory?");
    }
    const [rbio, wbio] = bios;
    o.ssl.SSL_set_bio(ssl, rbio, wbio); // the SSL owns both BIOs now
    this.#ssl = ssl;
    this.#rbio = rbio;
    this.#wbio = wbio;
    this.#n = { ssl, ctx, session: null, offered: null };
    ctx.engines.set(ptrValue(ssl), new WeakRef(this));
    registry.register(this, this.#n, this);
    this.#datagrams = this.datagram ? new DatagramQueue(ctx.config.mtu ?? 1200) : null;
    try {
      this.#setup(options);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  get #o() {
    return this.#n.ctx.o;
  }

  #setup(options: EngineOptions): void {
    const { ssl } = this.#o;
    const config = this.#n.ctx.config;
    if (this.datagram) {
      ssl.SSL_ctrl(this.#ssl, SSL_CTRL.SET_MTU, BigInt(config.mtu ?? 1200), null);
    }
    if (config.side === "server") {
      ssl.SSL_set_accept_state(this.#ssl);
      return;
    }
    ssl.SSL_set_connect_state(this.#ssl);
    if (options.serverName) {
      const name = cstr(options.serverName); // copied by OpenSSL
      ssl.SSL_ctrl(this.#ssl, SSL_CTRL.SET_TLSEXT_HOSTNAME, 0n, ptrOf(name));
      keepAlive(name);
    }
    if (config.verify && options.verifyName) {
      const name = options.verifyName;
      const ok = isIpLiteral(name)
        ? this.#o.crypto.X509_VERIFY_PARAM_set1_ip_asc(ssl.SSL_get0_param(this.#ssl), cstr(name))
        : ssl.SSL_set1_host(this.#ssl, cstr(name));
      if (ok !== 1) {
        throw new TlsError("INVALID_OPTION", `invalid option serverName: ${JSON.stringify(name)}`, {
          option: "serverName",
        });
      }
    }
    if (options.session) this.#setSession(options.session);
    if (options.requestOcsp) {
      ssl.SSL_ctrl(this.#ssl, SSL_CTRL.SET_TLSEXT_STATUS_REQ_TYPE, 1n, null); // TLSEXT_STATUSTYPE_ocsp
    }
  }

  #setSession(given: Uint8Array): void {
    const { ssl } = this.#o;
    const der = plainBytes(given); // its length goes to d2i_SSL_SESSION
    if (der.length === 0) {
      throw new TlsError("INVALID_OPTION", "invalid option session: empty", { option: "session" });
    }
    const cached = cachedSession(der);
    if (cached) return this.#offer(cached);
    const pp = new Uint8Array(8);
    writePtrTo(pp, 0, ptrOf(der));
    const sess = ssl.d2i_SSL_SESSION(null, pp, BigInt(der.length));
    keepAlive(der);
    if (isNull(sess)) {
      drainErrors(this.#o);
      throw new TlsError(
        "INVALID_OPTION",
        "invalid option session: not a session from exportSession()",
        {
          option: "session",
        },
      );
    }
    this.#offer(cacheSession(ssl, der, sess));
  }

  #offer({ sess, der }: CachedSession): void {
    const { ssl } = this.#o;
    ssl.SSL_set_session(this.#ssl, sess);
    // Our own reference: while we hold it no other session can take its address,
    // which is what exportSession compares.
    ssl.SSL_SESSION_up_ref(sess);
    this.#n.offered = { sess, der }; // the cache's copy: shared, never written
  }

  /**
   * Called from the context's new-session callback (client side). Serializing
   * waits for exportSession(): TLS 1.3 servers send tickets nobody may ask for.
   */
  onNewSession(sess: Ptr): void {
    const { ssl } = this.#o;
    ssl.SSL_SESSION_up_ref(sess);
    if (this.#n.session) ssl.SSL_SESSION_free(this.#n.session);
    this.#n.session = sess;
  }

  feed(data: Uint8Array): void {
    this.#live();
    if (data.length === 0) return;
    this.#starved = false;
    this.#handshakeWaits = false;
    this.#bulkFeed = data.length > STREAMING_FEED;
    if (this.#bulkFeed) this.#bigBios = true;
    const n = this.#o.crypto.BIO_write(this.#rbio, data, data.length);
    if (n !== data.length) throw new TlsError("PROTOCOL", "could not queue ciphertext");
  }

  pending(): number {
    if (this.#freed) return 0;
    if (this.#datagrams) {
      this.#drainDatagrams();
      return this.#datagrams.nextSize();
    }
    return Number(this.#o.crypto.BIO_ctrl(this.#wbio, BIO_CTRL.PENDING, 0n, null));
  }

  #rbioEmpty(): boolean {
    return this.#o.crypto.BIO_ctrl(this.#rbio, BIO_CTRL.PENDING, 0n, null) === 0n;
  }

  #wbioEmpty(): boolean {
    return this.#o.crypto.BIO_ctrl(this.#wbio, BIO_CTRL.PENDING, 0n, null) === 0n;
  }

  pull(into: Uint8Array): number {
    if (this.#freed || into.length === 0) return 0;
    if (this.#datagrams) {
      this.#drainDatagrams();
      return this.#datagrams.shift(into);
    }
    const n = this.#o.crypto.BIO_read(this.#wbio, into, Math.min(into.length, 0x7fffffff));
    if (n > STREAMING_FEED) this.#bigBios = true;
    return n > 0 ? n : 0;
  }

  #drainDatagrams(): void {
    const size = Number(this.#o.crypto.BIO_ctrl(this.#wbio, BIO_CTRL.PENDING, 0n, null));
    if (size <= 0) return;
    const buf = new Uint8Array(size);
    const n = this.#o.crypto.BIO_read(this.#wbio, buf, size);
    if (n > 0) this.#datagrams!.push(buf.subarray(0, n));
  }

  handshake(): HandshakeState {
    this.#live();
    if (this.handshakeDone) return "done";
    const { ssl } = this.#o;
    if (this.#listening) {
      // Stateless HelloVerifyRequest: answers a ClientHello without a valid cookie
      // (the reply waits in the write BIO) and drops anything else; 1 = cookie verified.
      clearErrors(this.#o);
      const l = ssl.DTLSv1_listen(this.#ssl, bioAddr);
      if (l < 0) throw this.#failure("DTLS cookie exchange", "HANDSHAKE");
      drainErrors(this.#o);
      if (l === 0) return "want-read";
      this.#listening = false;
    }
    if (this.#handshakeWaits) return "want-read";
    clearErrors(this.#o);
    const r = ssl.SSL_do_handshake(this.#ssl);
    if (r === 1) {
      this.handshakeDone = true;
      return "done";
    }
    const err = ssl.SSL_get_error(this.#ssl, r);
    if (err === SSL_ERROR.WANT_READ || err === SSL_ERROR.WANT_WRITE) {
      this.#handshakeWaits = err === SSL_ERROR.WANT_READ && !this.datagram;
      return "want-read";
    }
    throw this.#failure("handshake", "HANDSHAKE");
  }

  read(into: Uint8Array): number {
    this.#live();
    if (into.length === 0 || this.#starved) return WANT_READ;
    const { ssl } = this.#o;
    clearErrors(this.#o);
    const r = ssl.SSL_read(this.#ssl, into, Math.min(into.length, 0x7fffffff));
    if (r > 0) {
      // A read shorter than `into` ended its record; a full one may have left some of
      // it. Without read-ahead OpenSSL takes records from the BIO one at a time, so
      // once the record is used up an empty BIO means nothing more to read.
      if (this.datagram) return r;
      if (r < into.length) {
        if (this.#rbioEmpty()) this.#starve();
      } else if (!this.#bulkFeed && ssl.SSL_pending(this.#ssl) === 0 && this.#rbioEmpty()) {
        this.#starve();
      }
      return r;
    }
    const err = ssl.SSL_get_error(this.#ssl, r);
    if (err === SSL_ERROR.WANT_READ || err === SSL_ERROR.WANT_WRITE) {
      if (!this.datagram) this.#starve();
      return WANT_READ;
    }
    if (err === SSL_ERROR.ZERO_RETURN) return EOF;
    throw this.#failure("read", "PROTOCOL");
  }

  /**
   * Every record fed has been read: the connection waits for its peer. An idle
   * connection gives back OpenSSL's 16.7 KB record buffer (SSL_MODE_RELEASE_BUFFERS
   * keeps it after a failed read) and memory BIOs grown by the handshake or bulk data.
   */
  #starve(): void {
    this.#starved = true;
    if (this.#bulkFeed) return; // more is on its way: keep the buffers for it
    const o = this.#o;
    if (o.freeBuffersSafe) o.ssl.SSL_free_buffers(this.#ssl);
    if (!this.#bigBios || !this.handshakeDone) return;
    if (!this.#rbioEmpty() || !this.#wbioEmpty()) return;
    const bios = newMemBios(o);
    if (!bios) return; // keep the old pair
    const [rbio, wbio] = bios;
    o.ssl.SSL_set_bio(this.#ssl, rbio, wbio); // frees the old pair
    this.#rbio = rbio;
    this.#wbio = wbio;
    this.#bigBios = false;
  }

  write(data: Uint8Array): number {
    this.#live();
    if (data.length === 0) return 0;
    const { ssl } = this.#o;
    if (this.datagram && this.handshakeDone) {
      // OpenSSL would put a larger write in one record bigger than the MTU.
      const max = this.dataMtu();
      if (max > 0 && data.length > max) {
        throw new TlsError(
          "PROTOCOL",
          `a ${data.length}-byte datagram exceeds the ${max}-byte DTLS data MTU`,
        );
      }
    }
    clearErrors(this.#o);
    const r = ssl.SSL_write(this.#ssl, data, Math.min(data.length, 0x7fffffff));
    if (r > 0) return r;
    const err = ssl.SSL_get_error(this.#ssl, r);
    if (err === SSL_ERROR.WANT_READ || err === SSL_ERROR.WANT_WRITE) return 0;
    throw this.#failure("write", "PROTOCOL");
  }

  shutdown(): void {
    if (this.#freed) return;
    clearErrors(this.#o);
    this.#o.ssl.SSL_shutdown(this.#ssl);
    drainErrors(this.#o);
  }

  #failure(what: string, fallback: "HANDSHAKE" | "PROTOCOL"): TlsError {
    const o = this.#o;
    const errors = drainErrors(o);
    return tlsFailure(o, what, fallback, o.ssl.SSL_get_verify_result(this.#ssl), errors);
  }

  info(): EngineInfo {
    this.#live();
    // Before then OpenSSL 3.0 has no session, and asking for the negotiated group
    // reads s->session->kex_group: a NULL dereference.
    if (!this.handshakeDone) throw infoBeforeHandshake();
    const { ssl, crypto } = this.#o;
    const s = this.#ssl;
    const cipher = ssl.SSL_get_current_cipher(s);
    const alpnPtr = new Uint8Array(8);
    const alpnLen = new Uint8Array(4);
    ssl.SSL_get0_alpn_selected(s, alpnPtr, alpnLen);
    const alpn = copyOutPair(alpnPtr, alpnLen);
    const groupNid = Number(ssl.SSL_ctrl(s, SSL_CTRL.GET_NEGOTIATED_GROUP, 0n, null));
    let group: string | null = null;
    if (groupNid > 0) {
      const p = ssl.SSL_group_to_name
        ? ssl.SSL_group_to_name(s, groupNid)
        : crypto.OBJ_nid2sn(groupNid);
      const name = readCString(p);
      group = GROUP_NAMES[name.toLowerCase()] ?? (name || null);
    }
    const chain = this.#peerChain();
    return {
      protocol: readCString(ssl.SSL_get_version(s)) as EngineInfo["protocol"],
      cipher: isNull(cipher) ? "" : readCString(ssl.SSL_CIPHER_standard_name(cipher)),
      cipherBits: isNull(cipher) ? 0 : ssl.SSL_CIPHER_get_bits(cipher, null),
      alpnProtocol: alpn ? new TextDecoder().decode(alpn) : null,
      serverName: readCString(ssl.SSL_get_servername(s, 0)) || null,
      sessionReused: ssl.SSL_session_reused(s) === 1,
      peerCertificate: chain[0] ?? null,
      peerCertificateChain: chain,
      group,
      signatureAlgorithm: this.#peerSignature(),
      ocspResponse: this.#stapledOcsp(),
    };
  }

  /** Client: the stapled OCSP response (OpenSSL keeps ownership: copy it out). */
  #stapledOcsp(): Uint8Array | null {
    if (this.#n.ctx.config.side !== "client") return null;
    const pp = new Uint8Array(8);
    const len = Number(
      this.#o.ssl.SSL_ctrl(this.#ssl, SSL_CTRL.GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0n, ptrOf(pp)),
    );
    const p = readPtrFrom(pp);
    return len > 0 && !isNull(p) ? copyFrom(p, len) : null;
  }

  #peerSignature(): string | null {
    const { ssl, crypto } = this.#o;
    if (ssl.SSL_get_peer_signature_type_nid(this.#ssl, scratch4) !== 1) return null;
    const type = new DataView(scratch4.buffer).getInt32(0, true);
    const hashNid = new Uint8Array(8);
    // SSL_get_peer_signature_nid is SSL_ctrl(SSL_CTRL_GET_PEER_SIGNATURE_NID = 108).
    if (Number(ssl.SSL_ctrl(this.#ssl, 108, 0n, ptrOf(hashNid))) !== 1) {
      return PKEY_TYPE[type] ?? null;
    }
    const hash = readCString(crypto.OBJ_nid2sn(new DataView(hashNid.buffer).getInt32(0, true)));
    const name = PKEY_TYPE[type] ?? readCString(crypto.OBJ_nid2sn(type));
    return type === 1087 || type === 1088 ? name : `${name}_${hash.toLowerCase().replace("-", "")}`;
  }

  #peerChain(): CertInfo[] {
    const { ssl, crypto } = this.#o;
    const parse = this.#n.ctx.parseCertificate;
    const leaf = ssl.SSL_get1_peer_certificate(this.#ssl);
    if (isNull(leaf)) return [];
    const out: CertInfo[] = [];
    try {
      const leafDer = certificateDer(this.#o, leaf);
      out.push(parse(leafDer));
      const stack = ssl.SSL_get_peer_cert_chain(this.#ssl); // client: includes the leaf
      const n = isNull(stack) ? 0 : crypto.OPENSSL_sk_num(stack);
      for (let i = 0; i < n; i++) {
        const der = certificateDer(this.#o, crypto.OPENSSL_sk_value(stack, i));
        if (i === 0 && sameBytes(der, leafDer)) continue;
        out.push(parse(der));
      }
    } finally {
      crypto.X509_free(leaf);
    }
    return out;
  }

  exportSession(): Uint8Array | null {
    this.#live();
    const { ssl } = this.#o;
    const sess = this.#sessionRef();
    if (!sess) return null;
    const offered = this.#n.offered;
    if (offered && ptrValue(sess) === ptrValue(offered.sess)) {
      // Resumed without a new ticket: OpenSSL kept the very session it was given.
      ssl.SSL_SESSION_free(sess);
      return offered.der.slice();
    }
    const der = sessionDer(ssl, sess);
    if (der) cacheSession(ssl, der, sess); // resuming with it skips d2i
    else ssl.SSL_SESSION_free(sess);
    return der;
  }

  /** A new reference to the session to export, or null when there is none to resume. */
  #sessionRef(): Ptr | null {
    const { ssl } = this.#o;
    const kept = this.#n.session;
    if (kept) {
      ssl.SSL_SESSION_up_ref(kept);
      return kept;
    }
    const sess = ssl.SSL_get1_session(this.#ssl);
    if (isNull(sess)) return null;
    if (ssl.SSL_SESSION_is_resumable(sess) === 1) return sess;
    ssl.SSL_SESSION_free(sess);
    return null;
  }

  keyUpdate(requestPeer: boolean): void {
    this.#live();
    const { ssl } = this.#o;
    const version = readCString(ssl.SSL_get_version(this.#ssl));
    if (version !== "TLSv1.3") {
      throw new TlsError("UNSUPPORTED", `keyUpdate needs TLS 1.3; this connection is ${version}`);
    }
    clearErrors(this.#o);
    if (ssl.SSL_key_update(this.#ssl, requestPeer ? 1 : 0) !== 1) {
      throw this.#failure("key update", "PROTOCOL");
    }
    ssl.SSL_do_handshake(this.#ssl); // sends the KeyUpdate now rather than with the next write
    drainErrors(this.#o);
  }

  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    this.#live();
    if (!this.handshakeDone) {
      throw new TlsError("PROTOCOL", "exportKeyingMaterial before the handshake completed");
    }
    const out = new Uint8Array(length);
    const labelBytes = new TextEncoder().encode(label);
    // An empty buffer has no address in Bun: hand C a 1-byte buffer with length 0.
    const l = labelBytes.length ? labelBytes : new Uint8Array(1);
    const c = context && context.length ? context : new Uint8Array(1);
    clearErrors(this.#o);
    const r = this.#o.ssl.SSL_export_keying_material(
      this.#ssl,
      out,
      BigInt(length),
      l,
      BigInt(labelBytes.length),
      c,
      BigInt(context?.length ?? 0),
      context ? 1 : 0,
    );
    if (r !== 1) throw this.#failure("exportKeyingMaterial", "PROTOCOL");
    return out;
  }

  timeout(): number | null {
    if (!this.datagram || this.#freed) return null;
    const r = this.#o.ssl.SSL_ctrl(this.#ssl, SSL_CTRL.DTLS_GET_TIMEOUT, 0n, ptrOf(timeval));
    if (Number(r) !== 1) return null;
    const dv = new DataView(timeval.buffer);
    return Number(dv.getBigInt64(0, true)) * 1000 +
      Math.ceil(Number(dv.getBigInt64(8, true)) / 1000);
  }

  dataMtu(): number {
    if (!this.datagram || this.#freed) return 0;
    // A record carries at most 16 KiB of plaintext whatever the MTU allows.
    return Math.min(Number(this.#o.ssl.DTLS_get_data_mtu(this.#ssl)), 16384);
  }

  onTimer(): void {
    if (!this.datagram || this.#freed) return;
    clearErrors(this.#o);
    this.#o.ssl.SSL_ctrl(this.#ssl, SSL_CTRL.DTLS_HANDLE_TIMEOUT, 0n, null);
    drainErrors(this.#o);
  }

  #live(): void {
    if (this.#freed) throw new TlsError("CLOSED", "the connection's engine has been freed");
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    registry.unregister(this);
    const n = this.#n;
    freeWhenSafe(() => freeNative(n));
  }
}

function sessionDer(ssl: OpenSslContext["o"]["ssl"], sess: Ptr): Uint8Array | null {
  const len = ssl.i2d_SSL_SESSION(sess, null);
  if (len <= 0) return null;
  const out = new Uint8Array(new ArrayBuffer(len));
  writePtrTo(scratch8, 0, ptrOf(out));
  ssl.i2d_SSL_SESSION(sess, scratch8);
  return out;
}
