// mbedTLS 2.28 against OpenSSL: the OpenSSL engine in memory, and the openssl
// CLI (s_server, s_client) over loopback TCP.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { ContextConfig } from "../backends/backend.ts";
import { opensslServer, pki, startPeer } from "./helpers.ts";
import {
  config,
  connectPair,
  dec,
  enc,
  handshake,
  mbed,
  openssl,
  Scope,
  SocketPump,
  transfer,
} from "./mbedtls_helpers.ts";

const p = pki();
const ca = enc(p.ca.cert);
const ossl = openssl();
const serverCfg = (extra: Partial<ContextConfig> = {}) =>
  config("server", { cert: enc(p.server.cert), key: enc(p.server.key), ...extra });
const clientCfg = (extra: Partial<ContextConfig> = {}) =>
  config("client", { caCerts: [ca], ...extra });
const LABEL = "EXPERIMENTAL jsec";

test(
  "mbedtls client ↔ OpenSSL server engine: TLS 1.2, ALPN, exporter, resumption",
  { skip: !ossl },
  () => {
    using s = new Scope();
    const sctx = s.ctx(ossl!, serverCfg({ alpnProtocols: ["h2", "http/1.1"] }));
    const cctx = s.ctx(mbed, clientCfg({ alpnProtocols: ["http/1.1"] }));
    const cli = s.engine(cctx, { serverName: "localhost", verifyName: "localhost" });
    const srv = s.engine(sctx);
    connectPair(cli, srv);
    assert.equal(srv.info().protocol, "TLSv1.2");
    assert.equal(cli.info().cipher, srv.info().cipher);
    assert.equal(cli.info().cipherBits, srv.info().cipherBits);
    assert.equal(cli.info().alpnProtocol, "http/1.1");
    assert.equal(srv.info().serverName, "localhost");
    assert.equal(dec(transfer(cli, srv, enc("to openssl"))), "to openssl");
    assert.equal(dec(transfer(srv, cli, enc("to mbedtls"))), "to mbedtls");
    for (const context of [undefined, new Uint8Array(0), enc("some context")]) {
      assert.deepEqual(
        cli.exportKeyingMaterial(LABEL, 48, context),
        srv.exportKeyingMaterial(LABEL, 48, context),
        `context ${context?.length}`,
      );
    }
    const session = cli.exportSession()!;
    const cli2 = s.engine(cctx, { serverName: "localhost", verifyName: "localhost", session });
    const srv2 = s.engine(sctx);
    connectPair(cli2, srv2);
    assert.equal(cli2.info().sessionReused, true);
    assert.equal(srv2.info().sessionReused, true);
  },
);

test("OpenSSL client engine ↔ mbedtls server: mTLS, SNI, exporter", { skip: !ossl }, () => {
  using s = new Scope();
  const sctx = s.ctx(
    mbed,
    serverCfg({
      clientAuth: "require",
      caCerts: [ca],
      sni: [{ name: "other.test", cert: enc(p.other.cert), key: enc(p.other.key) }],
    }),
  );
  const cctx = s.ctx(ossl!, clientCfg({ cert: enc(p.client.cert), key: enc(p.client.key) }));
  const cli = s.engine(cctx, { serverName: "other.test", verifyName: "other.test" });
  const srv = s.engine(sctx);
  connectPair(cli, srv);
  assert.equal(cli.info().protocol, "TLSv1.2");
  assert.equal(cli.info().peerCertificate?.commonName, "other.test");
  assert.equal(srv.info().peerCertificate?.commonName, "jsec client");
  assert.equal(srv.info().serverName, "other.test");
  assert.equal(srv.info().cipher, cli.info().cipher);
  assert.deepEqual(
    srv.exportKeyingMaterial(LABEL, 32, enc("c")),
    cli.exportKeyingMaterial(LABEL, 32, enc("c")),
  );
  // An OpenSSL client insisting on TLS 1.3 gets a protocol failure, not a hang.
  const c13 = s.engine(s.ctx(ossl!, clientCfg({ minVersion: "TLS1.3" })), {
    serverName: "localhost",
  });
  const r = handshake(c13, s.engine(s.ctx(mbed, serverCfg())));
  assert.notEqual(r.client, "done");
  assert.notEqual(r.server, "done");
});

test("mbedtls client → openssl s_server -tls1_2 over TCP; exporter matches OpenSSL's", async () => {
  const { peer, port } = await opensslServer([
    "-tls1_2",
    "-cert",
    p.server.certFile,
    "-key",
    p.server.keyFile,
    "-keymatexport",
    LABEL,
    "-keymatexportlen",
    "20",
  ]);
  using s = new Scope();
  const socket = net.connect(port, "127.0.0.1");
  try {
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    const pump = new SocketPump(cli, socket);
    await pump.handshake();
    const m = await peer.waitFor(/Keying material: ([0-9A-F]+)/);
    const mine = Array.from(
      cli.exportKeyingMaterial(LABEL, 20),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.equal(mine.toUpperCase(), m[1]);
    pump.write("hello from mbedtls\n");
    await peer.waitFor(/hello from mbedtls/);
    peer.write("hello from openssl\n");
    assert.match(await pump.readUntil("hello from openssl"), /hello from openssl/);
    assert.equal(cli.info().protocol, "TLSv1.2");
  } finally {
    socket.destroy();
    await peer.stop();
  }
});

test("mbedtls client rejects s_server's certificate for another host", async () => {
  const { peer, port } = await opensslServer([
    "-tls1_2",
    "-cert",
    p.other.certFile,
    "-key",
    p.other.keyFile,
  ]);
  using s = new Scope();
  const socket = net.connect(port, "127.0.0.1");
  try {
    const cli = s.engine(s.ctx(mbed, clientCfg()), {
      serverName: "localhost",
      verifyName: "localhost",
    });
    await assert.rejects(new SocketPump(cli, socket).handshake(), {
      code: "CERT_VERIFY",
      verifyResult: "hostname mismatch",
    });
  } finally {
    socket.destroy();
    await peer.stop();
  }
});

test("openssl s_client -tls1_2 → mbedtls server over TCP, with a client certificate", async () => {
  using s = new Scope();
  const sctx = s.ctx(mbed, serverCfg({ clientAuth: "require", caCerts: [ca] }));
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const peer = startPeer("openssl", [
    "s_client",
    "-tls1_2",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
    "-CAfile",
    p.ca.certFile,
    "-verify_return_error",
    "-cert",
    p.client.certFile,
    "-key",
    p.client.keyFile,
    "-keymatexport",
    LABEL,
    "-keymatexportlen",
    "16",
  ]);
  let socket: net.Socket | undefined;
  try {
    socket = await accepted;
    const srv = s.engine(sctx);
    const pump = new SocketPump(srv, socket);
    await pump.handshake();
    const m = await peer.waitFor(/Keying material: ([0-9A-F]+)/);
    const mine = Array.from(
      srv.exportKeyingMaterial(LABEL, 16),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.equal(mine.toUpperCase(), m[1]);
    assert.match(peer.output(), /Verify return code: 0 \(ok\)/);
    assert.equal(srv.info().peerCertificate?.commonName, "jsec client");
    assert.equal(srv.info().serverName, "localhost");
    peer.write("ping from s_client\n");
    await pump.readUntil("ping from s_client");
    pump.write("pong from mbedtls\n");
    await peer.waitFor(/pong from mbedtls/);
  } finally {
    socket?.destroy();
    await peer.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
