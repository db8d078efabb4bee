/**
 * Internal helpers of the crypto module: choosing the backend's provider,
 * argument checks and input normalization. Not part of the public API.
 *
 * @module
 */

import { CryptoError, TlsError } from "../errors.ts";
import type { BackendName } from "../backends/backend.ts";
import type { CryptoProvider, KeyInput } from "../backends/crypto_provider.ts";
import { getBackend } from "../backends/registry.ts";
import { plainBytes } from "../backends/bytes.ts";

/** Options every crypto function accepts. */
export interface BackendOption {
  /** Which native library computes it (default: the process default backend). */
  backend?: BackendName;
}

/** Key material as users pass it: PEM text, or PEM/DER bytes. */
export type KeyLike = string | Uint8Array;

/** Binary input: bytes, or a string (encoded as UTF-8). */
export type BytesLike = Uint8Array | string;

const enc = new TextEncoder();

/** The provider of `backend` and a describer for errors. */
export function provider(backend?: BackendName): { p: CryptoProvider; label: string } {
  try {
    const b = getBackend(backend);
    return { p: b.crypto, label: `${b.name} backend (${b.version})` };
  } catch (e) {
    if (e instanceof TlsError && e.code === "BACKEND_UNAVAILABLE") {
      throw new CryptoError("BACKEND_UNAVAILABLE", e.message, { detail: e.detail, cause: e });
    }
    if (e instanceof TlsError && e.code === "INVALID_OPTION") {
      throw new CryptoError("INVALID_ARGUMENT", e.message, { cause: e });
    }
    throw e;
  }
}

/** Returns the provider's member `name`, or throws UNSUPPORTED naming the function and backend. */
export function need<K extends keyof CryptoProvider>(
  fn: string,
  name: K,
  backend?: BackendName,
): NonNullable<CryptoProvider[K]> {
  const { p, label } = provider(backend);
  const f = p[name];
  if (typeof f !== "function") {
    throw new CryptoError("UNSUPPORTED", `${fn} is not supported by the ${label}`);
  }
  return (f as (...a: unknown[]) => unknown).bind(p) as NonNullable<CryptoProvider[K]>;
}

/** Formats a value for an error message, shortened. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "string"
      ? JSON.stringify(v)
      : v instanceof Uint8Array
      ? `Uint8Array(${v.length})`
      : typeof v === "bigint"
      ? `${v}n`
      : JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v;
  }
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** Throws `CryptoError("INVALID_ARGUMENT")` naming the argument, its value and what was expected. */
export function invalid(arg: string, value: unknown, expected: string): never {
  throw new CryptoError(
    "INVALID_ARGUMENT",
    `invalid ${arg}: ${show(value)} (expected ${expected})`,
  );
}

/** Checks that `v` is one of `allowed`. */
export function oneOf<T extends string>(arg: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    invalid(arg, v, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
  }
  return v as T;
}

/** Up to this size a caller's bytes are copied on the way in (see {@link ownBytes}). */
const COPIED_INPUT = 4096;

/**
 * A caller's Uint8Array as bytes to hand to C. Small ones (keys, nonces, tags,
 * points) are copied: their sizes are checked once, and a getter of the
 * caller's options, run after that check, could detach or shrink the original
 * before C reads the checked number of bytes. Larger ones are a view whose
 * length C can trust (see `plainBytes`), read again when used.
 */
function ownBytes(v: Uint8Array): Uint8Array {
  const b = plainBytes(v);
  return b.length <= COPIED_INPUT ? b.slice() : b;
}

/** Bytes from a Uint8Array or a UTF-8 string. */
export function bytes(arg: string, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return ownBytes(v);
  if (typeof v === "string") return enc.encode(v);
  return invalid(arg, v, "a Uint8Array or a string");
}

/** Strictly a Uint8Array. */
export function u8(arg: string, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return ownBytes(v);
  return invalid(arg, v, "a Uint8Array");
}

/** An optional Uint8Array/string, empty when undefined. */
export function optBytes(arg: string, v: unknown): Uint8Array {
  return v === undefined || v === null ? new Uint8Array(0) : bytes(arg, v);
}

/** An integer in [min, max]. */
export function int(arg: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    invalid(arg, v, `an integer from ${min} to ${max}`);
  }
  return v;
}

/** Key input (PEM string or PEM/DER bytes), with an optional password. */
export function keyInput(arg: string, v: unknown, password?: unknown): KeyInput {
  let data: Uint8Array;
  if (typeof v === "string") {
    if (!v.includes("-----BEGIN ")) invalid(arg, v, "PEM text or DER bytes");
    data = enc.encode(v);
  } else if (v instanceof Uint8Array && v.length > 0) {
    data = ownBytes(v);
  } else {
    return invalid(arg, v, "PEM text or DER bytes");
  }
  if (password !== undefined) checkPassword("password", password);
  return password === undefined ? { data } : { data, password: password as string };
}

/**
 * A password for C: a string with no NUL, which would silently cut it short
 * (and weaken it) in the library.
 */
export function checkPassword(arg: string, v: unknown): string {
  if (typeof v !== "string" || v.includes("\0")) {
    invalid(arg, "(hidden)", "a string with no NUL characters");
  }
  return v as string;
}

/** Certificate input as bytes (PEM or DER), checked only for type. */
export function certBytes(arg: string, v: unknown): Uint8Array {
  if (typeof v === "string") return enc.encode(v);
  if (v instanceof Uint8Array && v.length > 0) return ownBytes(v);
  return invalid(arg, v, "PEM text or DER bytes");
}

/** Runs `fn` on the next macrotask and resolves with its result (for "slow" Promise APIs). */
export function later<T>(fn: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    }, 0);
  });
}
