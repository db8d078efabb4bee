// conn.info parity: every documented field on both backends, the peer's chain as sent
// (leaf + intermediate, both directions), and group / signature algorithm (OpenSSL; null on
// mbedTLS 2.28, which frees that state before it could be read); the connection's addresses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CertInfo, connect, listen, type TlsConn, type TlsListener } from "../mod.ts";
import { BACKEND, connectedPair, HAS_TLS13, localServer, pki, tempDir } from "./helpers.ts";

const p = pki();
const OPENSSL = BACKEND === "openssl";

/** Root CA → intermediate CA → server and client leaves, made with the openssl CLI. */
function chainPki() {
  const dir = tempDir();
  const run = (args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-days",
    "30",
    "-subj",
    "/CN=jsec chain root",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const issue = (name: string, cn: string, signer: string, ext: string) => {
    run([
      "req",
      "-new",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${signer}.pem`,
      "-CAkey",
      `${signer}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-extfile",
      `${name}.ext`,
    ]);
  };
  issue(
    "inter",
    "jsec chain intermediate",
    "root",
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
  );
  issue(
    "leaf",
    "localhost",
    "inter",
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  issue(
    "client",
    "jsec chain client",
    "inter",
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:client.test\nextendedKeyUsage=clientAuth\n",
  );
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    root: read("root.pem"),
    inter: read("inter.pem"),
    serverChain: read("leaf.pem") + read("inter.pem"),
    serverKey: read("leaf.key"),
    clientChain: read("client.pem") + read("inter.pem"),
    clientKey: read("client.key"),
  };
}

async function pair(
  serverOptions: Record<string, unknown>,
  clientOptions: Record<string, unknown>,
  body: (c: TlsConn, sc: TlsConn) => void | Promise<void>,
): Promise<void> {
  using s: TlsListener = listen({
    hostname: "127.0.0.1",
    port: 0,
    backend: BACKEND,
    ...serverOptions,
  });
  const [c, sc] = await Promise.all([
    connect({ hostname: "localhost", port: s.addr.port, backend: BACKEND, ...clientOptions }),
    s.accept(),
  ]);
  try {
    await body(c, sc);
  } finally {
    await c.close();
    await sc.close();
  }
}

const FIELDS = [
  "protocol",
  "cipher",
  "cipherBits",
  "alpnProtocol",
  "serverName",
  "sessionReused",
  "peerCertificate",
  "peerCertificateChain",
  "group",
  "signatureAlgorithm",
  "handshakeMs",
  "backend",
  "ocspResponse",
];

test("info carries every documented field on both ends", async () => {
  await pair(
    { cert: p.server.cert, key: p.server.key, alpnProtocols: ["h2", "http/1.1"] },
    { caCerts: [p.ca.cert], alpnProtocols: ["http/1.1"] },
    (c, sc) => {
      for (const info of [c.info, sc.info]) {
        for (const f of FIELDS) assert.ok(f in info, `info.${f} is missing`);
        assert.equal(info.protocol, HAS_TLS13 ? "TLSv1.3" : "TLSv1.2");
        assert.match(info.cipher, /^TLS_/);
        assert.ok(info.cipherBits >= 128);
        assert.equal(info.alpnProtocol, "http/1.1");
        assert.equal(info.sessionReused, false);
        assert.equal(info.backend, BACKEND);
        assert.ok(info.handshakeMs > 0);
        assert.equal(info.ocspResponse, null);
      }
      assert.equal(c.info.cipher, sc.info.cipher);
      assert.equal(sc.info.serverName, "localhost");
      assert.equal(c.info.peerCertificate?.commonName, "localhost");
      assert.deepEqual(sc.info.peerCertificateChain, []);
      assert.equal(sc.info.peerCertificate, null);
    },
  );
});

test("peerCertificateChain: leaf and intermediate as sent, in both directions", async () => {
  const k = chainPki();
  await pair(
    { cert: k.serverChain, key: k.serverKey, clientAuth: "require", caCerts: [k.root] },
    { caCerts: [k.root], cert: k.clientChain, key: k.clientKey },
    (c, sc) => {
      const server = c.info.peerCertificateChain;
      assert.deepEqual(server.map((x) => x.commonName), ["localhost", "jsec chain intermediate"]);
      assert.equal(server[0].issuer, server[1].subject);
      assert.equal(server[1].isCa, true);
      assert.deepEqual(c.info.peerCertificate, server[0]);
      const client = sc.info.peerCertificateChain;
      assert.deepEqual(client.map((x) => x.commonName), [
        "jsec chain client",
        "jsec chain intermediate",
      ]);
      assert.deepEqual(sc.info.peerCertificate, client[0]);
      assert.ok(client[0].der instanceof Uint8Array && client[0].der.length > 100);
    },
  );
});

test("peerCertificate: every connection gets its own copy, also of a certificate parsed before", async () => {
  // Parsed certificates are cached by their DER: what one caller changes must not reach another.
  const ecdsa = { cert: p.server.cert, key: p.server.key };
  const seen: CertInfo[] = [];
  for (let i = 0; i < 3; i++) {
    await pair(ecdsa, { caCerts: [p.ca.cert] }, (c) => void seen.push(c.info.peerCertificate!));
  }
  const [a, b, c] = seen;
  assert.notEqual(a, b);
  assert.deepEqual(a, b);
  a.subject = "CN=changed";
  a.san.push("DNS:changed");
  a.notAfter.setTime(0);
  a.der[0] ^= 0xff;
  assert.deepEqual(b, c);
  await pair(ecdsa, { caCerts: [p.ca.cert] }, (conn) => {
    assert.deepEqual(conn.info.peerCertificate, b);
  });
  // Another server's certificate is its own.
  await pair({ cert: p.rsaServer.cert, key: p.rsaServer.key }, { caCerts: [p.ca.cert] }, (conn) => {
    assert.equal(conn.info.peerCertificate?.publicKeyType, "rsa");
    assert.notDeepEqual(conn.info.peerCertificate?.der, b.der);
  });
});

test("group and signatureAlgorithm (OpenSSL; null on mbedTLS 2.28)", async () => {
  // EC P-256 leaf, P-384 key exchange.
  // (mbedTLS 2.28's group list also limits ECDSA curves: a P-384-only list refuses a P-256 cert.)
  const groups = OPENSSL ? { groups: "P-384" } : {};
  await pair(
    { cert: p.server.cert, key: p.server.key, ...groups },
    { caCerts: [p.ca.cert], ...groups },
    (c, sc) => {
      if (!OPENSSL) {
        assert.equal(c.info.group, null);
        assert.equal(c.info.signatureAlgorithm, null);
        return;
      }
      assert.equal(c.info.group, "P-384"); // the names `groups` accepts
      assert.equal(c.info.group, sc.info.group);
      assert.match(c.info.signatureAlgorithm ?? "", /^ecdsa/);
      assert.equal(sc.info.signatureAlgorithm, null); // no client certificate, no signature
    },
  );
  if (!OPENSSL) return;
  // RSA leaf over TLS 1.3: RSA-PSS; X25519 by default.
  await pair(
    { cert: p.rsaServer.cert, key: p.rsaServer.key },
    { caCerts: [p.ca.cert] },
    (c) => {
      assert.equal(c.info.group, "X25519");
      assert.match(c.info.signatureAlgorithm ?? "", /^rsa_pss/);
      assert.equal(c.info.peerCertificate?.publicKeyType, "rsa");
    },
  );
});

test("addresses on both ends, also read after close", async () => {
  using s = localServer();
  const [c, sc] = await connectedPair(s);
  await c.close();
  await sc.close();
  // The transports read their addresses when first asked, here after the sockets closed.
  assert.equal(sc.localAddr.port, s.addr.port);
  assert.equal(c.remoteAddr.port, s.addr.port);
  assert.equal(sc.remoteAddr.port, c.localAddr.port);
  assert.equal(sc.remoteAddr.hostname, c.localAddr.hostname);
  assert.notEqual(c.localAddr.port, 0);
  for (const a of [c.localAddr, c.remoteAddr, sc.localAddr, sc.remoteAddr]) {
    assert.equal(a.transport, "tcp");
  }
  assert.equal(c.localAddr, c.localAddr); // converted once
});
