/**
 * Shared bits of the benchmark harness: argument parsing, the runtime name,
 * certificates made with the `openssl` CLI, and memory/CPU/GC helpers.
 * Runs under Deno and Bun (node: modules only, no runtime-specific imports).
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

// deno-lint-ignore no-explicit-any
export type Any = any;
export const g = globalThis as Any;
export const RUNTIME: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

/** `--flag value`, `--flag=value` and bare `--flag` (true). */
export function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

/** `--suite` short names → TLS 1.3 suites (any OpenSSL suite name works as is). */
const SUITES: Record<string, string> = {
  aes128: "TLS_AES_128_GCM_SHA256",
  aes256: "TLS_AES_256_GCM_SHA384",
  chacha20: "TLS_CHACHA20_POLY1305_SHA256",
};

/** The TLS 1.3 suite a `--suite` value names. */
export function suiteName(suite: string): string {
  return SUITES[suite] ?? suite;
}

/** The command line; `bench/ab.ts` sets `__jsecBenchArgv` for the trees it loads. */
export function argv(): string[] {
  return g.__jsecBenchArgv ?? (RUNTIME === "bun" ? g.Bun.argv.slice(2) : g.Deno.args);
}

export function rss(): number {
  return RUNTIME === "bun" ? g.process.memoryUsage().rss : g.Deno.memoryUsage().rss;
}

/** CPU time (user + system) this process has used, in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** A full GC where the runtime allows it (Deno needs --v8-flags=--expose-gc). */
export function gc(): void {
  if (RUNTIME === "bun") g.Bun.gc(true);
  else g.gc?.();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface CertSet {
  dir: string;
  ca: string;
  caFile: string;
  ecdsa: { cert: string; key: string; certFile: string; keyFile: string };
  rsa: { cert: string; key: string; certFile: string; keyFile: string };
}

function ossl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and two localhost leaves (ECDSA P-256, RSA-2048) in a fresh temp dir. */
export function makeCerts(): CertSet {
  const dir = mkdtempSync(join(tmpdir(), "jsec-bench-"));
  ossl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  ossl([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=jsec bench CA",
    "-days",
    "2",
    "-out",
    "ca.pem",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  writeFileSync(
    join(dir, "leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  for (const kind of ["ecdsa", "rsa"]) {
    if (kind === "ecdsa") {
      ossl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ecdsa.raw"], dir);
    } else ossl(["genrsa", "-out", "rsa.raw", "2048"], dir);
    // PKCS#8 is what every consumer (rustls, Bun, node, jsec) reads.
    ossl(["pkcs8", "-topk8", "-nocrypt", "-in", `${kind}.raw`, "-out", `${kind}.key`], dir);
    ossl(
      ["req", "-new", "-key", `${kind}.key`, "-subj", "/CN=localhost", "-out", `${kind}.csr`],
      dir,
    );
    ossl([
      "x509",
      "-req",
      "-in",
      `${kind}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
      "-out",
      `${kind}.pem`,
    ], dir);
  }
  return loadCerts(dir);
}

export function loadCerts(dir: string): CertSet {
  const r = (f: string) => readFileSync(join(dir, f), "utf8");
  const pair = (k: string) => ({
    cert: r(`${k}.pem`),
    key: r(`${k}.key`),
    certFile: join(dir, `${k}.pem`),
    keyFile: join(dir, `${k}.key`),
  });
  return {
    dir,
    ca: r("ca.pem"),
    caFile: join(dir, "ca.pem"),
    ecdsa: pair("ecdsa"),
    rsa: pair("rsa"),
  };
}

/** One measurement of one case. */
export interface Sample {
  value: number;
  unit: string;
  skipped?: string;
  error?: string;
  [k: string]: unknown;
}
