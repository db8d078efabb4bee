/**
 * Test helpers: a PKI made at test time with the `openssl` CLI, real peers
 * started on loopback and stopped by the test that started them, and small
 * stream utilities. Runs under `deno test` and `bun test`.
 */

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  type BackendName,
  connect,
  listen,
  type TlsConn,
  type TlsEngine,
  type TlsListener,
} from "../mod.ts";

/** The backend the suite runs under (the matrix sets JSEC_BACKEND). */
export const BACKEND: BackendName = (process.env.JSEC_BACKEND as BackendName) || "openssl";
/** The runtime the suite runs under. */
export const RUNTIME: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

/**
 * The command that runs `script` in a child process of this runtime, as
 * [executable, arguments]: Deno with every permission and `--unstable-net`, Bun as is.
 */
export function childCommand(script: string): [string, string[]] {
  const args = RUNTIME === "deno" ? ["run", "-A", "--unstable-net", script] : [script];
  return [process.execPath, args];
}

/**
 * A full garbage collection now (`Bun.gc`, or `gc` from Deno's `--expose-gc`, which
 * the test runner passes). False when the runtime offers none.
 */
export function forceGc(): boolean {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else if (g.gc) g.gc();
  else return false;
  return true;
}

/** True where the backend under test has TLS 1.3. */
export const HAS_TLS13 = BACKEND === "openssl";

const dirs: string[] = [];
function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
// Bun fires process "exit" at the end of a test file; `deno test` does not, but fires "unload".
process.on?.("exit", removeTempDirs);
globalThis.addEventListener?.("unload", removeTempDirs);

/** A fresh temporary directory, removed at exit. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "jsec-test-"));
  dirs.push(d);
  return d;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A certificate and key, as PEM text and as files. */
export interface Pair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** Everything the TLS tests need. */
export interface Pki {
  dir: string;
  ca: Pair;
  /** Leaf for localhost / 127.0.0.1 / ::1 signed by `ca`. */
  server: Pair;
  /** Leaf for "other.test" signed by `ca` (SNI and wrong-host tests). */
  other: Pair;
  /** Expired leaf for localhost signed by `ca`. */
  expired: Pair;
  /** Self-signed leaf for localhost. */
  selfSigned: Pair;
  /** Leaf signed by a CA the client does not know. */
  unknownCa: Pair;
  /** Client certificate signed by `ca`. */
  client: Pair;
  /** Client certificate signed by the unknown CA. */
  rogueClient: Pair;
  /** An RSA-2048 leaf for localhost signed by `ca`. */
  rsaServer: Pair;
}

let cached: Pki | undefined;

/** Makes (once per process) a CA and leaves with the `openssl` CLI. */
export function pki(): Pki {
  if (cached) return cached;
  const dir = tempDir();
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const pair = (name: string): Pair => ({
    cert: readFileSync(join(dir, `${name}.pem`), "utf8"),
    key: readFileSync(join(dir, `${name}.key`), "utf8"),
    certFile: join(dir, `${name}.pem`),
    keyFile: join(dir, `${name}.key`),
  });
  const ca = (name: string) =>
    openssl([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-subj",
      `/CN=jsec test ${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
  ca("ca");
  ca("otherca");
  const leaf = (
    name: string,
    cn: string,
    san: string,
    signer: string,
    opts: { days?: string; rsa?: boolean; client?: boolean } = {},
  ) => {
    const keyArgs = opts.rsa ? ["-newkey", "rsa:2048", "-nodes"] : ec;
    openssl([
      "req",
      "-new",
      ...keyArgs,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ], dir);
    writeFileSync(
      join(dir, `${name}.ext`),
      `basicConstraints=CA:FALSE\nsubjectAltName=${san}\nextendedKeyUsage=${
        opts.client ? "clientAuth" : "serverAuth"
      }\n`,
    );
    openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${signer}.pem`,
      "-CAkey",
      `${signer}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      opts.days ?? "30",
      "-extfile",
      `${name}.ext`,
    ], dir);
  };
  leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1", "ca");
  leaf("other", "other.test", "DNS:other.test,DNS:*.wild.test", "ca");
  leaf("unknown", "localhost", "DNS:localhost,IP:127.0.0.1", "otherca");
  leaf("client", "jsec client", "DNS:client.test", "ca", { client: true });
  leaf("rogue", "rogue client", "DNS:rogue.test", "otherca", { client: true });
  leaf("rsa", "localhost", "DNS:localhost,IP:127.0.0.1", "ca", { rsa: true });
  // Expired: valid for one day, starting well in the past.
  openssl([
    "req",
    "-new",
    ...ec,
    "-keyout",
    "expired.key",
    "-out",
    "expired.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  writeFileSync(join(dir, "expired.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl([
    "ca",
    "-batch",
    "-notext",
    "-in",
    "expired.csr",
    "-keyfile",
    "ca.key",
    "-cert",
    "ca.pem",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extfile",
    "expired.ext",
    "-out",
    "expired.pem",
    "-config",
    writeCaConfig(dir),
  ], dir);
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-days",
    "30",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], dir);
  cached = {
    dir,
    ca: pair("ca"),
    server: pair("server"),
    other: pair("other"),
    expired: pair("expired"),
    selfSigned: pair("self"),
    unknownCa: pair("unknown"),
    client: pair("client"),
    rogueClient: pair("rogue"),
    rsaServer: pair("rsa"),
  };
  return cached;
}

/** A minimal `openssl ca` configuration: the only way the CLI takes explicit past dates. */
function writeCaConfig(dir: string): string {
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  const cfg = join(dir, "ca.cnf");
  writeFileSync(
    cfg,
    `[ca]\ndefault_ca=d\n[d]\ndir=${dir}\ndatabase=${dir}/index.txt\nnew_certs_dir=${dir}\nserial=${dir}/serial\n` +
      `default_md=sha256\npolicy=p\ncopy_extensions=copy\nunique_subject=no\n[p]\ncommonName=supplied\n`,
  );
  return cfg;
}

/** A program started for a test; `stop()` ends it and waits. */
export interface Peer {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when its output matches `re`; rejects if it exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Writes to its standard input. */
  write(s: string | Uint8Array): void;
  /** Closes its standard input. */
  endInput(): void;
  /** Resolves with its exit code when it exits on its own. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `cmd` with `args` and collects its output. */
export function startPeer(cmd: string, args: string[], opts: { cwd?: string } = {}): Peer {
  const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Uint8Array | string) => {
    out += typeof d === "string" ? d : new TextDecoder().decode(d);
    for (const l of [...listeners]) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    // "close", not "exit": output can still be in the pipes when the process exits.
    child.on("close", (code: number | null) => {
      done = true;
      for (const l of [...listeners]) l();
      resolve(code);
    });
    child.on("error", (e: Error) => {
      out += `\n[spawn error] ${e.message}`;
      done = true;
      for (const l of [...listeners]) l();
      resolve(null);
    });
  });
  return {
    output: () => out,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`${cmd} exited before printing ${re}; output:\n${out}`));
          }
        };
        // A deadline, not a synchronisation sleep: fail instead of hanging forever.
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${cmd} did not print ${re} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    write(s) {
      child.stdin!.write(s);
    },
    endInput() {
      child.stdin!.end();
    },
    exited,
    async stop() {
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** Starts `openssl s_server` on a free loopback port; resolves once it accepts. */
export async function opensslServer(args: string[]): Promise<{ peer: Peer; port: number }> {
  const peer = startPeer("openssl", ["s_server", "-accept", "127.0.0.1:0", ...args]);
  const m = await peer.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/);
  return { peer, port: Number(m[1]) };
}

/** A free TCP port on loopback (for peers that cannot pick one themselves). */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Reads until `n` bytes or end of stream. */
export async function readExactly(
  conn: { read(p: Uint8Array): Promise<number | null> },
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await conn.read(out.subarray(off));
    if (r === null) break;
    off += r;
  }
  return out.subarray(0, off);
}

/** Reads until the text contains `needle` or the stream ends. */
export async function readUntil(
  conn: { read(p: Uint8Array): Promise<number | null> },
  needle: string,
): Promise<string> {
  const buf = new Uint8Array(16384);
  let text = "";
  while (!text.includes(needle)) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

/** Reads everything until end of stream. */
export async function readAll(
  conn: { read(p: Uint8Array): Promise<number | null> },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return concatBytes(chunks);
}

/** Text helpers. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Text helpers. */
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** True when `cmd` is on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A jsec TLS server on 127.0.0.1, a free port, the test PKI's localhost certificate. */
export function localServer(extra: Record<string, unknown> = {}): TlsListener {
  const p = pki();
  return listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
    ...extra,
  });
}

/** A client connected to `s` as "localhost", trusting the test CA, and the server's end. */
export async function connectedPair(
  s: TlsListener,
  extra: Record<string, unknown> = {},
): Promise<[TlsConn, TlsConn]> {
  const c = connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [pki().ca.cert],
    backend: BACKEND,
    ...extra,
  });
  return await Promise.all([c, s.accept()]);
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of parts) {
    all.set(b, off);
    off += b.length;
  }
  return all;
}

/** Everything a sans-IO engine has to send, in one array. */
export function drainEngine(e: TlsEngine): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let d; (d = e.pull());) parts.push(d);
  return concatBytes(parts);
}

/** Moves `from`'s pending ciphertext into `to`, chunk by chunk. */
export function pumpEngine(from: TlsEngine, to: TlsEngine): void {
  for (let d; (d = from.pull());) to.feed(d);
}

/** Steps two sans-IO engines until both finish the handshake; false if they never do. */
export function handshakeEngines(client: TlsEngine, server: TlsEngine, rounds = 10): boolean {
  for (let i = 0; i < rounds && !(client.handshakeDone && server.handshakeDone); i++) {
    client.handshake();
    pumpEngine(client, server);
    server.handshake();
    pumpEngine(server, client);
  }
  return client.handshakeDone && server.handshakeDone;
}
