// Every file in examples/ runs as a subprocess of this runtime on the backend under
// test (JSEC_BACKEND passed through), exits 0 on its own and prints its expected line.
// Examples a backend cannot run (TLS 1.3 key update, crypto mbedTLS lacks) must
// still exit 0 and print the UNSUPPORTED error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BACKEND, childCommand } from "./helpers.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIR = join(ROOT, "examples");
const MBED = BACKEND === "mbedtls";
const UNSUPPORTED = /UNSUPPORTED on this backend: .*not supported by the mbedtls backend/;

/** What each example must print (on this backend). Examples not listed must exit 0 and print something. */
const EXPECT: Record<string, RegExp[]> = {
  "demo.ts": [
    new RegExp(`backend: +${BACKEND}`),
    MBED ? /protocol: +TLSv1\.2/ : /protocol: +TLSv1\.3/,
    /peer: +CN=localhost/,
    /alpn: +echo\/1/,
    /round trip ok/,
  ],
  "echo_server.ts": [/echo: client 3: bye/, /server shut down after 3 connections/],
  "simple_https_client.ts": [/connected: TLSv1\.[23] /, /status: HTTP\/1\.1 200 OK/],
  "mtls_client_server.ts": [
    /client authenticated as CN=sensor-42/,
    /server says: hello, sensor-42/,
    /client without certificate: rejected, TlsError (ALERT|HANDSHAKE)/,
  ],
  "starttls_smtp.ts": [
    /C: upgraded to TLSv1\.[23]/,
    /221 2\.0\.0 Bye \(encrypted\)/,
    /STARTTLS session complete/,
  ],
  "session_resumption.ts": [
    /connection 1: .*full handshake/,
    /connection 2: .*RESUMED/,
    /connection 4 .*full handshake/,
  ],
  "policy_enforcement.ts": [
    MBED
      ? /server rejected: TlsError UNSUPPORTED \[option: minVersion\]/
      : /2\. [^\n]*\n +client rejected: TlsError (ALERT|HANDSHAKE)/,
    /4\. [^\n]*\n +client rejected: TlsError (ALERT|HANDSHAKE)/,
    /5\. [^\n]*\n +allowed: /,
    /8\. [^\n]*\n +client rejected: TlsError CERT_VERIFY \[verifyResult: hostname mismatch\]/,
    /INVALID_OPTION \[option: minVersion\]/,
  ],
  "tls_key_update.ts": MBED
    ? [/keyUpdate is not available here: TlsError UNSUPPORTED/]
    : [/echo: after keyUpdate\(true\)/, /key update complete/],
  "connection_info.ts": [
    /peer chain \(2\)/,
    /serverName: +api\.localhost/,
    /both ends agree: true/,
  ],
  "bio_memory.ts": [
    new RegExp(`backend: ${BACKEND}`),
    /toString\(\): ", BIO world"/,
    /drained: eof=true/,
  ],
  "custom_bio_transport.ts": [
    /handshake: TLSv1\.[23] .*ALPN toy\/1/,
    /client got: HELLO THROUGH A CUSTOM TRANSPORT/,
    /server saw close_notify: true/,
  ],
  "dtls_echo.ts": [/echo: three/],
  "dtls_connection_info.ts": [/DTLSv1\.2/, /server certificate: CN=localhost/],
  "dtls_session_resumption.ts": [/second: reused = true/],
  "cert_gen.ts": [/leaf +CN=localhost <- CN=Example Issuing CA/],
  "crypto_signing.ts": [MBED ? UNSUPPORTED : /rsa .*\n.*valid: true, tampered: false/],
  "ec_point_operations.ts": [/shared point agrees: true/],
  "format_conversion.ts": [/back to PEM equal: true/],
  "pkcs12_operations.ts": [MBED ? UNSUPPORTED : /wrong password -> BAD_PASSWORD/],
  "rsa_encryption.ts": [/round trip ok: true/],
  "symmetric_encryption.ts": [/chacha20-poly1305: .*"meet at noon"/],
};

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".ts") && !f.startsWith("_")).sort();

function run(file: string): Promise<Run> {
  const started = performance.now();
  const [exe, args] = childCommand(join(DIR, file));
  return new Promise((resolve) => {
    execFile(
      exe,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, JSEC_BACKEND: BACKEND, NO_COLOR: "1" },
        timeout: 30_000, // a deadline: an example that hangs fails instead of blocking the suite
        maxBuffer: 4 << 20,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({
          code,
          // Without colour codes, whatever FORCE_COLOR the environment sets.
          // deno-lint-ignore no-control-regex
          out: `${stdout}${stderr ? `\n[stderr]\n${stderr}` : ""}`.replace(/\x1b\[[0-9;]*m/g, ""),
          ms: performance.now() - started,
        });
      },
    );
  });
}

// Two at a time (the machine has 2 cores); each test awaits its own example's run.
const CONCURRENCY = 2;
const results = new Map<string, Promise<Run>>();
{
  const queue = [...files];
  const slots: (() => void)[] = [];
  let running = 0;
  const next = () => {
    running--;
    slots.shift()?.();
  };
  for (const f of queue) {
    results.set(
      f,
      (async () => {
        if (running >= CONCURRENCY) await new Promise<void>((r) => slots.push(r));
        running++;
        try {
          return await run(f);
        } finally {
          next();
        }
      })(),
    );
  }
}

test("examples/ holds the guide's examples", () => {
  for (
    const f of [
      "demo.ts",
      "echo_server.ts",
      "simple_https_client.ts",
      "mtls_client_server.ts",
      "starttls_smtp.ts",
      "session_resumption.ts",
      "policy_enforcement.ts",
      "tls_key_update.ts",
      "connection_info.ts",
      "bio_memory.ts",
      "custom_bio_transport.ts",
    ]
  ) assert.ok(files.includes(f), `examples/${f} is missing`);
});

for (const file of files) {
  test(`examples/${file} runs on ${BACKEND}`, async () => {
    const r = await results.get(file)!;
    assert.equal(
      r.code,
      0,
      `examples/${file} exited with ${r.code} after ${Math.round(r.ms)} ms:\n${r.out}`,
    );
    const expected = EXPECT[file] ?? [/\S/];
    for (const re of expected) {
      assert.match(r.out, re, `examples/${file} did not print ${re}:\n${r.out}`);
    }
    if (file === "demo.ts") assert.ok(r.ms < 5000, `demo took ${Math.round(r.ms)} ms`);
  });
}
