// Interoperability with peers nobody here wrote: openssl s_server/s_client,
// gnutls-serv/gnutls-cli, curl, node:tls, and the runtime's own TLS.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nodeTls from "node:tls";
import { connect, serve } from "../mod.ts";
import {
  BACKEND,
  dec,
  enc,
  freePort,
  HAS_TLS13,
  have,
  localServer as server,
  opensslServer,
  pki,
  readExactly,
  readUntil,
  RUNTIME,
  startPeer,
} from "./helpers.ts";

const p = pki();
const versions = HAS_TLS13 ? ["1.2", "1.3"] as const : ["1.2"] as const;

for (const v of versions) {
  test(`jsec client ↔ openssl s_server, TLS ${v}`, async () => {
    const { peer, port } = await opensslServer([
      `-tls1_${v.slice(2)}`,
      "-cert",
      p.server.certFile,
      "-key",
      p.server.keyFile,
      "-www",
    ]);
    try {
      const c = await connect({
        hostname: "localhost",
        port,
        caCerts: [p.ca.cert],
        backend: BACKEND,
      });
      assert.equal(c.info.protocol, `TLSv${v}`);
      await c.write(enc("GET / HTTP/1.0\r\n\r\n"));
      const page = await readUntil(c, "</HTML>");
      assert.match(page, /HTTP\/1\.0 200 ok/);
      assert.match(page, new RegExp(`Protocol\\s*: TLSv${v.replace(".", "\\.")}`));
      await c.close();
    } finally {
      await peer.stop();
    }
  });

  test(`openssl s_client ↔ jsec server, TLS ${v}`, async () => {
    using s = server();
    const peer = startPeer("openssl", [
      "s_client",
      `-tls1_${v.slice(2)}`,
      "-connect",
      `127.0.0.1:${s.addr.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      p.ca.certFile,
      "-verify_return_error",
      "-quiet",
    ]);
    try {
      const sc = await s.accept();
      assert.equal(sc.info.protocol, `TLSv${v}`);
      assert.equal(sc.info.serverName, "localhost");
      peer.write("hello from s_client\n");
      assert.equal(await readUntil(sc, "\n"), "hello from s_client\n");
      await sc.write(enc("hello from jsec\n"));
      await peer.waitFor(/hello from jsec/);
      await sc.close();
    } finally {
      await peer.stop();
    }
  });
}

test("openssl s_client -starttls smtp ↔ jsec wrap() as an SMTP server", async () => {
  const { createServer } = await import("node:net");
  const { duplexFromSocket } = await import("./net_duplex.ts");
  const { wrap } = await import("../mod.ts");
  let done!: (v: string) => void;
  const got = new Promise<string>((r) => (done = r));
  const srv = createServer(async (sock) => {
    const plain = duplexFromSocket(sock);
    const w = plain.writable.getWriter();
    const r = plain.readable.getReader();
    let buf = "";
    const line = async () => {
      while (!buf.includes("\r\n")) {
        const { value, done } = await r.read();
        if (done) throw new Error("closed");
        buf += dec(value);
      }
      const i = buf.indexOf("\r\n");
      const l = buf.slice(0, i);
      buf = buf.slice(i + 2);
      return l;
    };
    try {
      await w.write(enc("220 jsec ESMTP\r\n"));
      await line(); // EHLO
      await w.write(enc("250-jsec\r\n250 STARTTLS\r\n"));
      assert.equal((await line()).toUpperCase(), "STARTTLS");
      await w.write(enc("220 Go ahead\r\n"));
      w.releaseLock();
      r.releaseLock();
      const tls = await wrap(plain, {
        server: true,
        cert: p.server.cert,
        key: p.server.key,
        backend: BACKEND,
      });
      await tls.write(enc("250 secured\r\n"));
      done(await readUntil(tls, "\n"));
      await tls.close();
    } catch (e) {
      done(`error: ${e}`);
      sock.destroy();
    }
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  const peer = startPeer("openssl", [
    "s_client",
    "-starttls",
    "smtp",
    "-connect",
    `127.0.0.1:${port}`,
    "-CAfile",
    p.ca.certFile,
    "-verify_return_error",
    "-quiet",
    ...(HAS_TLS13 ? [] : ["-tls1_2"]),
  ]);
  try {
    await peer.waitFor(/250 secured/);
    peer.write("QUIT over TLS\n");
    assert.equal(await got, "QUIT over TLS\n");
  } finally {
    await peer.stop();
    await new Promise((r) => srv.close(r));
  }
});

test("gnutls-cli ↔ jsec server, and jsec client ↔ gnutls-serv", {
  skip: !have("gnutls-serv") && "gnutls-bin not installed",
}, async () => {
  using s = server();
  const cli = startPeer("gnutls-cli", [
    "--x509cafile",
    p.ca.certFile,
    "-p",
    String(s.addr.port),
    "localhost",
  ]);
  try {
    const sc = await s.accept();
    cli.write("from gnutls\n");
    assert.equal(await readUntil(sc, "\n"), "from gnutls\n");
    await sc.write(enc("from jsec\n"));
    await cli.waitFor(/from jsec/);
    await sc.close();
  } finally {
    await cli.stop();
  }
  const port = await freePort();
  const srv = startPeer("gnutls-serv", [
    "--echo",
    "-p",
    String(port),
    "--x509certfile",
    p.server.certFile,
    "--x509keyfile",
    p.server.keyFile,
  ]);
  try {
    await srv.waitFor(/IPv4.*done/);
    const c = await connect({
      hostname: "127.0.0.1",
      serverName: "localhost",
      port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    await c.write(enc("echo me\n"));
    assert.equal(dec(await readExactly(c, 8)), "echo me\n");
    await c.close();
  } finally {
    await srv.stop();
  }
});

test("curl ↔ a jsec HTTPS responder (ALPN http/1.1)", {
  skip: !have("curl") && "curl not installed",
}, async () => {
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    alpnProtocols: ["http/1.1"],
    backend: BACKEND,
    async handler(conn) {
      const req = await readUntil(conn, "\r\n\r\n");
      const body = `hello ${
        req.split(" ")[1]
      } over ${conn.info.protocol} alpn=${conn.info.alpnProtocol}`;
      await conn.write(
        enc(
          `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        ),
      );
    },
  });
  try {
    const curl = startPeer("curl", [
      "-sS",
      "--http1.1",
      "--cacert",
      p.ca.certFile,
      `https://localhost:${server.addr.port}/path`,
    ]);
    assert.equal(await curl.exited, 0, curl.output());
    assert.equal(curl.output(), `hello /path over TLSv${HAS_TLS13 ? "1.3" : "1.2"} alpn=http/1.1`);
  } finally {
    await server.shutdown();
  }
});

test("node:tls client ↔ jsec server, and jsec client ↔ node:tls server", async () => {
  using s = server({ alpnProtocols: ["x-test"] });
  const nodeClient = nodeTls.connect({
    host: "127.0.0.1",
    port: s.addr.port,
    servername: "localhost",
    ca: p.ca.cert,
    ALPNProtocols: ["x-test"],
  });
  const secured = new Promise<void>((res, rej) => {
    nodeClient.once("secureConnect", res);
    nodeClient.once("error", rej);
  });
  const sc = await s.accept();
  await secured;
  assert.equal(nodeClient.alpnProtocol, "x-test");
  nodeClient.write("from node:tls");
  assert.equal(dec(await readExactly(sc, 13)), "from node:tls");
  const reply = new Promise<string>((r) => nodeClient.once("data", (d: Uint8Array) => r(dec(d))));
  await sc.write(enc("from jsec"));
  assert.equal(await reply, "from jsec");
  nodeClient.destroy();
  await sc.close();

  const nodeServer = nodeTls.createServer({ cert: p.server.cert, key: p.server.key }, (sock) => {
    sock.on("data", (d: Uint8Array) => sock.write(d));
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => nodeServer.listen(0, "127.0.0.1", r));
  try {
    const port = (nodeServer.address() as { port: number }).port;
    const c = await connect({
      hostname: "localhost",
      port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    await c.write(enc("round trip"));
    assert.equal(dec(await readExactly(c, 10)), "round trip");
    await c.close();
  } finally {
    await new Promise((r) => nodeServer.close(r));
  }
});

test("the runtime's own TLS client (Deno.connectTls / Bun.connect tls) ↔ jsec server", async () => {
  using s = server();
  // deno-lint-ignore no-explicit-any
  const g = globalThis as Record<string, any>;
  if (RUNTIME === "deno") {
    const conn = await g.Deno.connectTls({
      hostname: "localhost",
      port: s.addr.port,
      caCerts: [p.ca.cert],
    });
    const sc = await s.accept();
    await conn.write(enc("deno native"));
    assert.equal(dec(await readExactly(sc, 11)), "deno native");
    await sc.write(enc("ok"));
    const buf = new Uint8Array(2);
    assert.equal(await conn.read(buf), 2);
    conn.close();
    await sc.close();
  } else {
    let got!: (s: string) => void;
    const reply = new Promise<string>((r) => (got = r));
    let shook!: (ok: boolean) => void;
    const handshake = new Promise<boolean>((r) => (shook = r));
    const sock = await g.Bun.connect({
      hostname: "localhost",
      port: s.addr.port,
      tls: { ca: p.ca.cert, serverName: "localhost" },
      socket: {
        handshake: (_s: unknown, ok: boolean) => shook(ok),
        data: (_s: unknown, d: Uint8Array) => got(dec(d)),
        error() {},
        close() {},
      },
    });
    const sc = await s.accept();
    assert.equal(await handshake, true); // in TLS 1.2 the client finishes after the server
    sock.write("bun native");
    assert.equal(dec(await readExactly(sc, 10)), "bun native");
    await sc.write(enc("ok"));
    assert.equal(await reply, "ok");
    sock.end();
    await sc.close();
  }
});
