/**
 * Names for cipher suites and groups as jsec's options spell them (OpenSSL
 * names, IANA names) mapped to what mbedTLS 2.28 takes, and back.
 *
 * @module
 */

import { invalidOption } from "../../errors.ts";
import { GROUP_IDS } from "../../ffi/mbedtls.ts";

/** OpenSSL's TLS 1.2 suite names → IANA, for the suites both libraries have. */
const OPENSSL_TO_IANA: Readonly<Record<string, string>> = {
  "DHE-RSA-AES128-SHA": "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
  "DHE-RSA-AES128-SHA256": "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
  "DHE-RSA-AES128-CCM": "TLS_DHE_RSA_WITH_AES_128_CCM",
  "DHE-RSA-AES128-CCM8": "TLS_DHE_RSA_WITH_AES_128_CCM_8",
  "DHE-RSA-AES128-GCM-SHA256": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
  "DHE-RSA-AES256-SHA": "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
  "DHE-RSA-AES256-SHA256": "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
  "DHE-RSA-AES256-CCM": "TLS_DHE_RSA_WITH_AES_256_CCM",
  "DHE-RSA-AES256-CCM8": "TLS_DHE_RSA_WITH_AES_256_CCM_8",
  "DHE-RSA-AES256-GCM-SHA384": "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
  "DHE-RSA-CHACHA20-POLY1305": "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
  "ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
  "ECDHE-ECDSA-AES128-CCM": "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
  "ECDHE-ECDSA-AES128-CCM8": "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
  "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
  "ECDHE-ECDSA-AES256-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
  "ECDHE-ECDSA-AES256-CCM": "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
  "ECDHE-ECDSA-AES256-CCM8": "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
  "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
  "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
  "ECDHE-RSA-AES256-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
  "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",
  "AES128-CCM": "TLS_RSA_WITH_AES_128_CCM",
  "AES128-CCM8": "TLS_RSA_WITH_AES_128_CCM_8",
  "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
  "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
  "AES256-SHA256": "TLS_RSA_WITH_AES_256_CBC_SHA256",
  "AES256-CCM": "TLS_RSA_WITH_AES_256_CCM",
  "AES256-CCM8": "TLS_RSA_WITH_AES_256_CCM_8",
  "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
};

/**
 * The suites offered when `ciphers` is not set: OpenSSL 3's default TLS 1.2
 * list (forward secret AEAD first, then CBC, then RSA key exchange). mbedTLS's
 * own default offers over a hundred suites, which makes a ClientHello too big
 * for one DTLS datagram (mbedTLS cannot fragment a ClientHello).
 */
export const DEFAULT_CIPHERS = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "DHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-SHA384",
  "ECDHE-RSA-AES256-SHA384",
  "ECDHE-ECDSA-AES128-SHA256",
  "ECDHE-RSA-AES128-SHA256",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "AES256-GCM-SHA384",
  "AES128-GCM-SHA256",
  "AES256-SHA256",
  "AES128-SHA256",
  "AES256-SHA",
  "AES128-SHA",
].join(":");

/** TLS 1.3 suite names (valid in `cipherSuites`, never negotiated by 2.28). */
const TLS13_SUITES = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_CCM_SHA256",
  "TLS_AES_128_CCM_8_SHA256",
]);

/** OpenSSL keywords and modifiers: they select nothing by themselves here. */
function isModifier(token: string): boolean {
  return /^[!+-]/.test(token) || token.startsWith("@");
}

/**
 * mbedTLS suite names ("TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256") for an
 * OpenSSL-syntax `ciphers` list of explicit names (OpenSSL or IANA spelling).
 * Exclusions (`!x`, `-x`), `+x` and `@...` are ignored: a list of explicit
 * names already excludes everything else. Keywords such as HIGH or DEFAULT
 * cannot be expanded by mbedTLS and are rejected.
 */
export function mbedSuiteNames(ciphers: string): string[] {
  const out: string[] = [];
  for (const raw of ciphers.split(/[:, ]+/)) {
    const token = raw.trim();
    if (!token || isModifier(token)) continue;
    const iana = OPENSSL_TO_IANA[token] ??
      (/^TLS[_-][A-Z0-9_-]+_WITH_|^TLS-[A-Z0-9-]+-WITH-/.test(token) ? token : null);
    if (!iana) {
      invalidOption(
        "ciphers",
        ciphers,
        `explicit TLS 1.2 suite names (OpenSSL or IANA spelling); "${token}" is not one mbedTLS 2.28 knows`,
      );
    }
    out.push(iana.replaceAll("_", "-"));
  }
  if (out.length === 0) invalidOption("ciphers", ciphers, "at least one TLS 1.2 cipher suite name");
  return out;
}

/** Checks a TLS 1.3 `cipherSuites` list (mbedTLS 2.28 never uses it). */
export function checkTls13Suites(suites: string): void {
  for (const name of suites.split(":").map((s) => s.trim()).filter(Boolean)) {
    if (!TLS13_SUITES.has(name)) {
      invalidOption("cipherSuites", suites, `TLS 1.3 suite names such as TLS_AES_128_GCM_SHA256`);
    }
  }
}

const GROUP_ALIASES: Readonly<Record<string, string>> = {
  x25519: "X25519",
  "p-256": "P-256",
  p256: "P-256",
  secp256r1: "P-256",
  prime256v1: "P-256",
  "p-384": "P-384",
  p384: "P-384",
  secp384r1: "P-384",
  "p-521": "P-521",
  p521: "P-521",
  secp521r1: "P-521",
};

/** The groups mbedTLS 2.28 offers, in the names `groups` accepts. */
export const SUPPORTED_GROUPS = ["X25519", "P-256", "P-384", "P-521"];

/** `mbedtls_ecp_group_id`s for a colon-separated `groups` list. */
export function groupIds(groups: string): number[] {
  const ids: number[] = [];
  for (const raw of groups.split(/[:,]/)) {
    const token = raw.trim();
    if (!token) continue;
    const name = GROUP_ALIASES[token.toLowerCase()];
    if (!name) {
      invalidOption("groups", groups, `groups from ${SUPPORTED_GROUPS.join(", ")}`);
    }
    const id = GROUP_IDS[name];
    if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length === 0) invalidOption("groups", groups, "at least one group");
  return ids;
}

/** The IANA name of an mbedTLS suite name ("TLS-ECDHE-..." → "TLS_ECDHE_..."). */
export function ianaName(mbedName: string): string {
  return mbedName.replaceAll("-", "_");
}

/** The symmetric key size of a suite, from its name. */
export function suiteBits(iana: string): number {
  if (/CHACHA20/.test(iana)) return 256;
  const m = /_(?:AES|CAMELLIA|ARIA)_(\d{3})_/.exec(iana);
  if (m) return Number(m[1]);
  if (/3DES/.test(iana)) return 112;
  return 0;
}
