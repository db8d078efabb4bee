/**
 * The context of a DTLS connect or listen: the `context` option (a DTLS
 * context from `createContext({ datagram: true })`, checked), else one built
 * from the options by the TLS options layer with the datagram switch on and
 * the backend's DTLS capability checked.
 *
 * @module
 */

import { TlsError } from "../errors.ts";
import type { Backend, BackendName, ContextConfig } from "../backends/backend.ts";
import { getBackend } from "../backends/registry.ts";
import { resolveContext, sharedContext, TlsContext } from "../streams/context.ts";
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
  return { backend, config };
}

/**
 * @internal A DTLS context for `side`: the `context` option, checked, or one
 * built from the options. A client's built one is shared with connects of the
 * same options (see `sharedContext`): take it right before creating the engine,
 * with no await between, or another connect may evict it. `owned`: the caller
 * must free it.
 */
export function dtlsContext(
  o: Record<string, unknown>,
  side: "client" | "server",
): { context: TlsContext; owned: boolean } {
  if (o.context !== undefined) return resolveContext(o, side, true);
  const { backend, config } = dtlsConfig(o, side);
  if (side === "client") return sharedContext(backend, config);
  return { context: new TlsContext(backend.name, backend.createContext(config)), owned: true };
}
