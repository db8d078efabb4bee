/**
 * Loads libssl and libcrypto once per process and hands out their symbols.
 *
 * @module
 */

import { LIBCRYPTO, LIBSSL, locateLibrary } from "../../ffi/locate.ts";
import { LIBCRYPTO_TLS_SYMBOLS, LIBSSL_SYMBOLS } from "../../ffi/openssl.ts";
import { readCString, type Symbols } from "../../ffi/runtime.ts";

/** The opened OpenSSL libraries. */
export interface OpenSsl {
  ssl: Symbols<typeof LIBSSL_SYMBOLS>;
  crypto: Symbols<typeof LIBCRYPTO_TLS_SYMBOLS>;
  /** Paths of libssl and libcrypto as loaded. */
  paths: string[];
  /** e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  version: string;
  /** `OpenSSL_version_num()`, e.g. 0x30000130. */
  versionNumber: number;
}

let cached: OpenSsl | undefined;

/** Opens libcrypto then libssl (libssl needs libcrypto's symbols), once. */
export function openssl(): OpenSsl {
  if (cached) return cached;
  const crypto = locateLibrary(LIBCRYPTO, LIBCRYPTO_TLS_SYMBOLS);
  const ssl = locateLibrary(LIBSSL, LIBSSL_SYMBOLS);
  const versionNumber = Number(crypto.symbols.OpenSSL_version_num());
  if (versionNumber < 0x30000000) {
    throw new Error(
      `OpenSSL ${versionNumber.toString(16)} at ${crypto.path} is too old: jsec needs OpenSSL 3`,
    );
  }
  cached = {
    ssl: ssl.symbols,
    crypto: crypto.symbols,
    paths: [ssl.path, crypto.path],
    version: readCString(crypto.symbols.OpenSSL_version(0)),
    versionNumber,
  };
  return cached;
}
