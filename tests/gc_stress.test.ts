// Native memory must never depend on when the garbage collector runs: C keeps
// pointers into structs and lists that JS allocated, and a struct collected
// while C still uses it corrupts the runtime's heap (a crash later, somewhere
// else). These tests force a full collection between every call, so a struct
// kept alive only by luck is collected at once. Canary buffers then take up
// the freed memory: C writing through a stale pointer changes them (or the
// next collection trips over what it wrote).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createContext, createEngine, type TlsEngine } from "../mod.ts";
import {
  decrypt,
  deriveSharedSecret,
  digest,
  encrypt,
  exportKey,
  generateKey,
  hkdf,
  hmac,
  loadKey,
  sign,
  verify,
} from "../crypto/mod.ts";
import {
  cmsSign,
  cmsVerify,
  createPkcs12,
  generateCsr,
  parseCsr,
  parsePkcs12,
} from "../crypto/pki.ts";
import { generateSelfSigned, parseCertificate } from "../crypto/cert.ts";
import { getBackend } from "../backends/registry.ts";
import type { Engine } from "../backends/backend.ts";
import { dtlsContext } from "../dtls/context.ts";
import { BACKEND, enc, forceGc, HAS_TLS13, pki, pumpEngine } from "./helpers.ts";
import { dtlsSkip } from "./dtls_helpers.ts";

const p = pki();
const NO_GC = !forceGc() && "the runtime cannot force a garbage collection";

const CANARY = 0xa5;
let canaries: Uint8Array[] = [];

/** A full collection, then canary buffers in every small size class to take up what it freed. */
function collect(): void {
  forceGc();
  for (let size = 32; size <= 4096; size *= 2) {
    for (let i = 0; i < 64; i++) canaries.push(new Uint8Array(new ArrayBuffer(size)).fill(CANARY));
  }
}

/** Fails if C wrote into any canary since the last check. */
function checkCanaries(): void {
  const hit = canaries.find((b) => b.some((v) => v !== CANARY));
  canaries = [];
  assert.ok(!hit, `C wrote into ${hit?.length}-byte memory that the collector had freed`);
}

/** Steps the handshake one flight at a time, collecting after each. */
function handshakeCollecting(c: TlsEngine, s: TlsEngine): void {
  for (let i = 0; i < 10 && !(c.handshakeDone && s.handshakeDone); i++) {
    c.handshake();
    collect();
    pumpEngine(c, s);
    s.handshake();
    collect();
    pumpEngine(s, c);
  }
  assert.ok(c.handshakeDone && s.handshakeDone, "handshake did not finish");
}

for (const version of HAS_TLS13 ? ["TLS1.2", "TLS1.3"] as const : ["TLS1.2"] as const) {
  test(
    `${version} engines, contexts and resumed sessions survive a collection between every call`,
    { skip: NO_GC },
    () => {
      // The resumed-session path crashed Bun + mbedTLS on the second handshake: the
      // session scratch struct was collected while mbedTLS still wrote into it.
      using serverCtx = createContext({
        server: true,
        cert: p.server.cert,
        key: p.server.key,
        backend: BACKEND,
        maxVersion: version,
        alpnProtocols: ["http/1.1"],
      });
      collect();
      using clientCtx = createContext({
        caCerts: [p.ca.cert],
        backend: BACKEND,
        maxVersion: version,
        alpnProtocols: ["h2", "http/1.1"],
      });
      collect();
      const buf = new Uint8Array(64);
      let session: Uint8Array | undefined;
      let resumed = 0;
      for (let k = 0; k < 4; k++) {
        using s = createEngine({ server: true, context: serverCtx });
        collect();
        using c = createEngine({ context: clientCtx, serverName: "localhost", session });
        collect();
        handshakeCollecting(c, s);
        c.write(enc(`ping ${k}`));
        collect();
        pumpEngine(c, s);
        assert.equal(new TextDecoder().decode(buf.subarray(0, s.read(buf) ?? 0)), `ping ${k}`);
        collect();
        s.write(enc("pong"));
        pumpEngine(s, c);
        collect();
        // TLS 1.3 tickets arrive with the server's first records: read them before exporting.
        assert.equal(c.read(buf), 4);
        collect();
        const info = c.info();
        collect();
        if (info.sessionReused) resumed++;
        assert.equal(info.peerCertificate?.commonName, "localhost");
        assert.equal(info.alpnProtocol, "http/1.1");
        const keys = [
          c.exportKeyingMaterial("EXPORTER-gc", 32),
          s.exportKeyingMaterial("EXPORTER-gc", 32),
        ];
        collect();
        assert.deepEqual(keys[0], keys[1]);
        session ??= c.exportSession() ?? undefined;
        collect();
        assert.ok(session, "no session to resume");
        checkCanaries();
      }
      assert.equal(resumed, 3, `${resumed} of 3 handshakes resumed`);
    },
  );
}

test("DTLS engines survive a collection between every call", { skip: NO_GC || dtlsSkip() }, () => {
  const serverCtx = dtlsContext(
    { cert: p.server.cert, key: p.server.key, backend: BACKEND },
    "server",
  ).context;
  collect();
  const client = dtlsContext({ caCerts: [p.ca.cert], backend: BACKEND }, "client");
  const clientCtx = client.context;
  collect();
  const buf = new Uint8Array(1500);
  /** Moves every pending datagram from one engine to the other. */
  const move = (from: Engine, to: Engine) => {
    for (let n; (n = from.pull(buf)) > 0;) to.feed(buf.slice(0, n));
  };
  try {
    for (let k = 0; k < 2; k++) {
      const s = serverCtx.newEngine({ transportId: enc("127.0.0.1:4433") });
      collect();
      const c = clientCtx.newEngine({ serverName: "localhost" });
      collect();
      try {
        let done = 0;
        for (let i = 0; i < 10 && done < 2; i++) { // the cookie exchange included
          done = c.handshake() === "done" ? 1 : 0;
          collect();
          move(c, s);
          done += s.handshake() === "done" ? 1 : 0;
          collect();
          move(s, c);
        }
        assert.equal(done, 2, "DTLS handshake did not finish");
        c.write(enc(`datagram ${k}`));
        collect();
        move(c, s);
        assert.equal(new TextDecoder().decode(buf.subarray(0, s.read(buf))), `datagram ${k}`);
        collect();
        assert.deepEqual(
          c.exportKeyingMaterial("EXPORTER-gc", 16),
          s.exportKeyingMaterial("EXPORTER-gc", 16),
        );
        collect();
      } finally {
        c.free();
        s.free();
      }
      checkCanaries();
    }
  } finally {
    if (client.owned) clientCtx.free();
    serverCtx.free();
  }
});

test("the crypto toolbox survives a collection between every call", { skip: NO_GC }, async () => {
  const o = { backend: BACKEND };
  const key = digest("sha256", "key", o);
  collect();
  const nonce = new Uint8Array(12).fill(7);
  const { ciphertext, tag } = encrypt("aes-256-gcm", key, nonce, "secret", "aad", o);
  collect();
  assert.equal(
    new TextDecoder().decode(decrypt("aes-256-gcm", key, nonce, ciphertext, tag, "aad", o)),
    "secret",
  );
  collect();
  assert.equal(hmac("sha256", key, "m", o).length, 32);
  collect();
  assert.equal(hkdf("sha256", key, "salt", "info", 42, o).length, 42);
  collect();
  const a = await generateKey("p256", o);
  collect();
  const b = await generateKey("p256", o);
  collect();
  assert.deepEqual(
    deriveSharedSecret(a.privateKey, b.publicKey, o),
    deriveSharedSecret(b.privateKey, a.publicKey, o),
  );
  collect();
  const sig = sign(a.privateKey, "msg", o);
  collect();
  assert.ok(verify(a.publicKey, "msg", sig, o));
  collect();
  const reloaded = loadKey(exportKey(a.privateKey, { format: "der", ...o }), o);
  collect();
  assert.ok(verify(a.publicKey, "msg", sign(reloaded, "msg", o), o));
  collect();
  const { cert } = await generateSelfSigned({ commonName: "gc.test", ...o });
  collect();
  assert.equal(parseCertificate(cert, o).commonName, "gc.test");
  collect();
  const csr = await generateCsr(a.privateKey, { commonName: "csr.test", ...o });
  collect();
  assert.equal(parseCsr(csr, o).signatureValid, true);
  collect();
  const has = (fn: keyof ReturnType<typeof getBackend>["crypto"]) =>
    typeof getBackend(BACKEND).crypto[fn] === "function";
  if (has("createPkcs12")) {
    const p12 = await createPkcs12({
      key: p.server.key,
      cert: p.server.cert,
      password: "pw",
      ...o,
    });
    collect();
    assert.equal((await parsePkcs12(p12, "pw", o)).cert?.trim(), p.server.cert.trim());
    collect();
  }
  if (has("cmsSign")) {
    const signed = await cmsSign("cms under gc", { cert: p.server.cert, key: p.server.key, ...o });
    collect();
    assert.equal((await cmsVerify(signed, { caCerts: [p.ca.cert], ...o })).valid, true);
    collect();
  }
  checkCanaries();
});
