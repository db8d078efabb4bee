// cli.ts as a user runs it: a subprocess of this runtime against `openssl s_server`
// and `openssl s_client`, on the backend under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  BACKEND,
  childCommand,
  HAS_TLS13,
  opensslServer,
  pki,
  RUNTIME,
  startPeer,
  tempDir,
} from "./helpers.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(ROOT, "cli.ts");
const [EXE, CLI_ARGS] = childCommand(CLI);
const ENV = { ...process.env, JSEC_BACKEND: BACKEND, NO_COLOR: "1" };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      EXE,
      [...CLI_ARGS, ...args],
      { cwd: ROOT, env: ENV, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === "number" ? err.code : null) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

const p = pki();

test("connect: chain, protocol, cipher, ALPN and verification: ok against openssl s_server", async () => {
  const { peer, port } = await opensslServer([
    "-cert",
    p.server.certFile,
    "-key",
    p.server.keyFile,
    "-alpn",
    "h2",
    "-www",
  ]);
  try {
    const r = await cli([
      "connect",
      `localhost:${port}`,
      "--cafile",
      p.ca.certFile,
      "--alpn",
      "h2,http/1.1",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`CONNECTED to localhost:${port} \\(${BACKEND}\\)`));
    assert.match(r.stdout, / 0 s: CN=localhost\n {3}i: CN=jsec test ca\n {3}v: \d{4}-/);
    assert.match(r.stdout, HAS_TLS13 ? /protocol: TLSv1\.3/ : /protocol: TLSv1\.2/);
    assert.match(r.stdout, /cipher: TLS_\w+ \(\d+ bits\)/);
    assert.match(r.stdout, /alpn: h2/);
    assert.match(r.stdout, /verification: ok/);

    // --json parses and says the same.
    const j = await cli([
      "connect",
      `127.0.0.1:${port}`,
      "--servername",
      "localhost",
      "--cafile",
      p.ca.certFile,
      "--tls1.2",
      "--json",
    ]);
    assert.equal(j.code, 0, j.stdout + j.stderr);
    const info = JSON.parse(j.stdout);
    assert.equal(info.backend, BACKEND);
    assert.equal(info.protocol, "TLSv1.2");
    assert.match(info.cipher, /^TLS_ECDHE_/);
    assert.equal(info.chain[0].subject, "CN=localhost");
    assert.deepEqual(info.verification, { ok: true, result: "ok" });
  } finally {
    await peer.stop();
  }
});

test("connect: an unknown CA fails verification with a non-zero exit, still showing the chain", async () => {
  const { peer, port } = await opensslServer([
    "-cert",
    p.unknownCa.certFile,
    "-key",
    p.unknownCa.keyFile,
    "-www",
  ]);
  try {
    const r = await cli(["connect", `localhost:${port}`, "--cafile", p.ca.certFile]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, / 0 s: CN=localhost\n {3}i: CN=jsec test otherca/);
    assert.match(r.stdout, /verification: failed: .+/);
    const j = await cli(["connect", `localhost:${port}`, "--cafile", p.ca.certFile, "--json"]);
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stdout).verification.ok, false);
    const insecure = await cli(["connect", `localhost:${port}`, "--insecure"]);
    assert.equal(insecure.code, 0, insecure.stdout + insecure.stderr);
    assert.match(insecure.stdout, /verification: skipped \(--insecure\)/);
  } finally {
    await peer.stop();
  }
});

test("usage errors are one line on stderr with a non-zero exit", async () => {
  const cases: [string[], RegExp][] = [
    [["connect", "no-port"], /expected host:port/],
    [["connect", "localhost:70000"], /port must be 1-65535/],
    [["connect", "localhost:443", "--bogus"], /Unknown option '--bogus'/i],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["connect", "localhost:443", "--backend", "gnutls"], /--backend must be openssl or mbedtls/],
    [["cert", "--key-type", "dsa"], /--key-type must be/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(args)));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i][0].join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, cases[i][1]);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^jsec( \w+)?: error: /);
  });
  // A refused connection is a runtime error: exit 1, one line.
  const closed = await cli(["connect", "127.0.0.1:1", "--insecure"]);
  assert.equal(closed.code, 1);
  assert.match(closed.stderr, /^jsec connect: error: CLOSED: could not connect/);
  const h = await cli(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /usage: jsec <command>/);
});

test("cert: files that openssl reads (self-signed, and CA + leaf)", async () => {
  const dir = tempDir();
  const r = await cli([
    "cert",
    "--cn",
    "cli.test",
    "--san",
    "DNS:cli.test,IP:10.1.2.3",
    "--out-dir",
    join(dir, "one"),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const subject = execFileSync("openssl", [
    "x509",
    "-noout",
    "-subject",
    "-in",
    join(dir, "one", "cert.pem"),
  ], {
    encoding: "utf8",
  });
  assert.match(subject, /CN\s*=\s*cli\.test/);
  const san = execFileSync("openssl", [
    "x509",
    "-noout",
    "-ext",
    "subjectAltName",
    "-in",
    join(dir, "one", "cert.pem"),
  ], {
    encoding: "utf8",
  });
  assert.match(san, /DNS:cli\.test, IP Address:10\.1\.2\.3/);

  const ca = await cli([
    "cert",
    "--ca",
    "--cn",
    "leaf.test",
    "--out-dir",
    join(dir, "two"),
    "--json",
  ]);
  assert.equal(ca.code, 0, ca.stdout + ca.stderr);
  const out = JSON.parse(ca.stdout);
  assert.equal(out.files.length, 4);
  assert.equal(out.certificates["cert.pem"].issuer, "CN=leaf.test CA");
  const verified = execFileSync("openssl", [
    "verify",
    "-CAfile",
    join(dir, "two", "ca.pem"),
    join(dir, "two", "cert.pem"),
  ], { encoding: "utf8" });
  assert.match(verified, /OK/);
});

test("serve: answers openssl s_client, stops on SIGTERM", async () => {
  const child = spawn(EXE, [...CLI_ARGS, "serve", "--port", "0", "--alpn", "echo"], {
    cwd: ROOT,
    env: ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  const exited = new Promise<number | null>((r) =>
    child.on("exit", (code: number | null) => r(code))
  );
  const until = async (re: RegExp): Promise<RegExpMatchArray> => {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      const m = out.match(re);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50)); // polling a subprocess's output, not a sync sleep
    }
    throw new Error(`serve did not print ${re}:\n${out}`);
  };
  try {
    const m = await until(/listening on 127\.0\.0\.1:(\d+)/);
    const client = startPeer("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${m[1]}`,
      "-alpn",
      "echo",
      "-quiet",
    ]);
    try {
      client.write("hello jsec serve\n");
      await client.waitFor(/hello jsec serve/);
    } finally {
      await client.stop();
    }
    await until(/tls peer 127\.0\.0\.1:\d+ TLSv1\.[23] \S+ alpn=echo/);
    child.kill("SIGTERM");
    const code = await exited;
    assert.match(out, /stopped/); // its SIGTERM handler ran: a graceful stop
    // Deno's node:child_process reports any child it kill()ed as signalled, even one
    // that exited 0 (Deno.Command sees 0): only Bun's exit code is meaningful here.
    if (RUNTIME === "bun") assert.equal(code, 0, out);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  }
});
