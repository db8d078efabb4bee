/**
 * Loads libmbedcrypto, libmbedx509 and libmbedtls (in that order) once per
 * process, checks that they are 2.28, and sets up what every context shares:
 * one entropy source and one CTR-DRBG, and the addresses of the library
 * functions mbedTLS takes as pointers.
 *
 * @module
 */

import { LIBMBEDCRYPTO, LIBMBEDTLS, LIBMBEDX509, locateLibrary } from "../../ffi/locate.ts";
import {
  FUNCTION_POINTERS,
  LIBMBEDCRYPTO_TLS_SYMBOLS,
  LIBMBEDTLS_SYMBOLS,
  LIBMBEDX509_SYMBOLS,
  SIZES,
} from "../../ffi/mbedtls.ts";
import {
  cstr,
  pinnedBytes,
  type Ptr,
  ptrOf,
  symbolAddress,
  type Symbols,
  type SymbolTable,
} from "../../ffi/runtime.ts";

type FnName = (typeof FUNCTION_POINTERS)["crypto" | "tls"][number];

/** The opened mbedTLS libraries and the process-wide RNG. */
export interface MbedTls {
  crypto: Symbols<typeof LIBMBEDCRYPTO_TLS_SYMBOLS>;
  x509: Symbols<typeof LIBMBEDX509_SYMBOLS>;
  tls: Symbols<typeof LIBMBEDTLS_SYMBOLS>;
  /** Paths of libmbedtls, libmbedx509, libmbedcrypto as loaded. */
  paths: string[];
  /** e.g. "mbed TLS 2.28.3". */
  version: string;
  /** `mbedtls_version_get_number()`, e.g. 0x021C0300. */
  versionNumber: number;
  /** Library functions by name, as pointers for C (f_rng, cookie, ticket, cache). */
  fn: Record<FnName, Ptr>;
  /** The shared CTR-DRBG (`p_rng` for `mbedtls_ctr_drbg_random`). */
  drbg: Ptr;
}

const VERSION_ONLY = {
  mbedtls_version_get_number: { params: [], result: "u32" },
} as const satisfies SymbolTable;

let cached: MbedTls | undefined;
// The RNG's memory: the DRBG points at the entropy context; both live for the
// life of the process (referenced here so they are never collected).
export let rngMemory: readonly Uint8Array[] = [];

/** Opens mbedTLS 2.28 once; throws a clear error for any other major version. */
export function mbedtls(): MbedTls {
  if (cached) return cached;
  // Check the version with a one-symbol table first: 3.x lacks some 2.28
  // symbols, and "symbol not found" would hide the real problem.
  const probe = locateLibrary(LIBMBEDCRYPTO, VERSION_ONLY);
  const versionNumber = probe.symbols.mbedtls_version_get_number() >>> 0;
  const major = versionNumber >>> 24;
  const minor = (versionNumber >>> 16) & 0xff;
  if (major !== 2 || minor < 28) {
    throw new Error(
      `${probe.path} is mbedTLS ${major}.${minor}.${(versionNumber >>> 8) & 0xff}: ` +
        `jsec's mbedTLS backend supports 2.28 (set JSEC_MBEDTLS_DIR to a 2.28 build)`,
    );
  }
  const crypto = locateLibrary(LIBMBEDCRYPTO, LIBMBEDCRYPTO_TLS_SYMBOLS);
  const x509 = locateLibrary(LIBMBEDX509, LIBMBEDX509_SYMBOLS);
  const tls = locateLibrary(LIBMBEDTLS, LIBMBEDTLS_SYMBOLS);

  const fn = {} as Record<FnName, Ptr>;
  for (const name of FUNCTION_POINTERS.crypto) fn[name] = symbolAddress(crypto.path, name);
  for (const name of FUNCTION_POINTERS.tls) fn[name] = symbolAddress(tls.path, name);

  const versionText = pinnedBytes(64);
  crypto.symbols.mbedtls_version_get_string_full(versionText);
  const end = versionText.indexOf(0);
  const version = new TextDecoder().decode(versionText.subarray(0, end < 0 ? 64 : end));

  const entropy = pinnedBytes(SIZES.entropy);
  const drbgMem = pinnedBytes(SIZES.ctr_drbg);
  const entropyPtr = ptrOf(entropy);
  const drbg = ptrOf(drbgMem);
  crypto.symbols.mbedtls_entropy_init(entropyPtr);
  crypto.symbols.mbedtls_ctr_drbg_init(drbg);
  const custom = cstr("jsec mbedtls backend");
  const rc = crypto.symbols.mbedtls_ctr_drbg_seed(
    drbg,
    fn.mbedtls_entropy_func,
    entropyPtr,
    custom,
    BigInt(custom.length - 1),
  );
  if (rc !== 0) {
    crypto.symbols.mbedtls_ctr_drbg_free(drbg);
    crypto.symbols.mbedtls_entropy_free(entropyPtr);
    throw new Error(`mbedtls_ctr_drbg_seed failed: -0x${(-rc).toString(16)}`);
  }
  rngMemory = [entropy, drbgMem];

  cached = {
    crypto: crypto.symbols,
    x509: x509.symbols,
    tls: tls.symbols,
    paths: [tls.path, x509.path, crypto.path],
    version,
    versionNumber,
    fn,
    drbg,
  };
  return cached;
}

const errBuf = pinnedBytes(256);
const decoder = new TextDecoder();

/** `mbedtls_strerror` of `code`, e.g. "SSL - The connection indicated an EOF (-0x7280)". */
export function strerror(m: MbedTls, code: number): string {
  errBuf.fill(0);
  m.crypto.mbedtls_strerror(code, errBuf, BigInt(errBuf.length));
  const end = errBuf.indexOf(0);
  const text = decoder.decode(errBuf.subarray(0, end < 0 ? errBuf.length : end));
  const hex = `-0x${(-code).toString(16).toUpperCase().padStart(4, "0")}`;
  return text.includes(hex) ? text : `${text} (${hex})`;
}

/** `-0x7780` style. */
export function hexCode(code: number): string {
  return code < 0 ? `-0x${(-code).toString(16).toUpperCase()}` : `0x${code.toString(16)}`;
}

/** SHA-256 of `data` (for certificate fingerprints). */
export function sha256(m: MbedTls, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  const input = data.length ? data : new Uint8Array(1);
  const rc = m.crypto.mbedtls_sha256_ret(input, BigInt(data.length), out, 0);
  if (rc !== 0) throw new Error(`mbedtls_sha256_ret failed: ${hexCode(rc)}`);
  return out;
}
