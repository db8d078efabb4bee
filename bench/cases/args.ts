/**
 * What every case module shares: the parsed command line, the certificates,
 * the jsec options it implies and the `RESULT` line.
 */

import { argv, cpuMicros, loadCerts, parseArgs, suiteName } from "../common.ts";

export const A = parseArgs(argv());
export const CASE = String(A.case);
export const IMPL = String(A.impl ?? "jsec");
export const KEY = (A.key === "rsa" ? "rsa" : "ecdsa") as "ecdsa" | "rsa";
export const BACKEND = typeof A.backend === "string" ? A.backend : undefined;
export const certs = loadCerts(String(A.certs));
export const leaf = certs[KEY];
export const num = (k: string, d: number) => (A[k] !== undefined ? Number(A[k]) : d);
export const MIB = 1024 * 1024;
export const HOST = "127.0.0.1";

/** The TLS 1.3 suite the last measured connection negotiated ("" when unknown). */
export const negotiated = { cipher: "" };

/** jsec context options for both ends: backend, `--tls` version, `--suite` / `--cipher`. */
export function jsecOptions(): Record<string, unknown> {
  const common: Record<string, unknown> = {};
  if (BACKEND) common.backend = BACKEND;
  if (BACKEND === "mbedtls") common.maxVersion = "TLS1.2";
  if (typeof A.tls === "string") common.maxVersion = common.minVersion = A.tls;
  const cipher = typeof A.suite === "string" ? suiteName(A.suite) : A.cipher;
  if (typeof cipher === "string") {
    if (common.maxVersion === "TLS1.2") common.ciphers = cipher;
    else common.cipherSuites = cipher;
  }
  return common;
}

export function result(value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const cipher = negotiated.cipher ? { cipher: negotiated.cipher } : {};
  console.log("RESULT " + JSON.stringify({ value, unit, ...cipher, ...extra }));
}

/** Runs `k` more units (connections or round trips) of a case. */
export type Batch = (k: number) => Promise<void>;

/**
 * Set by `bench/ab.ts`, which loads several trees' cases into one process: once
 * warm, a case hands it its batch runner instead of timing itself, and goes on
 * when the driver's promise settles.
 */
function abDriver(): ((run: Batch) => Promise<void>) | undefined {
  return (globalThis as { __jsecBenchAB?: (run: Batch) => Promise<void> }).__jsecBenchAB;
}

/**
 * The connection cases' timing: warm up in batches of up to 100 connections
 * until `--warm-ms` (default 1000) has passed, at most 3000 connections, then
 * time `count` connections (wall and process CPU). The JITs need well over 100
 * connections to reach their steady state (jsec's TLS 1.2 resumption ran
 * 31–39% slower after 100 than after 1000), and the C anchor (`openssl s_time`)
 * is measured over seconds.
 */
export async function timeConnections(
  run: (k: number, measure: boolean) => Promise<void>,
  count: number,
): Promise<{ ms: number; cpuUs: number }> {
  const until = performance.now() + num("warm-ms", 1000);
  const batch = Math.min(100, count);
  let done = 0;
  do {
    await run(batch, false);
    done += batch;
  } while (performance.now() < until && done < 3000);
  const ab = abDriver();
  if (ab) {
    await ab((k) => run(k, false));
    return { ms: NaN, cpuUs: NaN };
  }
  const t0 = performance.now(), cpu0 = cpuMicros();
  await run(count, true);
  return { ms: performance.now() - t0, cpuUs: cpuMicros() - cpu0 };
}

/** The round-trip cases' timing: `warm` rounds, then the milliseconds `count` more take. */
export async function timeRounds(
  run: (k: number) => Promise<void>,
  warm: number,
  count: number,
): Promise<number> {
  await run(warm);
  const ab = abDriver();
  if (ab) {
    await ab(run);
    return NaN;
  }
  const t0 = performance.now();
  await run(count);
  return performance.now() - t0;
}
