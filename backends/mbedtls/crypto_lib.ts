/**
 * Shared plumbing of the mbedTLS crypto provider: the toolbox's symbol table
 * (opened once), the backend's CTR-DRBG, error text, and pk contexts.
 *
 * @module
 */

import { LIBMBEDCRYPTO, locateLibrary } from "../../ffi/locate.ts";
import { CRYPTO_SIZES, MBEDTLS_CRYPTO_SYMBOLS, MBEDTLS_ERR } from "../../ffi/mbedtls_crypto.ts";
import { pinnedBytes, type Ptr, type Symbols } from "../../ffi/runtime.ts";
import { CryptoError, type CryptoErrorCode } from "../../errors.ts";
import type { KeyInput } from "../crypto_provider.ts";
import { bytesToText, looksLikePem, pemBlocks } from "../pem.ts";
import { mbedtls } from "./lib.ts";
import { decryptAesPkcs8 } from "./crypto_pkcs8.ts";

/** The toolbox's libmbedcrypto symbols. */
export type Mc = Symbols<typeof MBEDTLS_CRYPTO_SYMBOLS>;

let cached: Mc | undefined;

/** Opens libmbedcrypto with the toolbox's table, once (after the backend's own check). */
export function mc(): Mc {
  if (!cached) {
    mbedtls();
    cached = locateLibrary(LIBMBEDCRYPTO, MBEDTLS_CRYPTO_SYMBOLS).symbols;
  }
  return cached;
}

/** `f_rng` and `p_rng` of the backend's shared CTR-DRBG. */
export function rng(): { f: Ptr; p: Ptr } {
  const m = mbedtls();
  return { f: m.fn.mbedtls_ctr_drbg_random, p: m.drbg };
}

/** `mbedtls_strerror(code)`. */
export function errText(code: number): string {
  const buf = new Uint8Array(200);
  mc().mbedtls_strerror(code, buf, 200n);
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? 200 : end)) +
    ` (-0x${(-code).toString(16)})`;
}

/** Throws a CryptoError for a nonzero mbedTLS result. */
export function check(rc: number, what: string, code: CryptoErrorCode = "INTERNAL"): void {
  if (rc === 0) return;
  const detail = errText(rc);
  throw new CryptoError(code, `${what} failed: ${detail}`, { detail });
}

/** A non-empty buffer for C (empty arrays become one zero byte; pass the real length apart). */
export function nz(b: Uint8Array): Uint8Array {
  return b.length ? b : new Uint8Array(1);
}

/** A size_t out-parameter cell, and its reader. */
export function sizeCell(): Uint8Array {
  return new Uint8Array(8);
}

/** Reads a size_t cell. */
export function readCell(c: Uint8Array): number {
  return Number(new DataView(c.buffer, c.byteOffset, 8).getBigUint64(0, true));
}

/** A pk context in memory that never moves; free with {@link freePk}. */
export function newPk(): Uint8Array {
  const pk = pinnedBytes(CRYPTO_SIZES.pk);
  mc().mbedtls_pk_init(pk);
  return pk;
}

/** `mbedtls_pk_free`. */
export function freePk(pk: Uint8Array): void {
  mc().mbedtls_pk_free(pk);
}

function withNul(data: Uint8Array): Uint8Array {
  if (!looksLikePem(data)) return data;
  const out = new Uint8Array(data.length + 1);
  out.set(data);
  return out;
}

/**
 * Parses a private key (or, with `wantPublic`, a public or private key) into a
 * new pk context. Returns the context and whether it holds a private key.
 * AES-encrypted PKCS#8 (which 2.28 cannot decrypt) is decrypted first.
 */
export function parseKey(
  key: KeyInput,
  wantPublic = false,
): { pk: Uint8Array; isPrivate: boolean } {
  const m = mc();
  const plain = decryptAesPkcs8(key.data, key.password);
  const data = withNul(plain ?? key.data);
  const pk = newPk();
  const pw = plain || key.password === undefined
    ? new Uint8Array(0)
    : new TextEncoder().encode(key.password);
  const rc = m.mbedtls_pk_parse_key(pk, data, BigInt(data.length), nz(pw), BigInt(pw.length));
  if (rc === 0) return { pk, isPrivate: true };
  freePk(pk);
  if (rc === MBEDTLS_ERR.PK_PASSWORD_REQUIRED) {
    throw new CryptoError("BAD_PASSWORD", "the key is encrypted: a password is needed");
  }
  if (rc === MBEDTLS_ERR.PK_PASSWORD_MISMATCH) {
    throw new CryptoError("BAD_PASSWORD", "could not decrypt the key (wrong password?)", {
      detail: errText(rc),
    });
  }
  if (wantPublic) {
    const pub = newPk();
    const rc2 = m.mbedtls_pk_parse_public_key(pub, data, BigInt(data.length));
    if (rc2 === 0) return { pk: pub, isPrivate: false };
    freePk(pub);
  }
  if (hasOkpOid(plain ?? key.data)) {
    throw new CryptoError(
      "UNSUPPORTED",
      "Ed25519/X25519/Ed448/X448 keys are not supported by the mbedtls backend (2.28)",
    );
  }
  throw new CryptoError(
    "BAD_FORMAT",
    `not a ${wantPublic ? "key" : "private key"} mbedTLS can read (PEM or DER)`,
    { detail: errText(rc) },
  );
}

/** Runs `fn` with a parsed key, freeing it after. */
export function withKey<T>(
  key: KeyInput,
  wantPublic: boolean,
  fn: (pk: Uint8Array, isPrivate: boolean) => T,
): T {
  const { pk, isPrivate } = parseKey(key, wantPublic);
  try {
    return fn(pk, isPrivate);
  } finally {
    freePk(pk);
  }
}

/** True when DER (or PEM) holds one of the RFC 8410 key OIDs (1.3.101.110-113). */
function hasOkpOid(data: Uint8Array): boolean {
  let der = data;
  if (looksLikePem(data)) {
    try {
      der = pemBlocks(bytesToText(data))[0]?.der ?? data;
    } catch {
      return false;
    }
  }
  for (let i = 0; i + 4 < der.length && i < 64; i++) {
    if (der[i] === 0x06 && der[i + 1] === 3 && der[i + 2] === 0x2b && der[i + 3] === 0x65) {
      const last = der[i + 4];
      if (last >= 110 && last <= 113) return true;
    }
  }
  return false;
}
