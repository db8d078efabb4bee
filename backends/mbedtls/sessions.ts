/**
 * Session resumption for mbedTLS 2.28: the server's ticket keys and session
 * cache (caller-allocated, freed once), and a client session in and out of
 * its serialized form (`mbedtls_ssl_session_save` / `_load`).
 *
 * @module
 */

import { C, SIZES } from "../../ffi/mbedtls.ts";
import { pinnedBytes, type Ptr, ptrOf } from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import { plainBytes } from "../bytes.ts";
import { hexCode, type MbedTls, strerror } from "./lib.ts";

/** An `mbedtls_ssl_ticket_context` (AES-256-GCM ticket keys), freed once. */
export class TicketKeys {
  readonly mem = pinnedBytes(SIZES.ticket);
  readonly ptr: Ptr;
  #m: MbedTls;
  #freed = false;

  constructor(m: MbedTls, lifetimeSeconds: number) {
    this.#m = m;
    this.ptr = ptrOf(this.mem);
    m.tls.mbedtls_ssl_ticket_init(this.ptr);
    const rc = m.tls.mbedtls_ssl_ticket_setup(
      this.ptr,
      m.fn.mbedtls_ctr_drbg_random,
      m.drbg,
      C.CIPHER_AES_256_GCM,
      lifetimeSeconds >>> 0,
    );
    if (rc !== 0) {
      this.free();
      throw new TlsError("HANDSHAKE", "mbedtls_ssl_ticket_setup failed", {
        detail: strerror(m, rc),
      });
    }
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#m.tls.mbedtls_ssl_ticket_free(this.ptr);
  }
}

/** An `mbedtls_ssl_cache_context` (server session-id cache), freed once. */
export class SessionCache {
  readonly mem = pinnedBytes(SIZES.cache);
  readonly ptr: Ptr;
  #m: MbedTls;
  #freed = false;

  constructor(m: MbedTls, maxEntries: number, timeoutSeconds: number) {
    this.#m = m;
    this.ptr = ptrOf(this.mem);
    m.tls.mbedtls_ssl_cache_init(this.ptr);
    m.tls.mbedtls_ssl_cache_set_max_entries(this.ptr, Math.min(maxEntries, 0x7fffffff));
    m.tls.mbedtls_ssl_cache_set_timeout(this.ptr, Math.min(timeoutSeconds, 0x7fffffff));
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#m.tls.mbedtls_ssl_cache_free(this.ptr);
  }
}

const olen = new Uint8Array(8);
/**
 * One `mbedtls_ssl_session` for the synchronous save and load below. Each call
 * takes its address from the array: a pointer does not keep memory alive, and a
 * module constant that no function reads is garbage once the module has loaded
 * (Bun collected it, and mbedTLS then wrote sessions into JSC's heap).
 */
const sessionMem = pinnedBytes(SIZES.session);

/** The client's current session, serialized; null when there is none. */
export function saveSession(m: MbedTls, ssl: Ptr): Uint8Array | null {
  const sess = ptrOf(sessionMem);
  m.tls.mbedtls_ssl_session_init(sess);
  try {
    if (m.tls.mbedtls_ssl_get_session(ssl, sess) !== 0) return null;
    olen.fill(0);
    m.tls.mbedtls_ssl_session_save(sess, null, 0n, olen);
    const size = Number(new DataView(olen.buffer).getBigUint64(0, true));
    if (size <= 0 || size > 1 << 20) return null;
    const out = new Uint8Array(size);
    const rc = m.tls.mbedtls_ssl_session_save(sess, out, BigInt(size), olen);
    return rc === 0 ? out : null;
  } finally {
    m.tls.mbedtls_ssl_session_free(sess);
  }
}

/** Loads a serialized session into `ssl` for resumption. Throws INVALID_OPTION. */
export function loadSession(m: MbedTls, ssl: Ptr, given: Uint8Array): void {
  const data = given instanceof Uint8Array ? plainBytes(given) : given;
  if (!(data instanceof Uint8Array) || data.length === 0) {
    throw new TlsError("INVALID_OPTION", "invalid option session: empty", { option: "session" });
  }
  const sess = ptrOf(sessionMem);
  m.tls.mbedtls_ssl_session_init(sess);
  try {
    let rc = m.tls.mbedtls_ssl_session_load(sess, data, BigInt(data.length));
    if (rc === 0) rc = m.tls.mbedtls_ssl_set_session(ssl, sess);
    if (rc !== 0) {
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option session: not a session exported by this mbedTLS build (${hexCode(rc)})`,
        { option: "session", detail: strerror(m, rc) },
      );
    }
  } finally {
    m.tls.mbedtls_ssl_session_free(sess);
  }
}
