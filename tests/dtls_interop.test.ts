// DTLS 1.2 interoperability: jsec against openssl s_server/s_client, gnutls-serv/gnutls-cli,
// and jsec on one backend against jsec on the other.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as dtls from "../dtls/mod.ts";
import { BACKEND, dec, enc, have, pki, startPeer } from "./helpers.ts";
import { client, dtlsSkip, freeUdpPort, opensslDtlsServer } from "./dtls_helpers.ts";

const skip = dtlsSkip();
const p = pki();
const noGnutls = skip ||
  (!have("gnutls-serv") || !have("gnutls-cli") ? "gnutls-bin is not installed" : false);
const other = BACKEND === "openssl" ? "mbedtls" : "openssl";
const noCross = skip || dtlsSkip(other);

test("jsec DTLS client ↔ openssl s_server -dtls1_2", { skip }, async () => {
  const { peer, port } = await opensslDtlsServer();
  try {
    const conn = await client(port);
    try {
      assert.equal(conn.info.protocol, "DTLSv1.2");
      await conn.send(enc("hello from jsec\n"));
      await peer.waitFor(/hello from jsec/);
      peer.write("hello from openssl\n");
      assert.equal(dec((await conn.receive())!), "hello from openssl\n");
    } finally {
      await conn.close();
    }
  } finally {
    await peer.stop();
  }
});

test(
  "jsec DTLS server ↔ openssl s_client -dtls1_2 (with a client certificate)",
  { skip },
  async () => {
    const server = dtls.listen({
      hostname: "127.0.0.1",
      port: 0,
      cert: p.server.cert,
      key: p.server.key,
      clientAuth: "require",
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    await server.ready;
    const peer = startPeer("openssl", [
      "s_client",
      "-dtls1_2",
      "-connect",
      `127.0.0.1:${server.addr.port}`,
      "-CAfile",
      p.ca.certFile,
      "-verify_return_error",
      "-cert",
      p.client.certFile,
      "-key",
      p.client.keyFile,
      "-mtu",
      "1200",
    ]);
    try {
      const conn = (await server.accept())!;
      assert.equal(conn.info.peerCertificate?.commonName, "jsec client");
      await peer.waitFor(/Verify return code: 0/);
      peer.write("ping from openssl\n");
      assert.equal(dec((await conn.receive())!), "ping from openssl\n");
      await conn.send(enc("pong from jsec\n"));
      await peer.waitFor(/pong from jsec/);
      await conn.close(); // close_notify: s_client ends its session
      await peer.waitFor(/DONE|closed|shut/i);
    } finally {
      await peer.stop();
      await server.close();
    }
  },
);

test("jsec DTLS client ↔ gnutls-serv --udp --echo", { skip: noGnutls }, async () => {
  const port = await freeUdpPort();
  const peer = startPeer("gnutls-serv", [
    "--udp",
    "--echo",
    "-p",
    String(port),
    "--x509certfile",
    p.server.certFile,
    "--x509keyfile",
    p.server.keyFile,
  ]);
  try {
    await peer.waitFor(/listening on IPv4.*done/i);
    const conn = await client(port);
    try {
      assert.equal(conn.info.protocol, "DTLSv1.2");
      for (const msg of ["one", "two", "three"]) {
        await conn.send(enc(msg));
        assert.equal(dec((await conn.receive())!), msg);
      }
    } finally {
      await conn.close();
    }
  } finally {
    await peer.stop();
  }
});

test("jsec DTLS server ↔ gnutls-cli --udp", { skip: noGnutls }, async () => {
  const server = dtls.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
  });
  await server.ready;
  const peer = startPeer("gnutls-cli", [
    "--udp",
    "-p",
    String(server.addr.port),
    "--x509cafile",
    p.ca.certFile,
    "127.0.0.1",
  ]);
  try {
    const conn = (await server.accept())!;
    await peer.waitFor(/Handshake was completed/);
    peer.write("hi from gnutls\n");
    assert.equal(dec((await conn.receive())!), "hi from gnutls\n");
    await conn.send(enc("hi from jsec\n"));
    await peer.waitFor(/hi from jsec/);
  } finally {
    await peer.stop();
    await server.close();
  }
});

test(`jsec DTLS across backends: ${BACKEND} ↔ ${other}`, { skip: noCross }, async () => {
  for (const [serverBackend, clientBackend] of [[BACKEND, other], [other, BACKEND]] as const) {
    const server = dtls.listen({
      hostname: "127.0.0.1",
      port: 0,
      cert: p.server.cert,
      key: p.server.key,
      backend: serverBackend,
    });
    await server.ready;
    try {
      const peerP = server.accept();
      const conn = await client(server.addr.port, { backend: clientBackend });
      try {
        const peer = (await peerP)!;
        assert.equal(peer.info.backend, serverBackend);
        assert.equal(conn.info.backend, clientBackend);
        await conn.send(enc("across"));
        assert.equal(dec((await peer.receive())!), "across");
        await peer.send(enc("and back"));
        assert.equal(dec((await conn.receive())!), "and back");
        const label = "EXPERIMENTAL-cross";
        assert.deepEqual(
          conn.exportKeyingMaterial(label, 16),
          peer.exportKeyingMaterial(label, 16),
        );
      } finally {
        await conn.close();
      }
    } finally {
      await server.close();
    }
  }
});
