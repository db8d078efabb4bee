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
  /**
   * SSL_free_buffers can be called on a connection waiting for data. Before
   * 3.0.14, 3.1.6, 3.2.2 and 3.3.1 it freed a half-read record still in use
   * (CVE-2024-4741).
   */
  freeBuffersSafe: boolean;
}

/** The first fixed release of each 3.x series for CVE-2024-4741 (OpenSSL_version_num form). */
function freeBuffersSafe(v: number): boolean {
  const fixed: Record<number, number> = {
    0: 0x300000e0,
    1: 0x30100060,
    2: 0x30200020,
    3: 0x30300010,
  };
  const minor = (v >>> 20) & 0xff;
  return v >= 0x40000000 || minor > 3 || v >= fixed[minor];
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
    freeBuffersSafe: freeBuffersSafe(versionNumber),
  };
  return cached;
}
