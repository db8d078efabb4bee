/**
 * The mbedTLS sans-IO engine: one `mbedtls_ssl_context` whose bio callbacks
 * read and write the engine's own queues (answering WANT_READ when no input
 * waits). TLS and DTLS share it; for DTLS each queue entry is one datagram
 * and the retransmission timer is driven from JS.
 *
 * The handshake runs one `mbedtls_ssl_handshake_step` at a time so the engine
 * can see whether the certificate states were visited: 2.28 frees its
 * handshake state (with the "resumed" flag) when the handshake ends.
 *
 * @module
 */

import { C, ERR, FLAG_CN_MISMATCH, OFFSETS, SIZES, STATE } from "../../ffi/mbedtls.ts";
import {
  copyFrom,
  cstr,
  isNull,
  nativeView,
  pinnedBytes,
  type Ptr,
  ptrFromValue,
  ptrOf,
  readCString,
  readPtr,
} from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import {
  EOF,
  freeWhenSafe,
  infoBeforeHandshake,
  runUserCallback,
  STREAMING_FEED,
  WANT_READ,
} from "../backend.ts";
import type { CertInfo, Engine, EngineInfo, EngineOptions, HandshakeState } from "../backend.ts";
import { callbacks, type CallbackTarget, enter, leave } from "./callbacks.ts";
import { chainDer, parseIp } from "./certs.ts";
import type { ContextNative, MbedContext } from "./context.ts";
import { DtlsTimer } from "./dtls.ts";
import { type FailureSource, tlsFailure } from "./errors.ts";
import { exportKeyingMaterial, keylogLine, type KeyMaterial } from "./keys.ts";
import type { MbedTls } from "./lib.ts";
import { ianaName, suiteBits } from "./names.ts";
import { ByteQueue, DatagramQueue } from "./queues.ts";
import { loadSession, saveSession } from "./sessions.ts";
import { certMatchesName } from "./verify.ts";

/** The native half of an engine, freed once by `free()` or the finalizer. */
class EngineNative {
  readonly mem = pinnedBytes(SIZES.ssl);
  readonly ptr: Ptr;
  #ctx: ContextNative;
  #freed = false;

  constructor(ctx: ContextNative) {
    this.#ctx = ctx;
    this.ptr = ptrOf(this.mem);
    ctx.m.tls.mbedtls_ssl_init(this.ptr);
    ctx.retain();
  }

  destroy(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#ctx.m.tls.mbedtls_ssl_free(this.ptr);
    this.#ctx.release(); // the config outlives every ssl that points at it
  }
}

const registry = new FinalizationRegistry<EngineNative>((n) => n.destroy());

let nextId = 1;
const DEFAULT_MTU = 1200;
const NO_TRANSPORT_ID = cstr("jsec:no-transport-id");

/** One TLS or DTLS connection in mbedTLS. */
export class MbedEngine implements Engine, CallbackTarget, FailureSource {
  readonly id: number;
  readonly datagram: boolean;
  handshakeDone = false;
  readonly #ctx: MbedContext;
  readonly #m: MbedTls;
  readonly #n: EngineNative;
  readonly #ssl: Ptr;
  readonly #view: DataView;
  readonly #server: boolean;
  readonly #inStream = new ByteQueue();
  readonly #outStream = new ByteQueue();
  /** The last feed was large: data is streaming in, keep the queues' buffers for it. */
  #bulkFeed = false;
  readonly #inDatagrams = new DatagramQueue();
  readonly #outDatagrams = new DatagramQueue();
  readonly #timer: DtlsTimer | null;
  readonly #transportId: Uint8Array | null = null;
  #freed = false;
  #failed: TlsError | null = null;
  #callbackError: unknown = null;
  #eof = false;
  #shutdownSent = false;
  #sawCertificateStates = false;
  #keys: KeyMaterial | null = null;
  #keylog: string[] = [];
  #serverName: string | null = null;
  /** Client: the name to check in JS after the handshake (IP, or not the SNI). */
  #checkName: string | null = null;
  /** Client: mbedTLS checks the SNI name, which is not the one to verify. */
  #ignoreCnMismatch = false;
  /** The peer's chain seen by the verify callback (for errors during the handshake). */
  #verifiedChain: Uint8Array[] = [];
  /** mbedTLS sent an alert during the current handshake call. */
  #sentAlert = false;
  /**
   * The handshake asked for input and nothing was fed since: another step would
   * only ask again. A TLS server starts so (it waits for the ClientHello).
   */
  #handshakeWaits: boolean;

  constructor(ctx: MbedContext, options: EngineOptions) {
    this.#ctx = ctx;
    this.#m = ctx.m;
    this.datagram = ctx.config.datagram;
    this.#server = ctx.config.side === "server";
    this.#handshakeWaits = this.#server && !this.datagram;
    this.id = nextId;
    nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
    this.#timer = this.datagram ? new DtlsTimer() : null;
    this.#n = new EngineNative(ctx.native);
    this.#ssl = this.#n.ptr;
    this.#view = new DataView(this.#n.mem.buffer);
    registry.register(this, this.#n, this);
    try {
      if (this.datagram && this.#server) {
        const id = options.transportId ?? NO_TRANSPORT_ID;
        if (!(id instanceof Uint8Array) || id.length === 0 || id.length > 255) {
          throw new TlsError(
            "INVALID_OPTION",
            "invalid option transportId: 1..255 bytes expected",
            {
              option: "transportId",
            },
          );
        }
        this.#transportId = id.slice();
      }
      this.#setup(options);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #setup(options: EngineOptions): void {
    const { tls } = this.#m;
    const ssl = this.#ssl;
    const cb = callbacks();
    const rc = tls.mbedtls_ssl_setup(ssl, this.#ctx.native.conf);
    if (rc !== 0) throw tlsFailure(this.#m, "mbedtls_ssl_setup", rc, "HANDSHAKE", this);
    const idPtr = ptrFromValue(this.id);
    tls.mbedtls_ssl_set_bio(ssl, idPtr, cb.send.ptr, cb.recv.ptr, null);
    tls.mbedtls_ssl_set_verify(ssl, cb.verify.ptr, idPtr);
    if (this.datagram) {
      tls.mbedtls_ssl_set_timer_cb(ssl, idPtr, cb.setTimer.ptr, cb.getTimer.ptr);
      tls.mbedtls_ssl_set_mtu(ssl, this.#ctx.config.mtu ?? DEFAULT_MTU);
      if (this.#server) this.#setTransportId();
    }
    if (this.#server) return;

    const config = this.#ctx.config;
    const sni = options.serverName ?? null;
    const sniName = sni && !parseIp(sni) ? sni : null; // no SNI for IP literals (RFC 6066)
    if (sniName !== null) {
      const bytes = cstr(sniName);
      if (bytes.length > 256 || bytes.subarray(0, -1).includes(0)) {
        throw new TlsError(
          "INVALID_OPTION",
          `invalid option serverName: ${JSON.stringify(sniName)}`,
          {
            option: "serverName",
          },
        );
      }
      const r = tls.mbedtls_ssl_set_hostname(ssl, bytes);
      if (r !== 0) throw tlsFailure(this.#m, "serverName", r, "INVALID_OPTION", this);
      this.#serverName = sniName;
    }
    if (config.verify) {
      const verifyName = options.verifyName ?? null;
      // mbedTLS checks the name given to set_hostname (DNS SANs and CN only);
      // any other name, and every IP address, is checked here after the handshake.
      this.#checkName = verifyName !== null && verifyName !== sniName ? verifyName : null;
      this.#ignoreCnMismatch = sniName !== null && verifyName !== sniName;
    }
    if (options.session) loadSession(this.#m, ssl, options.session);
  }

  #setTransportId(): void {
    const id = this.#transportId!;
    const rc = this.#m.tls.mbedtls_ssl_set_client_transport_id(this.#ssl, id, BigInt(id.length));
    if (rc !== 0) throw tlsFailure(this.#m, "set_client_transport_id", rc, "HANDSHAKE", this);
  }

  // ---- the callbacks' side ----------------------------------------------------

  cbSend(buf: Ptr, len: number): number {
    if (len >= 5 && !this.handshakeDone) this.#noteAlert(buf, len);
    if (this.datagram) this.#outDatagrams.pushNative(buf, len);
    else this.#outStream.pushNative(buf, len);
    return len;
  }

  /** Records whether mbedTLS sent an alert itself (content type 21 in a record header). */
  #noteAlert(buf: Ptr, len: number): void {
    const view = nativeView(buf, len);
    const header = this.datagram ? 13 : 5;
    for (let off = 0; off + header <= len;) {
      if (view[off] === C.MSG_ALERT) {
        this.#sentAlert = true;
        return;
      }
      off += header + ((view[off + header - 2] << 8) | view[off + header - 1]);
    }
  }

  cbRecv(buf: Ptr, len: number): number {
    if (this.datagram) {
      const n = this.#inDatagrams.shiftToNative(buf, len);
      return n < 0 ? ERR.WANT_READ : n;
    }
    if (this.#inStream.length === 0) return ERR.WANT_READ;
    return this.#inStream.shiftToNative(buf, len);
  }

  cbSetTimer(intMs: number, finMs: number): void {
    this.#timer?.set(intMs, finMs);
  }

  cbGetTimer(): number {
    return this.#timer ? this.#timer.get() : -1;
  }

  cbKeys(ms: Ptr, cr: Ptr, sr: Ptr, prf: number): void {
    this.#keys = {
      masterSecret: copyFrom(ms, 48),
      clientRandom: copyFrom(cr, 32),
      serverRandom: copyFrom(sr, 32),
      prf,
    };
    if (this.#ctx.config.keylog) this.#keylog.push(keylogLine(this.#keys));
  }

  cbSni(name: Ptr, len: number): number {
    if (len <= 0 || len > 255) return -1;
    const host = new TextDecoder().decode(copyFrom(name, len));
    this.#serverName = host;
    const entry = this.#ctx.sniFor(host);
    if (!entry) return this.#ctx.hasOwnCert ? 0 : -1; // -1: unrecognized_name
    return this.#m.tls.mbedtls_ssl_set_hs_own_cert(this.#ssl, entry.chain.ptr, entry.key.ptr) === 0
      ? 0
      : -1;
  }

  cbVerify(crt: Ptr, depth: number, flags: Ptr): number {
    // At depth 0 `crt` is the peer's leaf, linked to the rest of the chain as
    // sent: keep it, since get_peer_cert only answers once the handshake is over.
    if (depth === 0) this.#verifiedChain = chainDer(crt);
    if (depth === 0 && this.#ignoreCnMismatch) {
      // nativeView aliases C memory: clear the bit in place.
      const view = nativeView(flags, 4);
      const v = new DataView(view.buffer, view.byteOffset, 4);
      v.setUint32(0, v.getUint32(0, true) & ~FLAG_CN_MISMATCH, true);
    }
    return 0;
  }

  cbError(e: unknown): void {
    this.#callbackError ??= e;
  }

  // ---- FailureSource ----------------------------------------------------------

  verifyFlags(): number {
    return this.#m.tls.mbedtls_ssl_get_verify_result(this.#ssl) >>> 0;
  }

  peerChainDer(): Uint8Array[] {
    const crt = this.#m.tls.mbedtls_ssl_get_peer_cert(this.#ssl);
    return isNull(crt) ? this.#verifiedChain : chainDer(crt);
  }

  receivedAlert(): number | null {
    // ssl->in_msg holds the alert record just processed: check type and
    // length before trusting the pointer.
    const type = this.#view.getInt32(OFFSETS.sslInMsgType, true);
    const len = Number(this.#view.getBigUint64(OFFSETS.sslInMsgLen, true));
    if (type !== C.MSG_ALERT || len !== 2) return null;
    const p = readPtr(this.#ssl, OFFSETS.sslInMsg);
    if (isNull(p)) return null;
    return copyFrom(p, 2)[1];
  }

  // ---- Engine -----------------------------------------------------------------

  feed(data: Uint8Array): void {
    this.#live();
    if (this.datagram) {
      if (data.length) this.#inDatagrams.push(data.slice());
    } else if (data.length) {
      this.#bulkFeed = data.length > STREAMING_FEED;
      this.#inStream.push(data);
      this.#handshakeWaits = false;
    }
  }

  pending(): number {
    if (this.#freed) return 0;
    return this.datagram ? this.#outDatagrams.nextSize() : this.#outStream.length;
  }

  pull(into: Uint8Array): number {
    if (this.#freed || into.length === 0) return 0;
    return this.datagram ? this.#outDatagrams.shiftInto(into) : this.#outStream.shiftInto(into);
  }

  /** Runs `fn` (a C call) with this engine active for the callbacks; delivers keylog lines. */
  #call<T>(fn: () => T): T {
    const prev = enter(this);
    try {
      return fn();
    } finally {
      leave(prev);
      if (this.#keylog.length) this.#flushKeylog();
    }
  }

  #flushKeylog(): void {
    const lines = this.#keylog;
    this.#keylog = [];
    const sink = this.#ctx.config.keylog;
    for (const line of lines) {
      try {
        if (sink) runUserCallback(() => sink(line));
      } catch { /* a logging hook must not break the connection */ }
    }
  }

  #state(): number {
    return this.#view.getInt32(OFFSETS.sslState, true);
  }

  handshake(): HandshakeState {
    this.#live();
    if (this.#failed) throw this.#failed;
    if (this.handshakeDone) return "done";
    if (this.#handshakeWaits) return "want-read";
    const { tls } = this.#m;
    const ssl = this.#ssl;
    this.#sentAlert = false;
    const rc = this.#call(() => {
      for (;;) {
        const st = this.#state();
        if (st >= STATE.SERVER_CERTIFICATE && st <= STATE.CERTIFICATE_VERIFY) {
          this.#sawCertificateStates = true;
        }
        if (st === STATE.HANDSHAKE_OVER) return 0;
        const r = tls.mbedtls_ssl_handshake_step(ssl);
        if (r !== 0) return r;
      }
    });
    if (this.#callbackError) {
      const e = this.#callbackError;
      throw this.#fail(
        new TlsError("HANDSHAKE", `handshake failed in a callback: ${e}`, { cause: e }),
      );
    }
    if (rc === 0) {
      this.#afterHandshake();
      this.handshakeDone = true;
      return "done";
    }
    if (
      rc === ERR.WANT_READ || rc === ERR.WANT_WRITE || rc === ERR.ASYNC_IN_PROGRESS ||
      rc === ERR.CRYPTO_IN_PROGRESS
    ) {
      this.#handshakeWaits = rc === ERR.WANT_READ && !this.datagram;
      return "want-read";
    }
    if (rc === ERR.HELLO_VERIFY_REQUIRED && this.datagram && this.#server) {
      // The HelloVerifyRequest is queued; start over and wait for the cookie.
      const r = this.#call(() => tls.mbedtls_ssl_session_reset(ssl));
      if (r !== 0) throw this.#fail(tlsFailure(this.#m, "handshake", r, "HANDSHAKE", this));
      this.#setTransportId();
      this.#sawCertificateStates = false;
      this.#keys = null;
      this.#serverName = null;
      return "want-read";
    }
    if (!this.#sentAlert && rc !== ERR.FATAL_ALERT_MESSAGE) {
      // Some failures (no client certificate, no shared suite) end mbedTLS's
      // handshake silently; tell the peer, as OpenSSL would.
      const alert = rc === ERR.X509_CERT_VERIFY_FAILED
        ? C.ALERT_BAD_CERT
        : C.ALERT_HANDSHAKE_FAILURE;
      this.#call(() => tls.mbedtls_ssl_send_alert_message(ssl, C.ALERT_LEVEL_FATAL, alert));
    }
    throw this.#fail(tlsFailure(this.#m, "handshake", rc, "HANDSHAKE", this));
  }

  /** The checks mbedTLS 2.28 cannot make itself. Throws CERT_VERIFY. */
  #afterHandshake(): void {
    const config = this.#ctx.config;
    if (!this.#server && this.#checkName !== null) {
      const leaf = this.peerChainDer()[0];
      let ok = false;
      try {
        ok = !!leaf && certMatchesName(this.#ctx.parseCertificate(leaf), this.#checkName);
      } catch { /* unparsable: not a match */ }
      if (!ok) {
        const text = parseIp(this.#checkName) ? "IP address mismatch" : "hostname mismatch";
        this.#rejectPeer(text, `the certificate is not valid for ${this.#checkName}`);
      }
    }
    if (this.#server && config.clientAuth === "request") {
      // mbedTLS's "optional" accepts a bad certificate; OpenSSL's "request" does not.
      const chain = this.peerChainDer();
      const flags = this.verifyFlags();
      if (chain.length && flags !== 0) {
        this.#rejectPeer(
          tlsFailure(this.#m, "handshake", ERR.X509_CERT_VERIFY_FAILED, "HANDSHAKE", this)
            .verifyResult!,
          "the client certificate was rejected",
        );
      }
    }
  }

  #rejectPeer(verifyResult: string, why: string): never {
    this.#call(() =>
      this.#m.tls.mbedtls_ssl_send_alert_message(this.#ssl, C.ALERT_LEVEL_FATAL, C.ALERT_BAD_CERT)
    );
    throw this.#fail(
      new TlsError(
        "CERT_VERIFY",
        `handshake: certificate verification failed: ${verifyResult} (${why})`,
        {
          verifyResult,
        },
      ),
    );
  }

  #fail(e: TlsError): TlsError {
    this.#failed ??= e;
    return e;
  }

  read(into: Uint8Array): number {
    this.#live();
    if (this.#failed) throw this.#failed;
    if (this.#eof) return EOF;
    if (into.length === 0) return WANT_READ;
    const { tls } = this.#m;
    const r = this.#call(() => tls.mbedtls_ssl_read(this.#ssl, into, BigInt(into.length)));
    if (r > 0) {
      if (!this.handshakeDone && this.#state() === STATE.HANDSHAKE_OVER) this.handshakeDone = true;
      // A short read ended its record; a full one may have left some of it.
      if (
        this.#inStream.length === 0 &&
        (r < into.length || Number(tls.mbedtls_ssl_get_bytes_avail(this.#ssl)) === 0)
      ) this.#idle();
      return r;
    }
    if (r === ERR.WANT_READ || r === ERR.WANT_WRITE || r === 0) {
      if (this.#inStream.length === 0) this.#idle();
      return WANT_READ;
    }
    if (r === ERR.PEER_CLOSE_NOTIFY) {
      this.#eof = true;
      return EOF;
    }
    throw this.#fail(tlsFailure(this.#m, "read", r, "PROTOCOL", this));
  }

  /**
   * Everything fed has been read: the connection waits for its peer. Unless data
   * is streaming in (the last feed was large), the ciphertext queues let their
   * buffers go.
   */
  #idle(): void {
    if (this.datagram || this.#bulkFeed) return;
    this.#inStream.release();
    this.#outStream.release();
  }

  write(data: Uint8Array): number {
    this.#live();
    if (this.#failed) throw this.#failed;
    // As OpenSSL: nothing may follow close_notify (mbedTLS would encrypt it).
    if (this.#shutdownSent) throw new TlsError("PROTOCOL", "write after shutdown()");
    if (data.length === 0) return 0;
    const { tls } = this.#m;
    if (this.datagram) {
      const max = tls.mbedtls_ssl_get_max_out_record_payload(this.#ssl);
      if (max > 0 && data.length > max) {
        throw new TlsError(
          "PROTOCOL",
          `a ${data.length}-byte datagram exceeds the ${max}-byte record limit`,
        );
      }
    }
    let off = 0;
    while (off < data.length) {
      const chunk = off === 0 ? data : data.subarray(off);
      const r = this.#call(() => tls.mbedtls_ssl_write(this.#ssl, chunk, BigInt(chunk.length)));
      if (r > 0) {
        off += r;
        continue;
      }
      if (r === ERR.WANT_READ || r === ERR.WANT_WRITE || r === 0) break;
      throw this.#fail(tlsFailure(this.#m, "write", r, "PROTOCOL", this));
    }
    return off;
  }

  shutdown(): void {
    if (this.#freed || this.#shutdownSent) return;
    this.#shutdownSent = true;
    this.#call(() => this.#m.tls.mbedtls_ssl_close_notify(this.#ssl));
  }

  info(): EngineInfo {
    this.#live();
    if (!this.handshakeDone) throw infoBeforeHandshake();
    const { tls } = this.#m;
    const suite = readCString(tls.mbedtls_ssl_get_ciphersuite(this.#ssl));
    const cipher = suite && suite !== "unknown" ? ianaName(suite) : "";
    const alpn = tls.mbedtls_ssl_get_alpn_protocol(this.#ssl);
    const chain = this.#peerChain();
    return {
      protocol: this.datagram ? "DTLSv1.2" : "TLSv1.2",
      cipher,
      cipherBits: suiteBits(cipher),
      alpnProtocol: isNull(alpn) ? null : readCString(alpn),
      serverName: this.#serverName,
      sessionReused: this.handshakeDone && !this.#sawCertificateStates,
      peerCertificate: chain[0] ?? null,
      peerCertificateChain: chain,
      group: null, // 2.28 frees the key exchange state before it could be read
      signatureAlgorithm: null,
      ocspResponse: null, // 2.28 has no OCSP stapling
    };
  }

  #peerChain(): CertInfo[] {
    const out: CertInfo[] = [];
    for (const der of this.peerChainDer()) {
      try {
        out.push(this.#ctx.parseCertificate(der));
      } catch {
        break; // keep what parsed; a malformed certificate ends the chain
      }
    }
    return out;
  }

  exportSession(): Uint8Array | null {
    this.#live();
    if (!this.handshakeDone || this.#server) return null; // 2.28 exports client sessions only
    return saveSession(this.#m, this.#ssl);
  }

  keyUpdate(_requestPeer: boolean): void {
    this.#live();
    throw new TlsError(
      "UNSUPPORTED",
      `keyUpdate needs TLS 1.3; the mbedtls backend (${this.#m.version}) speaks TLS 1.2 only`,
    );
  }

  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    this.#live();
    if (!this.handshakeDone) {
      throw new TlsError("PROTOCOL", "exportKeyingMaterial before the handshake completed");
    }
    if (!this.#keys) {
      throw new TlsError("PROTOCOL", "no key material was captured for this connection");
    }
    return exportKeyingMaterial(this.#m, this.#keys, label, length, context);
  }

  dataMtu(): number {
    if (!this.datagram || this.#freed || !this.handshakeDone) return 0;
    return Math.max(0, this.#m.tls.mbedtls_ssl_get_max_out_record_payload(this.#ssl));
  }

  timeout(): number | null {
    // mbedTLS cancels its timer when the handshake ends; no read timeout is set.
    if (!this.#timer || this.#freed || this.handshakeDone || this.#failed) return null;
    return this.#timer.remaining();
  }

  onTimer(): void {
    if (!this.#timer || this.#freed || this.#failed || this.handshakeDone) return;
    if (!this.#timer.expire()) return;
    try {
      this.handshake(); // mbedTLS sees the expired timer and resends its last flight
    } catch { /* kept in #failed: the next handshake() throws it */ }
  }

  #live(): void {
    if (this.#freed) throw new TlsError("CLOSED", "the connection's engine has been freed");
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    registry.unregister(this);
    const n = this.#n;
    freeWhenSafe(() => n.destroy());
  }
}
