/**
 * Choosing a backend: the per-call `backend` option, else `setDefaultBackend()`,
 * else the `JSEC_BACKEND` environment variable, else "openssl". Each backend's
 * library is loaded on first use and kept for the life of the process.
 *
 * @module
 */

import { env } from "../ffi/runtime.ts";

/** The runtime and environment, for the layers that may not import `ffi/`. */
export { env, runtime, type RuntimeName } from "../ffi/runtime.ts";
import { LibraryNotFoundError } from "../ffi/locate.ts";
import { invalidOption, TlsError } from "../errors.ts";
import type { Backend, BackendName, Capabilities } from "./backend.ts";
import { loadOpenSsl } from "./openssl/mod.ts";
import { loadMbedTls } from "./mbedtls/mod.ts";

const loaders: Record<BackendName, () => Backend> = {
  openssl: loadOpenSsl,
  mbedtls: loadMbedTls,
};
const loaded = new Map<BackendName, Backend>();
let processDefault: BackendName | undefined;

/** The names `backend` accepts. */
export const backendNames: readonly BackendName[] = ["openssl", "mbedtls"];

function checkName(name: unknown, option: string): BackendName {
  if (typeof name !== "string" || !(backendNames as readonly string[]).includes(name)) {
    invalidOption(option, name, `one of ${backendNames.map((n) => `"${n}"`).join(", ")}`);
  }
  return name as BackendName;
}

/**
 * Sets the backend used when an options object names none (overrides `JSEC_BACKEND`).
 *
 * @example
 * ```ts
 * import { setDefaultBackend } from "@jsec/tls";
 * setDefaultBackend("mbedtls");
 * ```
 */
export function setDefaultBackend(name: BackendName): void {
  processDefault = checkName(name, "setDefaultBackend");
}

/** The backend name that applies when an options object names none. */
export function defaultBackendName(): BackendName {
  if (processDefault) return processDefault;
  const fromEnv = env("JSEC_BACKEND");
  return fromEnv ? checkName(fromEnv, "JSEC_BACKEND") : "openssl";
}

/** Loads (once) and returns a backend; throws `TlsError("BACKEND_UNAVAILABLE")`. */
export function getBackend(name?: BackendName): Backend {
  const chosen = name === undefined ? defaultBackendName() : checkName(name, "backend");
  let backend = loaded.get(chosen);
  if (!backend) {
    try {
      backend = loaders[chosen]();
    } catch (e) {
      if (e instanceof TlsError) throw e;
      const detail = e instanceof Error ? e.message : String(e);
      throw new TlsError("BACKEND_UNAVAILABLE", `backend "${chosen}" is unavailable: ${detail}`, {
        detail,
        cause: e,
        option: e instanceof LibraryNotFoundError ? e.variable : undefined,
      });
    }
    loaded.set(chosen, backend);
  }
  return backend;
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** The backend's name. */
  name: BackendName;
  /** The loaded library's version string, e.g. "OpenSSL 3.0.19 27 Jan 2026" or "mbed TLS 2.28.3". */
  version: string;
  /** Paths of the native libraries as loaded. */
  libraries: string[];
  /** What the backend can do. */
  capabilities: Capabilities;
}

/**
 * Describes a backend (default: the process default), loading it if needed.
 * Throws `TlsError("BACKEND_UNAVAILABLE")` naming every path tried.
 *
 * @example
 * ```ts
 * import { backendInfo } from "@jsec/tls";
 * const { version, capabilities } = backendInfo("openssl");
 * console.log(version, capabilities.tls13);
 * ```
 */
export function backendInfo(name?: BackendName): BackendInfo {
  const b = getBackend(name);
  return {
    name: b.name,
    version: b.version,
    libraries: [...b.libraries],
    capabilities: structuredClone(b.capabilities),
  };
}
