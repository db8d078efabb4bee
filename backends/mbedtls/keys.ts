/**
 * Key material mbedTLS 2.28 hands out through `conf_export_keys_ext_cb`: the
 * master secret and both randoms. From them come the RFC 5705 exporter (the
 * TLS 1.2 PRF with the suite's hash) and NSS key log lines.
 *
 * @module
 */

import { cstr } from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import { hexCode, type MbedTls, strerror } from "./lib.ts";

/** What one handshake's key derivation exposed. */
export interface KeyMaterial {
  masterSecret: Uint8Array; // 48 bytes
  clientRandom: Uint8Array; // 32 bytes
  serverRandom: Uint8Array; // 32 bytes
  /** `mbedtls_tls_prf_types` of the suite. */
  prf: number;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const v of b) s += v.toString(16).padStart(2, "0");
  return s;
}

/** The NSS key log line for TLS 1.2 (`CLIENT_RANDOM <random> <master secret>`). */
export function keylogLine(k: KeyMaterial): string {
  return `CLIENT_RANDOM ${hex(k.clientRandom)} ${hex(k.masterSecret)}`;
}

// RFC 5705 section 4: labels the TLS 1.2 PRF itself uses may not be exported.
const RESERVED = new Set(["client finished", "server finished", "master secret", "key expansion"]);

/**
 * RFC 5705: PRF(master_secret, label, client_random + server_random
 * [+ uint16 context length + context])[0..length].
 */
export function exportKeyingMaterial(
  m: MbedTls,
  k: KeyMaterial,
  label: string,
  length: number,
  context?: Uint8Array,
): Uint8Array {
  if (typeof label !== "string" || label.includes("\0") || RESERVED.has(label)) {
    throw new TlsError("INVALID_OPTION", `invalid option label: ${JSON.stringify(label)}`, {
      option: "label",
    });
  }
  if (!Number.isInteger(length) || length < 1 || length > 1 << 16) {
    throw new TlsError("INVALID_OPTION", `invalid option length: ${length} (expected 1..65536)`, {
      option: "length",
    });
  }
  if (context !== undefined && (!(context instanceof Uint8Array) || context.length > 0xffff)) {
    throw new TlsError("INVALID_OPTION", "invalid option context: at most 65535 bytes", {
      option: "context",
    });
  }
  const seedLen = 64 + (context ? 2 + context.length : 0);
  const seed = new Uint8Array(seedLen);
  seed.set(k.clientRandom, 0);
  seed.set(k.serverRandom, 32);
  if (context) {
    seed[64] = context.length >> 8;
    seed[65] = context.length & 0xff;
    seed.set(context, 66);
  }
  const out = new Uint8Array(length);
  const rc = m.tls.mbedtls_ssl_tls_prf(
    k.prf,
    k.masterSecret,
    BigInt(k.masterSecret.length),
    cstr(label),
    seed,
    BigInt(seedLen),
    out,
    BigInt(length),
  );
  if (rc !== 0) {
    throw new TlsError("PROTOCOL", `exportKeyingMaterial failed (${hexCode(rc)})`, {
      detail: strerror(m, rc),
    });
  }
  return out;
}
