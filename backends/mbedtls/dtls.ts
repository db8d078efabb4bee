/**
 * DTLS pieces of the mbedTLS engine: the retransmission timer mbedTLS asks
 * about through `mbedtls_ssl_set_timer_cb` (it never wakes the event loop, so
 * the connection layer polls `timeout()` and calls `onTimer()`), and the
 * server's cookie context for HelloVerifyRequest.
 *
 * @module
 */

import { SIZES } from "../../ffi/mbedtls.ts";
import { createCallback, nativeView, pinnedBytes, type Ptr, ptrOf } from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import { type MbedTls, sha256, strerror } from "./lib.ts";

/** mbedTLS's pair of delays: intermediate and final. */
export class DtlsTimer {
  #intAt = 0;
  #finAt = 0;
  #running = false;

  /** `f_set_timer`: both delays in ms from now; `fin` 0 cancels. */
  set(intMs: number, finMs: number): void {
    if (finMs === 0) {
      this.#running = false;
      return;
    }
    const now = performance.now();
    this.#intAt = now + intMs;
    this.#finAt = now + finMs;
    this.#running = true;
  }

  /** `f_get_timer`: -1 cancelled, 0 running, 1 intermediate passed, 2 final passed. */
  get(): number {
    if (!this.#running) return -1;
    const now = performance.now();
    if (now >= this.#finAt) return 2;
    if (now >= this.#intAt) return 1;
    return 0;
  }

  /** ms until the final delay passes, or null when no timer runs. */
  remaining(): number | null {
    if (!this.#running) return null;
    return Math.max(0, Math.ceil(this.#finAt - performance.now()));
  }

  /** Makes the running timer expire now (the caller's timer fired). */
  expire(): boolean {
    if (!this.#running) return false;
    this.#intAt = this.#finAt = -Infinity;
    return true;
  }
}

/** An `mbedtls_ssl_cookie_ctx` (server HelloVerifyRequest cookies), freed once. */
export class CookieContext {
  readonly mem = pinnedBytes(SIZES.cookie);
  readonly ptr: Ptr;
  #m: MbedTls;
  #freed = false;

  /** `secret`: derive the cookie HMAC key from it (else a random key). */
  constructor(m: MbedTls, secret?: Uint8Array) {
    this.#m = m;
    this.ptr = ptrOf(this.mem);
    m.tls.mbedtls_ssl_cookie_init(this.ptr);
    let rc: number;
    if (secret) {
      // cookie_setup draws its HMAC key from f_rng: hand it SHA-256(secret || counter)
      // blocks. The callback is used during setup only, then closed.
      const rng = createCallback(
        { params: ["ptr", "ptr", "usize"], result: "i32" },
        (_p, out, len) => {
          try {
            const n = Number(len);
            const view = nativeView(out, n);
            for (let off = 0, i = 0; off < n; off += 32, i++) {
              const block = new Uint8Array(secret.length + 1);
              block.set(secret);
              block[secret.length] = i;
              view.set(sha256(m, block).subarray(0, Math.min(32, n - off)), off);
            }
            return 0;
          } catch {
            return -1;
          }
        },
      );
      try {
        rc = m.tls.mbedtls_ssl_cookie_setup(this.ptr, rng.ptr, null);
      } finally {
        rng.close();
      }
    } else {
      rc = m.tls.mbedtls_ssl_cookie_setup(this.ptr, m.fn.mbedtls_ctr_drbg_random, m.drbg);
    }
    if (rc !== 0) {
      this.free();
      throw new TlsError("HANDSHAKE", "mbedtls_ssl_cookie_setup failed", {
        detail: strerror(m, rc),
      });
    }
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#m.tls.mbedtls_ssl_cookie_free(this.ptr);
  }
}
