/**
 * For the crypto examples: when the backend cannot do an operation (mbedTLS
 * 2.28 has no Ed25519, no PKCS#12, no CMS),
 * jsec throws a `CryptoError`/`TlsError` with code "UNSUPPORTED". This helper
 * prints that error as one line and ends the example with exit code 0, so
 * `JSEC_BACKEND=mbedtls` shows what is missing instead of a stack trace.
 * Any other error still fails the example (exit code 1).
 *
 * Not an example itself (files starting with "_" are helpers).
 */

import process from "node:process";
import { CryptoError, TlsError } from "../mod.ts";

function handle(e: unknown): void {
  if ((e instanceof CryptoError || e instanceof TlsError) && e.code === "UNSUPPORTED") {
    console.log(`UNSUPPORTED on this backend: ${e.message}`);
    process.exit(0);
  }
  console.error(e);
  process.exit(1);
}

/** Turns an uncaught "UNSUPPORTED" error into a printed line and exit code 0. */
export function exitIfUnsupported(): void {
  const g = globalThis as unknown as {
    addEventListener?: (
      type: string,
      fn: (ev: { reason: unknown; preventDefault(): void }) => void,
    ) => void;
  };
  if ("Bun" in globalThis || !g.addEventListener) {
    process.on("uncaughtException", handle);
    process.on("unhandledRejection", handle);
  } else {
    g.addEventListener("unhandledrejection", (ev) => {
      ev.preventDefault();
      handle(ev.reason);
    });
  }
}
