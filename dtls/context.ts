/**
 * Building a DTLS context from options: the TLS options layer with the
 * datagram switch on, the backend's DTLS capability checked, and DTLS-only
 * settings (the cookie secret) added.
 *
 * @module
 */

import { invalidOption, TlsError } from "../errors.ts";
import type { Backend, BackendName, ContextConfig } from "../backends/backend.ts";
import { getBackend } from "../backends/registry.ts";
import { sharedContext, TlsContext } from "../streams/context.ts";
import { buildConfig } from "../streams/options.ts";

/**
 * @internal The backend and configuration for a DTLS `side`, validated: the
 * checks a DTLS context needs, without building one.
 */
export function dtlsConfig(
  o: Record<string, unknown>,
  side: "client" | "server",
): { backend: Backend; config: ContextConfig } {
  const backend = getBackend(o.backend as BackendName | undefined);
  const config = buildConfig(o, side, true);
  if (!backend.capabilities.dtls12) {
    throw new TlsError(
      "UNSUPPORTED",
      `DTLS is not supported by the ${backend.name} backend (${backend.version})`,
    );
  }
  // DTLS 1.2 is the only version: the TLS version options do not apply.
  config.minVersion = "TLS1.2";
  config.maxVersion = "TLS1.2";
  if (side === "server" && o.cookieSecret !== undefined) {
    const s = o.cookieSecret;
    const bytes = typeof s === "string"
      ? new TextEncoder().encode(s)
      : s instanceof Uint8Array
      ? s.slice()
      : null;
    if (!bytes || bytes.length < 16) {
      invalidOption("cookieSecret", typeof s, "a string or Uint8Array of at least 16 bytes");
    }
    config.cookieSecret = bytes;
  }
  return { backend, config };
}

/**
 * @internal A DTLS context for `side`. A client's is shared with connects of the
 * same options (see `sharedContext`): take it right before creating the engine,
 * with no await between, or another connect may evict it. `owned`: the caller
 * must free it.
 */
export function dtlsContext(
  o: Record<string, unknown>,
  side: "client" | "server",
): { context: TlsContext; owned: boolean } {
  const { backend, config } = dtlsConfig(o, side);
  if (side === "client") return sharedContext(backend, config);
  return { context: new TlsContext(backend.name, backend.createContext(config)), owned: true };
}
