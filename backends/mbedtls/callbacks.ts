/**
 * The C→JS callbacks mbedTLS calls: made once per process and never closed,
 * so no context or engine can outlive the callbacks it holds.
 *
 * mbedTLS 2.28 has no user data on `mbedtls_ssl_context`, and some callbacks
 * (key export, SNI) get only the config's pointer. Every engine call that can
 * reach C is synchronous, so the engine marks itself active around the call
 * ({@link enter}/{@link leave}) and the callbacks dispatch to it; the per-ssl
 * callbacks (bio, timer, verify) also get the engine's integer id as their
 * context pointer and refuse a mismatch.
 *
 * Callbacks never throw: each body is wrapped and returns a safe value; the
 * target records what went wrong.
 *
 * @module
 */

import { ERR } from "../../ffi/mbedtls.ts";
import { createCallback, type NativeCallback, type Ptr, ptrValue } from "../../ffi/runtime.ts";

/** What an engine implements so the callbacks can reach it. */
export interface CallbackTarget {
  readonly id: number;
  /** Ciphertext out: returns bytes taken. */
  cbSend(buf: Ptr, len: number): number;
  /** Ciphertext in: bytes copied to `buf`, or WANT_READ. */
  cbRecv(buf: Ptr, len: number): number;
  cbSetTimer(intMs: number, finMs: number): void;
  cbGetTimer(): number;
  cbKeys(ms: Ptr, clientRandom: Ptr, serverRandom: Ptr, prf: number): void;
  /** Server: 0 to go on, non-zero to abort the handshake. */
  cbSni(name: Ptr, len: number): number;
  /** Per certificate of the peer's chain; may change `*flags`. */
  cbVerify(crt: Ptr, depth: number, flags: Ptr): number;
  /** Records an exception thrown inside a callback. */
  cbError(e: unknown): void;
}

let active: CallbackTarget | null = null;

/** Marks `t` as the engine whose C call is under way; returns the previous one. */
export function enter(t: CallbackTarget): CallbackTarget | null {
  const prev = active;
  active = t;
  return prev;
}

/** Restores the engine that was active before {@link enter}. */
export function leave(prev: CallbackTarget | null): void {
  active = prev;
}

function target(ctx: Ptr | null): CallbackTarget | null {
  const t = active;
  if (!t) return null;
  if (ctx !== undefined && ctx !== null) {
    // The per-ssl callbacks carry the engine id: refuse a call meant for another engine.
    if (Number(ptrValue(ctx)) !== t.id) return null;
  }
  return t;
}

function guard<A extends unknown[]>(
  safe: number,
  withCtx: boolean,
  body: (t: CallbackTarget, ...args: A) => number,
): (ctx: Ptr, ...args: A) => number {
  return (ctx: Ptr, ...args: A): number => {
    const t = target(withCtx ? ctx : null);
    if (!t) return safe;
    try {
      return body(t, ...args);
    } catch (e) {
      try {
        t.cbError(e);
      } catch { /* nothing more to do */ }
      return safe;
    }
  };
}

/** The native callbacks, by role. */
export interface Callbacks {
  send: NativeCallback;
  recv: NativeCallback;
  setTimer: NativeCallback;
  getTimer: NativeCallback;
  exportKeys: NativeCallback;
  sni: NativeCallback;
  verify: NativeCallback;
}

let made: Callbacks | undefined;

/** The process-wide callbacks, made on first use. */
export function callbacks(): Callbacks {
  if (made) return made;
  made = {
    // int (*)(void *ctx, const unsigned char *buf, size_t len)
    send: createCallback(
      { params: ["ptr", "ptr", "usize"], result: "i32" },
      guard(
        ERR.WANT_WRITE,
        true,
        (t, buf: Ptr, len: number | bigint) => t.cbSend(buf, Number(len)),
      ),
    ),
    // int (*)(void *ctx, unsigned char *buf, size_t len)
    recv: createCallback(
      { params: ["ptr", "ptr", "usize"], result: "i32" },
      guard(ERR.WANT_READ, true, (t, buf: Ptr, len: number | bigint) => t.cbRecv(buf, Number(len))),
    ),
    // void (*)(void *ctx, uint32_t int_ms, uint32_t fin_ms)
    setTimer: createCallback(
      { params: ["ptr", "u32", "u32"], result: "void" },
      guard(0, true, (t, intMs: number, finMs: number) => {
        t.cbSetTimer(intMs >>> 0, finMs >>> 0);
        return 0;
      }),
    ),
    // int (*)(void *ctx): -1 cancelled, 0 running, 1 intermediate passed, 2 final passed
    getTimer: createCallback(
      { params: ["ptr"], result: "i32" },
      guard(-1, true, (t) => t.cbGetTimer()),
    ),
    // int (*)(void *p, const uchar *ms, const uchar *kb, size_t maclen, size_t keylen,
    //         size_t ivlen, const uchar client_random[32], const uchar server_random[32],
    //         mbedtls_tls_prf_types prf)
    exportKeys: createCallback(
      {
        params: ["ptr", "ptr", "ptr", "usize", "usize", "usize", "ptr", "ptr", "i32"],
        result: "i32",
      },
      guard(
        0,
        false,
        (
          t,
          ms: Ptr,
          _kb: Ptr,
          _m: unknown,
          _k: unknown,
          _i: unknown,
          cr: Ptr,
          sr: Ptr,
          prf: number,
        ) => {
          t.cbKeys(ms, cr, sr, prf);
          return 0;
        },
      ),
    ),
    // int (*)(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
    sni: createCallback(
      { params: ["ptr", "ptr", "ptr", "usize"], result: "i32" },
      guard(
        -1,
        false,
        (t, _ssl: Ptr, name: Ptr, len: number | bigint) => t.cbSni(name, Number(len)),
      ),
    ),
    // int (*)(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
    verify: createCallback(
      { params: ["ptr", "ptr", "i32", "ptr"], result: "i32" },
      guard(0, true, (t, crt: Ptr, depth: number, flags: Ptr) => t.cbVerify(crt, depth, flags)),
    ),
  };
  return made;
}
