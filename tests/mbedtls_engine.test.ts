// mbedTLS 2.28 engines against each other in memory: handshake, data, verification,
// mTLS, ALPN, SNI, resumption, exporter, options and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TlsError } from "../errors.ts";
import type { ContextConfig } from "../backends/backend.ts";
import { pki } from "./helpers.ts";
import {
  config,
  connectPair,
  dec,
  enc,
  handshake,
  mbed,
  move,
  Scope,
  transfer,
} from "./mbedtls_helpers.ts";

const p = pki();
const ca = enc(p.ca.cert);
const serverCfg = (extra: Partial<ContextConfig> = {}) =>
  config("server", { cert: enc(p.server.cert), key: enc(p.server.key), ...extra });
const clientCfg = (extra: Partial<ContextConfig> = {}) =>
  config("client", { caCerts: [ca], ...extra });

function tlsError(x: unknown): TlsError {
  assert.ok(x instanceof TlsError, `expected a TlsError, got ${String(x)}`);
  return x;
}

test("mbedtls: handshake, data both ways, info", () => {
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg()));
  const cli = s.engine(s.ctx(mbed, clientCfg()), {
    serverName: "localhost",
    verifyName: "localhost",
  });
  connectPair(cli, srv);
  assert.equal(cli.handshakeDone, true);
  assert.equal(dec(transfer(cli, srv, enc("ping"))), "ping");
  assert.equal(dec(transfer(srv, cli, enc("pong"))), "pong");
  const big = new Uint8Array(200_000).map((_, i) => i * 7);
  assert.deepEqual(transfer(cli, srv, big), big);
  const info = cli.info();
  assert.equal(info.protocol, "TLSv1.2");
  assert.match(info.cipher, /^TLS_ECDHE_ECDSA_WITH_/);
  assert.ok(info.cipherBits >= 128);
  assert.equal(info.sessionReused, false);
  assert.equal(info.serverName, "localhost");
  assert.equal(info.peerCertificate?.commonName, "localhost");
  assert.equal(info.peerCertificateChain.length, 1);
  assert.equal(srv.info().serverName, "localhost");
  assert.equal(srv.info().peerCertificate, null);
  // close_notify reaches the peer as EOF
  cli.shutdown();
  move(cli, srv);
  assert.equal(srv.read(new Uint8Array(10)), -1);
});

test("mbedtls: verification results in OpenSSL's words", () => {
  const cases: [string, { cert: string; key: string }, string, string][] = [
    ["unknown CA", p.unknownCa, "localhost", "unable to get local issuer certificate"],
    ["self-signed", p.selfSigned, "localhost", "self-signed certificate"],
    ["expired", p.expired, "localhost", "certificate has expired"],
    ["wrong host", p.server, "other.test", "hostname mismatch"],
  ];
  for (const [what, pair, name, expected] of cases) {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg({ cert: enc(pair.cert), key: enc(pair.key) })));
    const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: name, verifyName: name });
    const r = handshake(cli, srv);
    const e = tlsError(r.client);
    assert.equal(e.code, "CERT_VERIFY", what);
    assert.equal(e.verifyResult, expected, what);
    assert.ok(e.detail, what);
    const se = tlsError(r.server);
    assert.equal(se.code, "ALERT", `${what}: server sees ${se.message}`);
    assert.ok(se.alert && se.alert !== "alert", `${what}: alert text ${se.alert}`);
  }
});

test("mbedtls: verify false accepts any certificate; no name check when verifyName is null", () => {
  {
    using s = new Scope();
    const srv = s.engine(
      s.ctx(mbed, serverCfg({ cert: enc(p.unknownCa.cert), key: enc(p.unknownCa.key) })),
    );
    const cli = s.engine(s.ctx(mbed, clientCfg({ verify: false })), { serverName: "localhost" });
    connectPair(cli, srv);
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg()));
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "not-the-name.test",
      verifyName: null,
    });
    connectPair(cli, srv);
    assert.equal(srv.info().serverName, "not-the-name.test");
  }
});

test("mbedtls: IP addresses are checked against IP SANs (no SNI sent)", () => {
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg()));
    const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: null, verifyName: "127.0.0.1" });
    connectPair(cli, srv);
    assert.equal(srv.info().serverName, null);
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg()));
    const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: null, verifyName: "::1" });
    connectPair(cli, srv);
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg()));
    const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: null, verifyName: "127.0.0.2" });
    const e = tlsError(handshake(cli, srv).client);
    assert.equal(e.code, "CERT_VERIFY");
    assert.equal(e.verifyResult, "IP address mismatch");
  }
  {
    // SNI and the verified name may differ: the SNI selects, verifyName is checked.
    using s = new Scope();
    const srv = s.engine(
      s.ctx(mbed, serverCfg({ cert: enc(p.other.cert), key: enc(p.other.key) })),
    );
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "a.wild.test",
    });
    connectPair(cli, srv);
    const bad = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "b.c.wild.test",
    });
    const srv2 = s.engine(
      s.ctx(mbed, serverCfg({ cert: enc(p.other.cert), key: enc(p.other.key) })),
    );
    assert.equal(tlsError(handshake(bad, srv2).client).verifyResult, "hostname mismatch");
  }
});

test("mbedtls: client certificates (require, request)", () => {
  const clientCert = { cert: enc(p.client.cert), key: enc(p.client.key) };
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg({ clientAuth: "require", caCerts: [ca] })));
    const cli = s.engine(s.ctx(mbed, clientCfg(clientCert)), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    connectPair(cli, srv);
    assert.equal(srv.info().peerCertificate?.commonName, "jsec client");
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg({ clientAuth: "require", caCerts: [ca] })));
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    const r = handshake(cli, srv);
    const e = tlsError(r.server);
    assert.equal(e.code, "CERT_VERIFY");
    assert.equal(e.verifyResult, "peer did not return a certificate");
    assert.equal(tlsError(r.client).code, "ALERT");
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg({ clientAuth: "require", caCerts: [ca] })));
    const rogue = { cert: enc(p.rogueClient.cert), key: enc(p.rogueClient.key) };
    const cli = s.engine(s.ctx(mbed, clientCfg(rogue)), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    const e = tlsError(handshake(cli, srv).server);
    assert.equal(e.code, "CERT_VERIFY");
    assert.equal(e.verifyResult, "unable to get local issuer certificate");
  }
  {
    using s = new Scope();
    const srv = s.engine(s.ctx(mbed, serverCfg({ clientAuth: "request", caCerts: [ca] })));
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    connectPair(cli, srv); // request: no certificate is fine
    assert.equal(srv.info().peerCertificate, null);
    const srv2 = s.engine(s.ctx(mbed, serverCfg({ clientAuth: "request", caCerts: [ca] })));
    const rogue = { cert: enc(p.rogueClient.cert), key: enc(p.rogueClient.key) };
    const cli2 = s.engine(s.ctx(mbed, clientCfg(rogue)), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    assert.equal(tlsError(handshake(cli2, srv2).server).code, "CERT_VERIFY"); // but a bad one is not
  }
});

test("mbedtls: ALPN", () => {
  using s = new Scope();
  const sctx = s.ctx(mbed, serverCfg({ alpnProtocols: ["h2", "http/1.1"] }));
  const cli = s.engine(s.ctx(mbed, clientCfg({ alpnProtocols: ["http/1.1"] })), {
    serverName: "localhost",
  });
  const srv = s.engine(sctx);
  connectPair(cli, srv);
  assert.equal(cli.info().alpnProtocol, "http/1.1");
  assert.equal(srv.info().alpnProtocol, "http/1.1");
  const cli2 = s.engine(s.ctx(mbed, clientCfg({ alpnProtocols: ["imap"] })), {
    serverName: "localhost",
  });
  const r = handshake(cli2, s.engine(sctx));
  assert.equal(tlsError(r.client).code, "ALERT");
  assert.equal(tlsError(r.client).alert, "no application protocol");
  assert.throws(() => mbed.createContext(clientCfg({ alpnProtocols: [""] })), {
    code: "INVALID_OPTION",
  });
});

test("mbedtls: SNI selects the certificate", () => {
  using s = new Scope();
  const sctx = s.ctx(
    mbed,
    serverCfg({ sni: [{ name: "other.test", cert: enc(p.other.cert), key: enc(p.other.key) }] }),
  );
  const cctx = s.ctx(mbed, clientCfg());
  for (const [name, cn] of [["other.test", "other.test"], ["localhost", "localhost"]]) {
    const srv = s.engine(sctx);
    const cli = s.engine(cctx, { serverName: name, verifyName: name });
    connectPair(cli, srv);
    assert.equal(cli.info().peerCertificate?.commonName, cn);
    assert.equal(srv.info().serverName, name);
  }
  // wildcard entries
  const wctx = s.ctx(
    mbed,
    serverCfg({ sni: [{ name: "*.wild.test", cert: enc(p.other.cert), key: enc(p.other.key) }] }),
  );
  const cli = s.engine(cctx, { serverName: "x.wild.test", verifyName: "x.wild.test" });
  connectPair(cli, s.engine(wctx));
  assert.equal(cli.info().peerCertificate?.commonName, "other.test");
});

test("mbedtls: session resumption with tickets and with the session cache", () => {
  for (const tickets of [true, false]) {
    using s = new Scope();
    const sctx = s.ctx(mbed, serverCfg({ tickets }));
    const cctx = s.ctx(mbed, clientCfg({ tickets }));
    const c1 = s.engine(cctx, { serverName: "localhost", verifyName: "localhost" });
    connectPair(c1, s.engine(sctx));
    const session = c1.exportSession();
    assert.ok(session && session.length > 0, `tickets=${tickets}: a session`);
    const c2 = s.engine(cctx, { serverName: "localhost", verifyName: "localhost", session });
    const s2 = s.engine(sctx);
    connectPair(c2, s2);
    assert.equal(c2.info().sessionReused, true, `tickets=${tickets}: client resumed`);
    assert.equal(s2.info().sessionReused, true, `tickets=${tickets}: server resumed`);
    assert.equal(dec(transfer(c2, s2, enc("again"))), "again");
    assert.deepEqual(
      c2.exportKeyingMaterial("EXPERIMENTAL r", 20),
      s2.exportKeyingMaterial("EXPERIMENTAL r", 20),
    );
  }
  {
    // A server with neither tickets nor cache does a full handshake.
    using s = new Scope();
    const sctx = s.ctx(mbed, serverCfg({ tickets: false, sessionCacheSize: 0 }));
    const cctx = s.ctx(mbed, clientCfg());
    const c1 = s.engine(cctx, { serverName: "localhost" });
    connectPair(c1, s.engine(sctx));
    const c2 = s.engine(cctx, { serverName: "localhost", session: c1.exportSession()! });
    connectPair(c2, s.engine(sctx));
    assert.equal(c2.info().sessionReused, false);
  }
  assert.throws(
    () => mbed.createContext(clientCfg()).createEngine({ session: enc("not a session") }),
    { code: "INVALID_OPTION", option: "session" },
  );
});

test("mbedtls: keying material exporter and keylog", () => {
  using s = new Scope();
  const lines: string[] = [];
  const srv = s.engine(s.ctx(mbed, serverCfg()));
  const cli = s.engine(s.ctx(mbed, clientCfg({ keylog: (l) => lines.push(l) })), {
    serverName: "localhost",
  });
  assert.throws(() => cli.exportKeyingMaterial("x", 16), { code: "PROTOCOL" });
  connectPair(cli, srv);
  const a = cli.exportKeyingMaterial("EXPERIMENTAL jsec", 32);
  assert.deepEqual(a, srv.exportKeyingMaterial("EXPERIMENTAL jsec", 32));
  const withCtx = cli.exportKeyingMaterial("EXPERIMENTAL jsec", 32, enc("ctx"));
  assert.deepEqual(withCtx, srv.exportKeyingMaterial("EXPERIMENTAL jsec", 32, enc("ctx")));
  assert.notDeepEqual(a, withCtx);
  assert.notDeepEqual(a, cli.exportKeyingMaterial("EXPERIMENTAL other", 32));
  assert.deepEqual(cli.exportKeyingMaterial("EXPERIMENTAL jsec", 32, new Uint8Array(0)).length, 32);
  assert.throws(() => cli.exportKeyingMaterial("master secret", 16), { code: "INVALID_OPTION" });
  assert.throws(() => cli.exportKeyingMaterial("x", 0), { code: "INVALID_OPTION" });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
});

test("mbedtls: TLS 1.3 and key update are UNSUPPORTED", () => {
  assert.throws(() => mbed.createContext(clientCfg({ minVersion: "TLS1.3" })), (e: unknown) => {
    const t = tlsError(e);
    assert.equal(t.code, "UNSUPPORTED");
    assert.match(t.message, /mbedTLS 2\.28\.\d+ has no TLS 1\.3/);
    return true;
  });
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg({ maxVersion: "TLS1.3" })));
  const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: "localhost" });
  connectPair(cli, srv);
  assert.throws(() => cli.keyUpdate(true), { code: "UNSUPPORTED" });
  assert.equal(mbed.capabilities.tls13, false);
  assert.equal(mbed.capabilities.exportKeyingMaterial, true);
});

test("mbedtls: bad certificates and keys are INVALID_OPTION, not crashes", () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ cert: enc("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") }, "cert"],
    [{ cert: new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3]) }, "cert"],
    [{ cert: new Uint8Array(0) }, "cert"],
    [{ key: enc("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }, "key"],
    [{ key: new Uint8Array([1, 2, 3, 4]) }, "key"],
    [{ key: undefined }, "key"],
    [{ caCerts: [enc("garbage")] }, "caCerts[0]"],
    [{ caFile: "/nonexistent/ca.pem" }, "caFile"],
    [{ ciphers: "NOT-A-CIPHER" }, "ciphers"],
    [{ ciphers: "HIGH:!aNULL" }, "ciphers"],
    [{ groups: "bogus" }, "groups"],
    [{ cipherSuites: "TLS_NOPE" }, "cipherSuites"],
  ];
  for (const [extra, option] of bad) {
    assert.throws(() => mbed.createContext(serverCfg(extra)), (e: unknown) => {
      const t = tlsError(e);
      assert.equal(t.code, "INVALID_OPTION", `${option}: ${t.message}`);
      assert.equal(t.option, option);
      return true;
    });
  }
});

test("mbedtls: ciphers and groups options", () => {
  using s = new Scope();
  for (
    const ciphers of ["ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]
  ) {
    // TLS 1.2: the client's groups must also cover the server's ECDSA P-256 key.
    const srv = s.engine(s.ctx(mbed, serverCfg({ ciphers, groups: "secp384r1:prime256v1" })));
    const cli = s.engine(s.ctx(mbed, clientCfg({ groups: "P-384:P-256" })), {
      serverName: "localhost",
    });
    connectPair(cli, srv);
    const expected = ciphers.startsWith("TLS_")
      ? ciphers
      : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    assert.equal(cli.info().cipher, expected);
    assert.equal(srv.info().cipher, expected);
  }
  const srv = s.engine(s.ctx(mbed, serverCfg({ groups: "X25519" })));
  const cli = s.engine(s.ctx(mbed, clientCfg({ groups: "P-256" })), { serverName: "localhost" });
  const r = handshake(cli, srv);
  assert.ok(r.client !== "done" && r.server !== "done");
  assert.equal(tlsError(r.server).code, "HANDSHAKE");
});

test("mbedtls: garbage ciphertext fails cleanly; freed engines refuse use", () => {
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg()));
  srv.feed(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const e = (() => {
    try {
      srv.handshake();
    } catch (err) {
      return tlsError(err);
    }
    return null;
  })();
  assert.ok(e && e.code === "HANDSHAKE", e?.message);
  srv.free();
  srv.free();
  assert.throws(() => srv.handshake(), { code: "CLOSED" });
  assert.equal(srv.pending(), 0);
});
