/**
 * Peer certificates parsed once per process. A client's `info` parses the
 * server's chain, which costs ~40 µs a certificate here, on every connection;
 * connections to one server present the same certificates, so each DER is
 * parsed once and every later call gets a copy.
 *
 * @module
 */

import type { CertInfo } from "./backend.ts";
import { fnv1a, sameBytes } from "./bytes.ts";

const MAX_ENTRIES = 64;

/**
 * Wraps `parse` with a cache keyed by the DER, least recently used evicted.
 * Each result is the caller's own: its arrays, dates and DER are fresh copies.
 */
export function cachedCertificateParser(
  parse: (der: Uint8Array) => CertInfo,
): (der: Uint8Array) => CertInfo {
  const cache = new Map<number, CertInfo>();
  return (der) => {
    const key = fnv1a(der);
    let info = cache.get(key);
    if (info && sameBytes(info.der, der)) {
      cache.delete(key); // refresh its place
    } else {
      info = parse(der); // throws on a bad certificate: nothing cached
      info = { ...info, der: info.der.slice() }; // the cache's own DER, never handed out
    }
    cache.set(key, info);
    if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    return copyOf(info);
  };
}

function copyOf(info: CertInfo): CertInfo {
  return {
    ...info,
    san: [...info.san],
    notBefore: new Date(info.notBefore.getTime()),
    notAfter: new Date(info.notAfter.getTime()),
    der: info.der.slice(),
  };
}
