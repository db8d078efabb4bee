/**
 * The OpenSSL 3 backend.
 *
 * @module
 */

import { cstr, isNull, keepAlive, ptrOf } from "../../ffi/runtime.ts";
import { SSL_CTRL } from "../../ffi/openssl.ts";
import type { Backend, Capabilities, ContextConfig } from "../backend.ts";
import { cachedCertificateParser } from "../cert_cache.ts";
import { createOpenSslMemoryBio } from "./bio.ts";
import { createOpenSslCrypto } from "./crypto.ts";
import { OpenSslContext } from "./context.ts";
import { drainErrors } from "./errors.ts";
import { type OpenSsl, openssl } from "./lib.ts";

const CLASSIC_GROUPS = ["X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048", "ffdhe3072"];
const PQ_GROUPS = ["X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768"];

/** The groups this libssl accepts, by asking a throwaway context. */
function probeGroups(o: OpenSsl, names: string[]): string[] {
  const ctx = o.ssl.SSL_CTX_new(o.ssl.TLS_method());
  if (isNull(ctx)) return [];
  try {
    return names.filter((g) => {
      const name = cstr(g);
      const ok = Number(o.ssl.SSL_CTX_ctrl(ctx, SSL_CTRL.SET_GROUPS_LIST, 0n, ptrOf(name))) === 1;
      keepAlive(name);
      return ok;
    });
  } finally {
    drainErrors(o);
    o.ssl.SSL_CTX_free(ctx);
  }
}

/** Loads libssl/libcrypto 3 and returns the OpenSSL backend. */
export function loadOpenSsl(): Backend {
  const o = openssl();
  const postQuantumGroups = probeGroups(o, PQ_GROUPS);
  const capabilities: Capabilities = {
    tls12: true,
    tls13: true,
    dtls12: true,
    dtls13: false,
    keyUpdate: true,
    ocsp: true,
    exportKeyingMaterial: true,
    sessionResumption: true,
    sessionTickets: true,
    alpn: true,
    sni: true,
    keylog: true,
    groups: [...probeGroups(o, CLASSIC_GROUPS), ...postQuantumGroups],
    postQuantumGroups,
  };
  const crypto = createOpenSslCrypto();
  const parse = cachedCertificateParser((der) => crypto.parseCertificate(der));
  return {
    name: "openssl",
    version: o.version,
    libraries: o.paths,
    capabilities,
    crypto,
    createContext: (config: ContextConfig) => new OpenSslContext(o, config, parse),
    createMemoryBio: () => createOpenSslMemoryBio(o),
  };
}
