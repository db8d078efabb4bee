#!/usr/bin/env -S deno run -A --unstable-net
/**
 * `jsec`: a small command line over jsec's public API, in the spirit of
 * `openssl s_client` / `s_server` / `req`.
 *
 * ```sh
 * deno run -A jsr:@jsec/tls/cli connect example.com:443
 * deno run -A jsr:@jsec/tls/cli serve --port 8443
 * deno run -A jsr:@jsec/tls/cli cert --cn myhost --san DNS:myhost,IP:10.0.0.2 --ca --out-dir ./pki
 * bun cli.ts connect localhost:8443 --cafile ./pki/ca.pem --alpn h2,http/1.1 --json
 * ```
 *
 * Commands: `connect`, `serve`, `cert`, `bench` (each with `--help`). Every
 * command takes `--backend openssl|mbedtls` and `--json`. Errors are printed
 * as one line on stderr, with exit code 1 (2 for usage errors).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  backendInfo,
  type BackendName,
  type CertInfo,
  connect,
  type ConnectionInfo,
  CryptoError,
  serve,
  setDefaultBackend,
  TlsError,
} from "./mod.ts";
import * as dtls from "./dtls/mod.ts";
import { runtime } from "./backends/registry.ts";
import {
  type CertKeyType,
  generateSelfSigned,
  issueCertificate,
  parseCertificate,
} from "./crypto/cert.ts";
import { generateKey, parseOcspResponse } from "./crypto/mod.ts";

/** A failure to report as one line (exit code 2 for usage errors). */
class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

const usage = (m: string): never => {
  throw new CliError(`${m} (see --help)`, 2);
};

const HELP: Record<string, string> = {
  main: `jsec: TLS/DTLS tools on jsec (OpenSSL or mbedTLS through FFI)

usage: jsec <command> [options]

commands:
  connect host:port   connect, print the chain, protocol, cipher, ALPN, group, OCSP, verification
  serve               TLS (or --dtls) echo server with a generated or given certificate
  cert                self-signed certificate, or a small CA + leaf (--ca), to stdout or files
  bench               run jsec's benchmarks (bench/bench.ts; source checkout only)

common options:
  --backend openssl|mbedtls   native library (default: JSEC_BACKEND, else openssl)
  --json                      machine-readable output
  -h, --help                  help for a command

run as: deno run -A jsr:@jsec/tls/cli <command> ...  |  bun cli.ts <command> ...`,
  connect: `usage: jsec connect host:port [options]

  --servername NAME   SNI and the name to verify (default: host; no SNI for IPs)
  --cafile FILE       trust these CAs (PEM) instead of the system store
  --insecure          do not verify the server (prints "verification: skipped")
  --alpn LIST         offer ALPN protocols, e.g. h2,http/1.1
  --tls1.2 | --tls1.3 only this protocol version
  --ocsp              ask for a stapled OCSP response and print it
  --stdin             after the handshake, pipe stdin to the server and its data to stdout
  --timeout MS        connect + handshake deadline (default 10000)
  --backend NAME, --json

exit code 0 when the handshake succeeded and the server verified; 1 otherwise.`,
  serve: `usage: jsec serve [options]

  --port P            port to listen on (default 8443; 0 picks a free one)
  --host H            address to bind (default 127.0.0.1)
  --cert FILE --key FILE   certificate and key (default: a generated self-signed localhost one)
  --dtls              DTLS over UDP instead of TLS over TCP
  --alpn LIST         ALPN protocols to accept
  --backend NAME, --json

An echo server: prints its address, runs until SIGINT/SIGTERM.`,
  cert: `usage: jsec cert [options]

  --cn NAME           subject common name (default localhost)
  --san LIST          subject alternative names, e.g. DNS:x,IP:1.2.3.4 (default: from --cn)
  --ca                make a small CA and a leaf it signs (ca.pem, ca.key, cert.pem, key.pem)
  --out-dir DIR       write PEM files there (default: print PEM to stdout)
  --days N            validity (default 365; CA: 3650)
  --key-type T        p256 (default), p384, p521, ed25519, rsa
  --backend NAME, --json`,
  bench: `usage: jsec bench [bench options]

Runs bench/bench.ts (from a source checkout) in this runtime, passing the options
through: --quick, --smoke, --runs N, --only a,b, --json, --json-out FILE,
--backend NAME, --runtimes deno,bun, --stime-seconds N.`,
};

const COMMON = {
  backend: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Out = { json: boolean };

function parse<T extends Record<string, { type: "string" | "boolean" }>>(
  args: string[],
  options: T,
  positionals: number,
) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...COMMON, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    usage((e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, ""));
  }
  if (parsed!.positionals.length > positionals) {
    usage(`unexpected argument "${parsed!.positionals[positionals]}"`);
  }
  return parsed!;
}

function setBackend(name: unknown): BackendName {
  if (name !== undefined) {
    if (name !== "openssl" && name !== "mbedtls") {
      usage(`--backend must be openssl or mbedtls, not "${name}"`);
    }
    setDefaultBackend(name as BackendName);
  }
  return backendInfo().name; // loads it: BACKEND_UNAVAILABLE shows here
}

function list(v: unknown): string[] | undefined {
  if (typeof v !== "string") return undefined;
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function int(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || n < min || n > max) {
    usage(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** "host:port", "[v6]:port" → parts. */
export function parseHostPort(s: string): { hostname: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) usage(`expected host:port, got "${s}"`);
  const port = Number(m![2]);
  if (!(port >= 1 && port <= 65535)) usage(`port must be 1-65535, got "${m![2]}"`);
  return { hostname: m![1], port };
}

const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
const certJson = (c: CertInfo) => ({
  subject: c.subject,
  issuer: c.issuer,
  notBefore: iso(c.notBefore),
  notAfter: iso(c.notAfter),
  san: c.san,
  serial: c.serial,
  fingerprint256: c.fingerprint256,
  publicKey: `${c.publicKeyType} ${c.publicKeyBits}${c.curve ? ` ${c.curve}` : ""}`,
  isCa: c.isCa,
});

function print(out: Out, text: string, json: unknown): void {
  console.log(out.json ? JSON.stringify(json, null, 2) : text);
}

// ---------------------------------------------------------------- connect

async function cmdConnect(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    servername: { type: "string" },
    cafile: { type: "string" },
    insecure: { type: "boolean" },
    alpn: { type: "string" },
    "tls1.2": { type: "boolean" },
    "tls1.3": { type: "boolean" },
    ocsp: { type: "boolean" },
    stdin: { type: "boolean" },
    timeout: { type: "string" },
  }, 1);
  if (v.help) return help("connect");
  if (!positionals[0]) usage("connect needs host:port");
  const { hostname, port } = parseHostPort(positionals[0]);
  if (v["tls1.2"] && v["tls1.3"]) usage("--tls1.2 and --tls1.3 exclude each other");
  if (v.insecure && v.cafile) usage("--insecure and --cafile exclude each other");
  const backend = setBackend(v.backend);
  const out = { json: v.json === true };
  const version = v["tls1.2"] ? "TLS1.2" : v["tls1.3"] ? "TLS1.3" : undefined;
  const timeout = int(v.timeout, "--timeout", 1, 600_000) ?? 10_000;
  const options = {
    hostname,
    port,
    serverName: v.servername,
    caFile: v.cafile,
    verify: !v.insecure,
    alpnProtocols: list(v.alpn),
    minVersion: version,
    maxVersion: version,
    requestOcsp: v.ocsp ? true : undefined,
    handshakeTimeout: timeout,
    signal: AbortSignal.timeout(timeout),
  } as const;

  let conn;
  let verifyError: TlsError | undefined;
  try {
    conn = await connect(options);
  } catch (e) {
    if (!(e instanceof TlsError) || e.code !== "CERT_VERIFY") throw e;
    verifyError = e;
    // Like s_client: show what the server sent even though it did not verify.
    conn = await connect({ ...options, verify: false, signal: AbortSignal.timeout(timeout) }).catch(
      () => undefined,
    );
  }
  const info: ConnectionInfo | undefined = conn?.info;
  const chain = info
    ? (info.peerCertificateChain.length
      ? info.peerCertificateChain
      : [info.peerCertificate].filter((c): c is CertInfo => !!c))
    : [];
  const ocspDer = (info as { ocspResponse?: Uint8Array | null } | undefined)?.ocspResponse ?? null;
  let ocsp: unknown = v.ocsp ? null : undefined;
  if (v.ocsp && ocspDer) {
    try {
      const r = parseOcspResponse(ocspDer);
      ocsp = r.status === "successful"
        ? {
          status: r.status,
          certStatus: r.certStatus,
          thisUpdate: iso(r.thisUpdate),
          nextUpdate: r.nextUpdate ? iso(r.nextUpdate) : null,
          bytes: ocspDer.length,
        }
        : { status: r.status, bytes: ocspDer.length };
    } catch (e) {
      ocsp = { error: (e as Error).message, bytes: ocspDer.length };
    }
  }
  const verification = v.insecure
    ? { ok: null, result: "skipped (--insecure)" }
    : verifyError
    ? { ok: false, result: verifyError.verifyResult ?? verifyError.message }
    : { ok: true, result: "ok" };

  if (out.json) {
    print(out, "", {
      host: hostname,
      port,
      backend,
      protocol: info?.protocol ?? null,
      cipher: info?.cipher ?? null,
      cipherBits: info?.cipherBits ?? null,
      alpn: info?.alpnProtocol ?? null,
      group: info?.group ?? null,
      signatureAlgorithm: info?.signatureAlgorithm ?? null,
      sessionReused: info?.sessionReused ?? null,
      handshakeMs: info ? Math.round(info.handshakeMs * 100) / 100 : null,
      chain: chain.map(certJson),
      ...(v.ocsp ? { ocsp } : {}),
      verification,
    });
  } else {
    const lines = [`CONNECTED to ${hostname}:${port} (${backend})`, "certificate chain:"];
    chain.forEach((c, i) => {
      lines.push(
        ` ${i} s: ${c.subject}`,
        `   i: ${c.issuer}`,
        `   v: ${iso(c.notBefore)} .. ${iso(c.notAfter)}`,
      );
    });
    if (!chain.length) lines.push("  (none)");
    if (info) {
      lines.push(
        `protocol: ${info.protocol}`,
        `cipher: ${info.cipher} (${info.cipherBits} bits)`,
        `alpn: ${info.alpnProtocol ?? "(none)"}`,
        `group: ${info.group ?? "(not reported)"}`,
      );
    }
    if (v.ocsp) {
      const o = ocsp as Record<string, unknown> | null;
      lines.push(
        `ocsp: ${
          !o
            ? "no response stapled"
            : o.error
            ? `unparsable (${o.error})`
            : o.certStatus
            ? `${o.certStatus} (thisUpdate ${o.thisUpdate}${
              o.nextUpdate ? `, nextUpdate ${o.nextUpdate}` : ""
            })`
            : `responder status ${o.status}`
        }`,
      );
    }
    lines.push(
      `verification: ${
        verification.ok === false ? `failed: ${verification.result}` : verification.result
      }`,
    );
    console.log(lines.join("\n"));
  }

  if (verifyError || !conn) {
    await conn?.close().catch(() => {});
    return 1;
  }
  if (v.stdin) await pipeStdio(conn);
  await conn.close().catch(() => {});
  return 0;
}

/** stdin → connection, connection → stdout, until the server closes. */
async function pipeStdio(conn: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const toServer = new Promise<void>((resolve) => {
    let chain = Promise.resolve();
    process.stdin.on("data", (d: Uint8Array) => {
      process.stdin.pause();
      chain = chain.then(() =>
        conn.write(new Uint8Array(d)).then(() => void process.stdin.resume())
      );
    });
    process.stdin.on("end", () => {
      chain.then(() => conn.closeWrite()).catch(() => {}).finally(resolve);
    });
  });
  const buf = new Uint8Array(16384);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) {
      const chunk = buf.slice(0, n);
      await new Promise<void>((r) => process.stdout.write(chunk, () => r()));
    }
  } finally {
    process.stdin.pause();
    process.stdin.destroy?.();
  }
  void toServer;
}

// ---------------------------------------------------------------- serve

async function certAndKey(
  v: { cert?: string; key?: string },
): Promise<{ cert: string; key: string } | { certFile: string; keyFile: string }> {
  if (v.cert || v.key) {
    if (!v.cert || !v.key) usage("--cert and --key go together");
    return { certFile: v.cert!, keyFile: v.key! };
  }
  return await selfSigned({ commonName: "localhost", days: 30 });
}

/** generateSelfSigned on the chosen backend, else OpenSSL (jsec cannot sign with mbedTLS 2.28). */
async function selfSigned(
  o: Parameters<typeof generateSelfSigned>[0],
): Promise<{ cert: string; key: string }> {
  try {
    return await generateSelfSigned(o);
  } catch (e) {
    if (!(e instanceof CryptoError && e.code === "UNSUPPORTED")) throw e;
    return await generateSelfSigned({ ...o, backend: "openssl" });
  }
}

async function cmdServe(args: string[]): Promise<number> {
  const { values: v } = parse(args, {
    port: { type: "string" },
    host: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    dtls: { type: "boolean" },
    alpn: { type: "string" },
  }, 0);
  if (v.help) return help("serve");
  const port = int(v.port, "--port", 0, 65535) ?? 8443;
  const hostname = v.host ?? "127.0.0.1";
  const backend = setBackend(v.backend);
  const out = { json: v.json === true };
  const creds = await certAndKey(v);
  const alpnProtocols = list(v.alpn);
  const log = (event: string, text: string, extra: Record<string, unknown> = {}) =>
    console.log(out.json ? JSON.stringify({ event, ...extra }) : text);

  let stop: () => Promise<void>;
  let addr: { hostname: string; port: number };
  if (v.dtls) {
    const server = dtls.listen({ hostname, port, ...creds, alpnProtocols, backend });
    await server.ready;
    addr = server.addr;
    const loop = (async () => {
      for await (const peer of server) {
        log(
          "connection",
          `dtls peer ${peer.remoteAddr.hostname}:${peer.remoteAddr.port} ${peer.info.protocol} ${peer.info.cipher}`,
          {
            remote: `${peer.remoteAddr.hostname}:${peer.remoteAddr.port}`,
            protocol: peer.info.protocol,
            cipher: peer.info.cipher,
          },
        );
        (async () => {
          for (let d; (d = await peer.receive()) !== null;) await peer.send(d);
        })().catch(() => {});
      }
    })();
    stop = async () => {
      await server.close();
      await loop.catch(() => {});
    };
  } else {
    const server = serve({
      hostname,
      port,
      ...creds,
      alpnProtocols,
      backend,
      handler: async (conn) => {
        const i = conn.info;
        log(
          "connection",
          `tls peer ${conn.remoteAddr.hostname}:${conn.remoteAddr.port} ${i.protocol} ${i.cipher}${
            i.alpnProtocol ? ` alpn=${i.alpnProtocol}` : ""
          }`,
          {
            remote: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
            protocol: i.protocol,
            cipher: i.cipher,
            alpn: i.alpnProtocol,
          },
        );
        await conn.readable.pipeTo(conn.writable).catch(() => {});
      },
      onError: (e, a) =>
        log("error", `handshake from ${a.hostname}:${a.port} failed: ${(e as Error).message}`, {
          remote: `${a.hostname}:${a.port}`,
          error: (e as Error).message,
        }),
    });
    addr = server.addr;
    stop = () => server.shutdown();
  }
  const scheme = v.dtls ? "dtls" : "tls";
  log(
    "listening",
    `${scheme} echo server listening on ${addr.hostname}:${addr.port} (${backend}); Ctrl-C to stop`,
    {
      protocol: scheme,
      hostname: addr.hostname,
      port: addr.port,
      backend,
    },
  );
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
  // Established connections may be idle forever: do not wait on them for long.
  await Promise.race([stop(), new Promise((r) => setTimeout(r, 1000))]);
  log("stopped", "stopped");
  return 0;
}

// ---------------------------------------------------------------- cert

async function cmdCert(args: string[]): Promise<number> {
  const { values: v } = parse(args, {
    cn: { type: "string" },
    san: { type: "string" },
    ca: { type: "boolean" },
    "out-dir": { type: "string" },
    days: { type: "string" },
    "key-type": { type: "string" },
  }, 0);
  if (v.help) return help("cert");
  setBackend(v.backend);
  const out = { json: v.json === true };
  const commonName = v.cn ?? "localhost";
  const san = list(v.san);
  const days = int(v.days, "--days", 1, 36500);
  const keyType = v["key-type"] as CertKeyType | undefined;
  if (keyType && !["p256", "p384", "p521", "ed25519", "rsa"].includes(keyType)) {
    usage(`--key-type must be p256, p384, p521, ed25519 or rsa, not "${keyType}"`);
  }
  const files: Record<string, string> = {};
  // jsec cannot sign certificates with mbedTLS 2.28: OpenSSL signs then.
  await withSigner(async (backend) => {
    if (v.ca) {
      const ca = await generateSelfSigned({
        commonName: `${commonName} CA`,
        isCa: true,
        days: days ?? 3650,
        keyType,
        backend,
      });
      const leafKey = await generateKey(keyType ?? "p256", { backend });
      const leaf = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        publicKey: leafKey.publicKey,
        commonName,
        san,
        days: days ?? 365,
        backend,
      });
      Object.assign(files, {
        "ca.pem": ca.cert,
        "ca.key": ca.key,
        "cert.pem": leaf,
        "key.pem": leafKey.privateKey,
      });
    } else {
      const { cert, key } = await generateSelfSigned({ commonName, san, days, keyType, backend });
      Object.assign(files, { "cert.pem": cert, "key.pem": key });
    }
  });
  const described = Object.fromEntries(
    Object.entries(files).filter(([n]) => n === "ca.pem" || n === "cert.pem").map((
      [n, pem],
    ) => [n, certJson(parseCertificate(pem))]),
  );
  if (v["out-dir"]) {
    const dir = v["out-dir"];
    mkdirSync(dir, { recursive: true });
    for (const [name, pem] of Object.entries(files)) {
      writeFileSync(join(dir, name), pem, {
        mode: name.endsWith(".key") || name === "key.pem" ? 0o600 : 0o644,
      });
    }
    const paths = Object.keys(files).map((n) => join(dir, n));
    print(
      out,
      [
        ...Object.entries(described).map(([n, c]) =>
          `${n}: ${c.subject} (issuer ${c.issuer}, until ${c.notAfter}, ${
            c.san.join(" ") || "no SAN"
          })`
        ),
        `wrote ${paths.join(", ")}`,
      ].join("\n"),
      { files: paths, certificates: described },
    );
  } else {
    print(out, Object.values(files).join(""), {
      files: Object.fromEntries(Object.entries(files)),
      certificates: described,
    });
  }
  return 0;
}

/** Runs `fn` on the chosen backend, again on OpenSSL if that one cannot sign. */
async function withSigner(fn: (backend?: BackendName) => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof CryptoError && e.code === "UNSUPPORTED")) throw e;
    await fn("openssl");
  }
}

// ---------------------------------------------------------------- bench

async function cmdBench(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) return help("bench");
  const url = new URL("./bench/bench.ts", import.meta.url);
  if (url.protocol !== "file:") {
    throw new CliError(
      "bench needs a source checkout of jsec (bench/ is not published): git clone, then `deno task bench`",
    );
  }
  const { existsSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const path = fileURLToPath(url);
  if (!existsSync(path)) {
    throw new CliError(`bench: ${path} not found (bench/ is only in a source checkout)`);
  }
  const { spawn } = await import("node:child_process");
  const pre = runtime === "deno" ? ["run", "-A", "--unstable-net"] : [];
  const child = spawn(process.execPath, [...pre, path, ...args], { stdio: "inherit" });
  return await new Promise<number>((resolve) =>
    child.on("exit", (code: number | null) => resolve(code ?? 1))
  );
}

// ---------------------------------------------------------------- main

function help(topic: string): number {
  console.log(HELP[topic] ?? HELP.main);
  return 0;
}

/** Runs the CLI with `argv` (without the runtime and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        return help(rest[0] ?? "main");
      case "connect":
        return await cmdConnect(rest);
      case "serve":
        return await cmdServe(rest);
      case "cert":
        return await cmdCert(rest);
      case "bench":
        return await cmdBench(rest);
      default:
        usage(`unknown command "${command}"`);
    }
  } catch (e) {
    const msg = e instanceof TlsError || e instanceof CryptoError
      ? `${e.code}: ${e.message}${
        e instanceof TlsError && e.verifyResult ? ` (${e.verifyResult})` : ""
      }`
      : (e as Error).message ?? String(e);
    console.error(
      `jsec ${command ?? ""}: error: ${msg.split("\n")[0]}`.replace("jsec : ", "jsec: "),
    );
    return e instanceof CliError ? e.exitCode : 1;
  }
  return 0;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
