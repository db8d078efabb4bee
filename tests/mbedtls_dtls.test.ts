// mbedTLS 2.28 DTLS engines in memory: cookies, datagrams, MTU, retransmission timers,
// and interop with the OpenSSL DTLS engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContextConfig, Engine } from "../backends/backend.ts";
import { pki } from "./helpers.ts";
import { config, connectPair, dec, enc, mbed, move, openssl, Scope } from "./mbedtls_helpers.ts";

const p = pki();
const ca = enc(p.ca.cert);
const ossl = openssl();
const serverCfg = (extra: Partial<ContextConfig> = {}) =>
  config("server", { datagram: true, cert: enc(p.server.cert), key: enc(p.server.key), ...extra });
const clientCfg = (extra: Partial<ContextConfig> = {}) =>
  config("client", { datagram: true, caCerts: [ca], ...extra });
const addr = enc("127.0.0.1:40000");

/** Sends one datagram and reads it on the other side. */
function roundTrip(a: Engine, b: Engine, text: string): string {
  assert.equal(a.write(enc(text)), enc(text).length);
  const sent = move(a, b);
  assert.equal(sent.length, 1, "one write, one datagram");
  const buf = new Uint8Array(2048);
  const n = b.read(buf);
  assert.ok(n > 0, `read returned ${n}`);
  return dec(buf.subarray(0, n));
}

test("mbedtls DTLS: cookie exchange, handshake, datagrams, exporter", () => {
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg()), { transportId: addr });
  const cli = s.engine(s.ctx(mbed, clientCfg()), {
    serverName: "localhost",
    verifyName: "localhost",
  });
  assert.equal(cli.handshake(), "want-read");
  move(cli, srv);
  assert.equal(srv.handshake(), "want-read");
  const hvr = move(srv, cli);
  assert.equal(hvr.length, 1);
  assert.equal(hvr[0][0], 22); // handshake record
  assert.equal(hvr[0][13], 3); // HelloVerifyRequest
  connectPair(cli, srv);
  assert.equal(cli.info().protocol, "DTLSv1.2");
  assert.equal(srv.info().protocol, "DTLSv1.2");
  assert.equal(srv.info().serverName, "localhost");
  assert.equal(roundTrip(cli, srv, "first datagram"), "first datagram");
  assert.equal(roundTrip(srv, cli, "reply"), "reply");
  // two writes stay two datagrams
  cli.write(enc("a"));
  cli.write(enc("bb"));
  assert.equal(cli.pending() > 0, true);
  const two = move(cli, srv);
  assert.equal(two.length, 2);
  const buf = new Uint8Array(100);
  assert.equal(dec(buf.subarray(0, srv.read(buf))), "a");
  assert.equal(dec(buf.subarray(0, srv.read(buf))), "bb");
  assert.equal(srv.read(buf), 0);
  assert.deepEqual(
    cli.exportKeyingMaterial("EXPERIMENTAL d", 24),
    srv.exportKeyingMaterial("EXPERIMENTAL d", 24),
  );
  assert.throws(() => cli.write(new Uint8Array(5000)), { code: "PROTOCOL" });
});

test("mbedtls DTLS: a lost flight is re-sent when the timer fires", () => {
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg()), { transportId: addr });
  const cli = s.engine(s.ctx(mbed, clientCfg()), {
    serverName: "localhost",
    verifyName: "localhost",
  });
  assert.equal(cli.timeout(), null);
  assert.equal(cli.handshake(), "want-read");
  const lost = move(cli, srv, true); // the ClientHello never arrives
  assert.equal(lost.length, 1);
  const t = cli.timeout();
  assert.ok(t !== null && t > 0 && t <= 1000, `timer ${t}`);
  assert.equal(cli.pending(), 0);
  cli.onTimer();
  assert.ok(cli.pending() > 0, "re-sent after onTimer");
  const again = move(cli, srv);
  assert.equal(again.length, 1);
  assert.equal(again[0].length, lost[0].length);
  const t2 = cli.timeout();
  assert.ok(t2 !== null && t2 > 1000, `backed off to ${t2}`);
  connectPair(cli, srv);
  assert.equal(roundTrip(cli, srv, "after loss"), "after loss");
});

test("mbedtls DTLS: MTU bounds every datagram", () => {
  using s = new Scope();
  const srv = s.engine(s.ctx(mbed, serverCfg({ mtu: 300 })), { transportId: addr });
  const cli = s.engine(s.ctx(mbed, clientCfg({ mtu: 300 })), { serverName: "localhost" });
  let max = 0;
  for (let i = 0; i < 30 && !(cli.handshakeDone && srv.handshakeDone); i++) {
    if (!cli.handshakeDone) cli.handshake();
    for (const d of move(cli, srv)) max = Math.max(max, d.length);
    if (!srv.handshakeDone) srv.handshake();
    for (const d of move(srv, cli)) max = Math.max(max, d.length);
  }
  assert.ok(cli.handshakeDone && srv.handshakeDone);
  assert.ok(max > 0 && max <= 300, `largest datagram ${max}`);
  assert.throws(() => mbed.createContext(clientCfg({ mtu: 10 })), { code: "INVALID_OPTION" });
});

test("mbedtls DTLS ↔ OpenSSL DTLS engines, both directions", { skip: !ossl }, () => {
  using s = new Scope();
  {
    const srv = s.engine(s.ctx(ossl!, serverCfg()));
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    connectPair(cli, srv);
    assert.equal(srv.info().protocol, "DTLSv1.2");
    assert.equal(cli.info().cipher, srv.info().cipher);
    assert.equal(roundTrip(cli, srv, "mbed → openssl"), "mbed → openssl");
    assert.equal(roundTrip(srv, cli, "openssl → mbed"), "openssl → mbed");
    assert.deepEqual(
      cli.exportKeyingMaterial("EXPERIMENTAL x", 16),
      srv.exportKeyingMaterial("EXPERIMENTAL x", 16),
    );
  }
  {
    const srv = s.engine(s.ctx(mbed, serverCfg()), { transportId: addr });
    const cli = s.engine(s.ctx(ossl!, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    connectPair(cli, srv);
    assert.equal(cli.info().protocol, "DTLSv1.2");
    assert.equal(roundTrip(cli, srv, "openssl → mbed"), "openssl → mbed");
    assert.equal(roundTrip(srv, cli, "mbed → openssl"), "mbed → openssl");
  }
});

test("mbedtls DTLS: cookies from one context verify on another with the same cookieSecret", () => {
  const secret = new Uint8Array(32).fill(9);
  for (
    const [secretB, expectHvrAgain] of [[secret, false], [
      new Uint8Array(32).fill(1),
      true,
    ]] as const
  ) {
    using s = new Scope();
    const a = s.engine(s.ctx(mbed, serverCfg({ cookieSecret: secret })), { transportId: addr });
    const b = s.engine(s.ctx(mbed, serverCfg({ cookieSecret: secretB })), { transportId: addr });
    const cli = s.engine(s.ctx(mbed, clientCfg()), { serverName: "localhost" });
    cli.handshake();
    move(cli, a);
    a.handshake(); // HelloVerifyRequest with A's cookie
    move(a, cli);
    cli.handshake(); // ClientHello with the cookie, sent to B instead
    move(cli, b);
    b.handshake();
    const reply = move(b, cli);
    assert.equal(reply[0][13] === 3, expectHvrAgain, `HelloVerifyRequest again: ${expectHvrAgain}`);
    if (!expectHvrAgain) connectPair(cli, b);
  }
});
