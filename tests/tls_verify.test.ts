// Certificate verification: each bad certificate is rejected with the right
// verifyResult; mutual TLS accepted and rejected; the listener survives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { connect, listen, TlsError, type TlsListener } from "../mod.ts";
import {
  BACKEND,
  childCommand,
  dec,
  enc,
  type Pair,
  pki,
  readExactly,
  tempDir,
} from "./helpers.ts";

const p = pki();

function serverWith(pair: Pair, extra: Record<string, unknown> = {}): TlsListener {
  return listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: pair.cert,
    key: pair.key,
    backend: BACKEND,
    ...extra,
  });
}

/** Connects and expects a CERT_VERIFY error whose verifyResult matches `want`. */
async function rejects(
  s: TlsListener,
  want: RegExp,
  extra: Record<string, unknown> = {},
): Promise<TlsError> {
  const e = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
    ...extra,
  }).then(async (c) => {
    await c.close();
    return null;
  }, (e) => e);
  assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
  assert.equal(e.code, "CERT_VERIFY", e.message);
  assert.match(e.verifyResult ?? "", want);
  return e;
}

test("expired certificate: 'certificate has expired'", async () => {
  using s = serverWith(p.expired);
  await rejects(s, /^certificate has expired$/);
});

test("wrong host: 'hostname mismatch'", async () => {
  using s = serverWith(p.other);
  await rejects(s, /^hostname mismatch$/);
});

test("unknown CA: 'unable to get local issuer certificate'", async () => {
  using s = serverWith(p.unknownCa);
  await rejects(s, /^unable to get local issuer certificate$/);
});

test("self-signed server certificate: 'self-signed certificate'", async () => {
  using s = serverWith(p.selfSigned);
  await rejects(s, /^self-signed certificate$/);
});

test("the system store is the default and does not know the test CA", async () => {
  using s = serverWith(p.server);
  await rejects(s, /unable to get local issuer certificate/, { caCerts: undefined });
});

test("the system store verifies a chain it knows (SSL_CERT_FILE points it at the test CA)", async () => {
  using s = serverWith(p.server);
  const file = join(tempDir(), "client.ts");
  writeFileSync(
    file,
    `import { connect } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).pathname)};
const c = await connect({ hostname: "localhost", port: ${s.addr.port} });
console.log("verified", c.info.peerCertificate?.commonName);
await c.close();`,
  );
  const [exe, args] = childCommand(file);
  const child = spawn(exe, args, {
    env: { ...process.env, SSL_CERT_FILE: p.ca.certFile, SSL_CERT_DIR: tempDir() },
  });
  let out = "";
  child.stdout!.on("data", (d: Uint8Array) => (out += dec(d)));
  child.stderr!.on("data", (d: Uint8Array) => (out += dec(d)));
  const [sc, code] = await Promise.all([s.accept(), new Promise((r) => child.on("exit", r))]);
  await sc.close();
  assert.equal(code, 0, out);
  assert.match(out, /verified localhost/);
});

test("IP address: SAN IP verified; another IP is 'IP address mismatch'", async () => {
  using s = serverWith(p.server);
  const ok = await connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
  });
  assert.equal(ok.info.peerCertificate?.commonName, "localhost");
  await ok.close();
  const sc = await s.accept();
  await sc.close();
  await rejects(s, /^IP address mismatch$/, { hostname: "127.0.0.1", serverName: "127.0.0.9" });
});

test("verify: false accepts a self-signed certificate (only when asked)", async () => {
  using s = serverWith(p.selfSigned);
  const c = await connect({
    hostname: "localhost",
    port: s.addr.port,
    verify: false,
    backend: BACKEND,
  });
  const sc = await s.accept();
  await c.write(enc("insecure but explicit"));
  assert.equal(dec(await readExactly(sc, 21)), "insecure but explicit");
  await c.close();
  await sc.close();
});

test("caFile and caPath load trust anchors from disk", async () => {
  using s = serverWith(p.server);
  const c1 = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caFile: p.ca.certFile,
    backend: BACKEND,
  });
  await c1.close();
  const dir = tempDir();
  copyFileSync(p.ca.certFile, join(dir, "ca.pem"));
  execFileSync("openssl", ["rehash", dir], { stdio: "ignore" });
  const c2 = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caPath: dir,
    backend: BACKEND,
  });
  assert.equal(c2.info.peerCertificate?.commonName, "localhost");
  await c2.close();
  for (let i = 0; i < 2; i++) await (await s.accept()).close();
});

test("a caFile rewritten between connects is read again: trust follows the file", async () => {
  using s = serverWith(p.server);
  const file = join(tempDir(), "trust.pem");
  const options = { hostname: "localhost", port: s.addr.port, caFile: file, backend: BACKEND };
  writeFileSync(file, p.ca.cert);
  await (await connect(options)).close();
  await (await s.accept()).close();
  // Same options, but the file now holds a CA that did not sign the server.
  writeFileSync(file, readFileSync(join(p.dir, "otherca.pem")));
  await assert.rejects(connect(options), (e: unknown) => {
    assert.ok(e instanceof TlsError && e.code === "CERT_VERIFY", String(e));
    return true;
  });
});

/** A server with client authentication that records handshake failures. */
function mtlsServer(clientAuth: "request" | "require") {
  let report!: (e: unknown) => void;
  const firstError = new Promise<unknown>((r) => (report = r));
  const s = serverWith(p.server, {
    clientAuth,
    caCerts: [p.ca.cert],
    onError: (e: unknown) => report(e),
  });
  return { s, firstError };
}

test("mTLS require: a client certificate from the CA is accepted and visible to the server", async () => {
  const { s } = mtlsServer("require");
  using _ = s;
  const c = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    cert: p.client.cert,
    key: p.client.key,
    backend: BACKEND,
  });
  const sc = await s.accept();
  assert.equal(sc.info.peerCertificate?.commonName, "jsec client");
  await c.write(enc("hi"));
  assert.equal(dec(await readExactly(sc, 2)), "hi");
  await c.close();
  await sc.close();
});

/**
 * A client the server rejects: in TLS 1.3 the client may finish its side of
 * the handshake before the server's verdict, so the failure shows either in
 * connect() or in the first read. The server reports it to onError.
 */
async function clientRejected(
  s: TlsListener,
  firstError: Promise<unknown>,
  extra: Record<string, unknown>,
): Promise<TlsError> {
  const outcome = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
    ...extra,
  })
    .then(async (c) => {
      try {
        const n = await c.read(new Uint8Array(16));
        return n === null ? "eof" : "data";
      } catch (e) {
        // A fatal alert kills the connection: it is closed, not left half-alive.
        await assert.rejects(c.read(new Uint8Array(16)), { code: "CLOSED" });
        return e;
      } finally {
        await c.close();
      }
    }, (e) => e);
  assert.notEqual(outcome, "data");
  if (outcome instanceof TlsError) {
    assert.ok(["ALERT", "HANDSHAKE", "PROTOCOL"].includes(outcome.code), outcome.message);
  }
  // The server side must have seen a coded failure too.
  const e = await firstError;
  assert.ok(e instanceof TlsError);
  assert.ok(["CERT_VERIFY", "HANDSHAKE", "ALERT"].includes(e.code), e.message);
  return e;
}

test("mTLS require: no client certificate is rejected, and the listener keeps serving", async () => {
  const { s, firstError } = mtlsServer("require");
  using _ = s;
  await clientRejected(s, firstError, {});
  // The listener survived the failed handshake.
  const c = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    cert: p.client.cert,
    key: p.client.key,
    backend: BACKEND,
  });
  const sc = await s.accept();
  assert.equal(sc.info.peerCertificate?.commonName, "jsec client");
  await c.close();
  await sc.close();
});

test("mTLS require: a client certificate from an unknown CA is rejected", async () => {
  const { s, firstError } = mtlsServer("require");
  using _ = s;
  const e = await clientRejected(s, firstError, {
    cert: p.rogueClient.cert,
    key: p.rogueClient.key,
  });
  if (e.code === "CERT_VERIFY") {
    assert.match(e.verifyResult ?? "", /unable to get local issuer certificate|unknown ca/i);
  }
});

test("mTLS request: a client without a certificate is let in; peerCertificate is null", async () => {
  const { s } = mtlsServer("request");
  using _ = s;
  const c = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
  });
  const sc = await s.accept();
  await c.write(enc("anon"));
  assert.equal(dec(await readExactly(sc, 4)), "anon");
  assert.equal(sc.info.peerCertificate, null);
  await c.close();
  await sc.close();
});
