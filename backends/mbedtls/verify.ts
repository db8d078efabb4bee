/**
 * Peer verification results in OpenSSL's words, and the name checks mbedTLS
 * 2.28 cannot do itself (IP addresses, a name other than the SNI).
 *
 * @module
 */

import { FLAG_NOT_TRUSTED, VERIFY_FLAGS } from "../../ffi/mbedtls.ts";
import { pinnedBytes } from "../../ffi/runtime.ts";
import type { CertInfo } from "../backend.ts";
import { isSelfIssued, parseIp } from "./certs.ts";
import type { MbedTls } from "./lib.ts";

/**
 * The main reason in `flags` (`mbedtls_ssl_get_verify_result`), worded like
 * OpenSSL's `X509_verify_cert_error_string`. `chain` is the peer's chain as
 * sent (DER, leaf first): "not trusted" becomes "self-signed certificate",
 * "self-signed certificate in certificate chain" or "unable to get local
 * issuer certificate" depending on it.
 */
export function verifyResultText(flags: number, chain: Uint8Array[]): string {
  for (const [flag, text] of VERIFY_FLAGS) {
    if ((flags & flag) === 0) continue;
    if (flag !== FLAG_NOT_TRUSTED || chain.length === 0) return text;
    const last = chain[chain.length - 1];
    if (isSelfIssued(last)) {
      return chain.length === 1
        ? "self-signed certificate"
        : "self-signed certificate in certificate chain";
    }
    return text;
  }
  return flags ? `certificate verification failed (flags 0x${flags.toString(16)})` : "ok";
}

const infoBuf = pinnedBytes(1024);
const noPrefix = new Uint8Array(1);

/** mbedTLS's own description of `flags` (`mbedtls_x509_crt_verify_info`), one line. */
export function verifyInfo(m: MbedTls, flags: number): string {
  infoBuf.fill(0);
  const n = m.x509.mbedtls_x509_crt_verify_info(
    infoBuf,
    BigInt(infoBuf.length),
    noPrefix,
    flags >>> 0,
  );
  if (n <= 0) return "";
  return new TextDecoder().decode(infoBuf.subarray(0, n)).trim().split("\n").map((s) => s.trim())
    .join("; ");
}

function matchesDns(pattern: string, host: string): boolean {
  pattern = pattern.toLowerCase().replace(/\.$/, "");
  host = host.toLowerCase().replace(/\.$/, "");
  if (pattern === host) return true;
  if (!pattern.startsWith("*.")) return false;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}

/**
 * Whether the leaf certificate `info` is valid for `name` (a DNS name or an IP
 * literal), by its subjectAltName; for DNS names without any DNS SAN, by its
 * common name, as mbedTLS does.
 */
export function certMatchesName(info: CertInfo, name: string): boolean {
  const ip = parseIp(name);
  if (ip) {
    return info.san.some((s) => {
      if (!s.startsWith("IP:")) return false;
      const b = parseIp(s.slice(3));
      return !!b && b.length === ip.length && b.every((v, i) => v === ip[i]);
    });
  }
  const dns = info.san.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4));
  if (dns.length) return dns.some((d) => matchesDns(d, name));
  return info.commonName !== null && matchesDns(info.commonName, name);
}
