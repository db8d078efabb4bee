/**
 * The mbedTLS 2.28 backend: TLS 1.2 and DTLS 1.2 over Debian's
 * libmbedtls.so.14 / libmbedx509.so.1 / libmbedcrypto.so.7.
 *
 * @module
 */

import type { Backend, Capabilities, ContextConfig, CryptoProvider } from "../backend.ts";
import { cachedCertificateParser } from "../cert_cache.ts";
import { parseCertificateDer } from "../x509_der.ts";
import { createQueueMemoryBio } from "./bio.ts";
import { MbedContext } from "./context.ts";
import { createMbedTlsCrypto } from "./crypto.ts";
import { mbedtls, sha256 } from "./lib.ts";
import { SUPPORTED_GROUPS } from "./names.ts";

export { MbedContext } from "./context.ts";
export { MbedEngine } from "./engine.ts";

/** Loads mbedTLS 2.28 (once) and returns its backend. */
export function loadMbedTls(): Backend {
  const m = mbedtls();
  const capabilities: Capabilities = {
    tls12: true,
    tls13: false,
    dtls12: true,
    dtls13: false,
    keyUpdate: false,
    ocsp: false,
    exportKeyingMaterial: true,
    sessionResumption: true,
    sessionTickets: true,
    alpn: true,
    sni: true,
    keylog: true,
    groups: [...SUPPORTED_GROUPS],
    postQuantumGroups: [],
  };
  // Peer certificates arrive as DER: parse them directly (no PEM sniffing).
  const parse = cachedCertificateParser((der) => parseCertificateDer(der, (d) => sha256(m, d)));
  const crypto: CryptoProvider = createMbedTlsCrypto();
  return {
    name: "mbedtls",
    version: m.version,
    libraries: m.paths,
    capabilities,
    crypto,
    createContext: (config: ContextConfig) => new MbedContext(m, config, parse),
    createMemoryBio: createQueueMemoryBio,
  };
}
