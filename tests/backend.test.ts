// Backend selection and loading: option > setDefaultBackend > JSEC_BACKEND > "openssl",
// capabilities, and a clear BACKEND_UNAVAILABLE naming every path tried.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  backendInfo,
  createContext,
  defaultBackendName,
  setDefaultBackend,
  TlsError,
} from "../mod.ts";
import { BACKEND, childCommand, tempDir } from "./helpers.ts";
import { cstr } from "../ffi/runtime.ts";

const root = new URL("..", import.meta.url).pathname;

test("backendInfo: versions, library paths and capabilities of both backends", () => {
  const o = backendInfo("openssl");
  assert.equal(o.name, "openssl");
  assert.match(o.version, /^OpenSSL 3\./);
  assert.ok(o.libraries.some((l) => /libssl/.test(l)));
  assert.equal(o.capabilities.tls13, true);
  assert.equal(o.capabilities.dtls12, true);
  assert.equal(o.capabilities.keyUpdate, true);
  assert.ok(o.capabilities.groups.includes("X25519"));
  const m = backendInfo("mbedtls");
  assert.equal(m.name, "mbedtls");
  assert.match(m.version, /2\.28/);
  assert.equal(m.capabilities.tls12, true);
  assert.equal(m.capabilities.tls13, false);
  assert.equal(m.capabilities.keyUpdate, false);
  assert.equal(m.capabilities.dtls12, true);
  // A copy: changing it changes nothing inside.
  o.capabilities.tls13 = false;
  assert.equal(backendInfo("openssl").capabilities.tls13, true);
});

test("the matrix's JSEC_BACKEND is the default; setDefaultBackend overrides it; an option overrides both", () => {
  assert.equal(defaultBackendName(), BACKEND);
  assert.equal(backendInfo().name, BACKEND);
  const other = BACKEND === "openssl" ? "mbedtls" : "openssl";
  setDefaultBackend(other);
  try {
    assert.equal(defaultBackendName(), other);
    using ctx = createContext({ verify: false });
    assert.equal(ctx.backend, other);
    using ctx2 = createContext({ verify: false, backend: BACKEND });
    assert.equal(ctx2.backend, BACKEND);
  } finally {
    setDefaultBackend(BACKEND);
  }
  assert.throws(() => setDefaultBackend("boringssl" as never), { code: "INVALID_OPTION" });
});

/** Runs a snippet in a fresh process of this runtime with `env`, returns its output. */
function runSnippet(
  code: string,
  env: Record<string, string>,
): { status: number | null; out: string } {
  const file = join(tempDir(), "snippet.ts");
  writeFileSync(file, code.replaceAll("MOD", JSON.stringify(join(root, "mod.ts"))));
  const [exe, args] = childCommand(file);
  const r = spawnSync(exe, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

const probe = `
import { backendInfo, TlsError } from MOD;
try { console.log("loaded", backendInfo().name); }
catch (e) { console.log(e instanceof TlsError ? e.code : "other", "|", e.message); }
`;

test("JSEC_BACKEND picks the backend of a fresh process; a bad value is an INVALID_OPTION", () => {
  assert.match(runSnippet(probe, { JSEC_BACKEND: "mbedtls" }).out, /loaded mbedtls/);
  const bad = runSnippet(probe, { JSEC_BACKEND: "wolfssl" }).out;
  assert.match(bad, /INVALID_OPTION \| invalid option JSEC_BACKEND: "wolfssl"/);
});

test("a missing library is BACKEND_UNAVAILABLE naming the path tried and the variable to set", () => {
  const r = runSnippet(probe, {
    JSEC_BACKEND: "openssl",
    JSEC_OPENSSL_LIBSSL: "/nonexistent/libssl.so.3",
  });
  assert.match(r.out, /BACKEND_UNAVAILABLE/);
  assert.match(r.out, /\/nonexistent\/libssl\.so\.3/);
  assert.match(r.out, /JSEC_OPENSSL_LIBSSL/);
  const m = runSnippet(probe, {
    JSEC_BACKEND: "mbedtls",
    JSEC_MBEDTLS_DIR: "/nonexistent/mbedtls",
  });
  assert.match(m.out, /BACKEND_UNAVAILABLE/);
  assert.match(m.out, /\/nonexistent\/mbedtls\/libmbed/);
  assert.match(m.out, /apt-get install libmbedtls14/);
});

test("TlsError carries its code, and is an Error", () => {
  const e = new TlsError("ALERT", "peer said no", { alert: "handshake failure", detail: "x" });
  assert.ok(e instanceof Error);
  assert.equal(e.name, "TlsError");
  assert.equal(e.code, "ALERT");
  assert.equal(e.alert, "handshake failure");
});

test("cstr: ASCII and UTF-8 strings become NUL-terminated bytes", () => {
  assert.deepEqual(
    cstr("localhost"),
    new Uint8Array([...new TextEncoder().encode("localhost"), 0]),
  );
  assert.deepEqual(cstr(""), new Uint8Array([0]));
  const utf8 = "pässwörd ✓";
  assert.deepEqual(cstr(utf8), new Uint8Array([...new TextEncoder().encode(utf8), 0]));
});
