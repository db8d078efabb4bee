// DTLS 1.2 jsec ↔ jsec: datagrams, info, exporter, resumption, mTLS, bad certificates,
// deadlines and option validation. Runs on the backend JSEC_BACKEND names.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as dtls from "../dtls/mod.ts";
import { createContext, TlsError } from "../mod.ts";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKEND, childCommand, dec, enc, pki, tempDir } from "./helpers.ts";
import {
  client,
  dtlsSkip,
  echoServer,
  freeUdpPort,
  pattern,
  rejectsWith,
  silentUdp,
} from "./dtls_helpers.ts";

const skip = dtlsSkip();
const p = pki();

test("DTLS echo: info, stats and equal exporters on both ends", { skip }, async () => {
  await using srv = await echoServer({ alpnProtocols: ["coap"] });
  const peerP = srv.nextPeer();
  const conn = await client(srv.port, { alpnProtocols: ["coap"] });
  try {
    const peer = (await peerP)!;
    assert.equal(conn.info.protocol, "DTLSv1.2");
    assert.equal(conn.info.backend, BACKEND);
    assert.equal(conn.info.alpnProtocol, "coap");
    assert.equal(conn.info.peerCertificate?.commonName, "localhost");
    assert.equal(peer.remoteAddr.port, conn.localAddr.port);
    assert.equal(peer.remoteAddr.transport, "udp");
    const label = "EXPERIMENTAL-jsec";
    assert.deepEqual(conn.exportKeyingMaterial(label, 32), peer.exportKeyingMaterial(label, 32));
    await conn.send(enc("hello"));
    assert.equal(dec((await conn.receive())!), "hello");
    const s = conn.stats;
    assert.equal(s.messagesOut, 1);
    assert.equal(s.messagesIn, 1);
    assert.ok(s.datagramsIn >= 3 && s.datagramsOut >= 3);
    const ss = srv.server.stats;
    assert.equal(ss.handshakesDone, 1);
    assert.equal(ss.cookiesSent, 1);
    assert.equal(ss.cookiesVerified, 1);
  } finally {
    await conn.close();
  }
});

test("DTLS: hundreds of datagrams of 1 … data-MTU bytes arrive whole and separate both ways", {
  skip,
}, async () => {
  await using srv = await echoServer();
  const conn = await client(srv.port);
  try {
    const max = conn.maxDatagramSize ?? 1200 - 37; // AES-GCM: 13 header + 8 nonce + 16 tag
    assert.ok(max > 1000 && max < 1200, `data MTU ${max}`);
    const sizes = Array.from({ length: 300 }, (_, i) => 1 + Math.floor((i * (max - 1)) / 299));
    assert.equal(sizes.at(-1), max);
    for (let i = 0; i < sizes.length; i += 20) {
      const batch = sizes.slice(i, i + 20);
      // Sent without waiting: twenty datagrams in flight at once, each in its own buffer.
      await Promise.all(batch.map((n, j) => conn.send(pattern(n, i + j))));
      for (const [j, n] of batch.entries()) {
        assert.deepEqual(await conn.receive(), pattern(n, i + j));
      }
    }
    const w = conn.writable.getWriter();
    const r = conn.readable.getReader();
    await w.write(enc("via streams"));
    assert.equal(dec((await r.read()).value!), "via streams");
    w.releaseLock();
    r.releaseLock();
    await rejectsWith(conn.send(new Uint8Array(max + 1)), "PROTOCOL");
    assert.equal(conn.stats.messagesIn, 301);
  } finally {
    await conn.close();
  }
});

test("DTLS session resumption", { skip }, async () => {
  await using srv = await echoServer();
  const first = await client(srv.port);
  const session = first.exportSession();
  assert.ok(session && session.length > 0);
  assert.equal(first.info.sessionReused, false);
  await first.close();
  const second = await client(srv.port, { session });
  try {
    assert.equal(second.info.sessionReused, true);
    await second.send(enc("again"));
    assert.equal(dec((await second.receive())!), "again");
  } finally {
    await second.close();
  }
});

test(
  "DTLS contexts from createContext({ datagram: true }) serve listen and connect; wrong kinds are refused",
  {
    skip,
  },
  async () => {
    using sctx = createContext({
      server: true,
      datagram: true,
      cert: p.server.cert,
      key: p.server.key,
      cookieSecret: "a cookie secret of 32 characters",
      mtu: 1200,
      backend: BACKEND,
    });
    using cctx = createContext({
      datagram: true,
      caCerts: [p.ca.cert],
      mtu: 1200,
      backend: BACKEND,
    });
    // Two servers in turn on one context: the first one's close leaves it usable.
    for (let round = 0; round < 2; round++) {
      await using srv = await echoServer({ context: sctx });
      const first = await client(srv.port, { context: cctx });
      await first.send(enc("ctx"));
      assert.equal(dec((await first.receive())!), "ctx");
      const session = first.exportSession();
      await first.close();
      const second = await client(srv.port, { context: cctx, session: session! });
      assert.equal(second.info.sessionReused, true);
      await second.close();
    }
    using tls = createContext({ caCerts: [p.ca.cert], backend: BACKEND });
    for (const context of [tls, sctx]) {
      const e = await rejectsWith(client(4433, { context }), "INVALID_OPTION");
      assert.equal(e.option, "context");
    }
    assert.throws(
      () => dtls.listen({ port: 0, context: cctx }),
      (e: unknown) =>
        e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === "context",
    );
    // The cookie secret is checked where the context is built.
    assert.throws(
      () =>
        createContext({
          server: true,
          datagram: true,
          cert: p.server.cert,
          key: p.server.key,
          cookieSecret: "short",
          backend: BACKEND,
        }),
      (e: unknown) =>
        e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === "cookieSecret",
    );
  },
);

test("DTLS mTLS: a required client certificate is accepted, a missing or rogue one rejected", {
  skip,
}, async () => {
  const errors: unknown[] = [];
  await using srv = await echoServer({
    clientAuth: "require",
    caCerts: [p.ca.cert],
    onError: (e) => errors.push(e),
  });
  const peerP = srv.nextPeer();
  const ok = await client(srv.port, { cert: p.client.cert, key: p.client.key });
  assert.equal((await peerP)!.info.peerCertificate?.commonName, "jsec client");
  await ok.close();
  for (const extra of [{}, { cert: p.rogueClient.cert, key: p.rogueClient.key }]) {
    // The server's fatal alert ends the client's handshake too.
    await rejectsWith(client(srv.port, { ...extra, handshakeTimeout: 5_000 }), [
      "ALERT",
      "HANDSHAKE",
    ]);
  }
  assert.equal(srv.server.stats.handshakesFailed, 2);
  assert.equal(errors.length, 2);
});

test("DTLS: bad server certificates give CERT_VERIFY with a reason", { skip }, async () => {
  const cases = [
    {
      pair: p.unknownCa,
      name: undefined,
      reason: /issuer|unknown|not trusted|self.signed|verify/i,
    },
    { pair: p.expired, name: undefined, reason: /expired/i },
    { pair: p.server, name: "wrong.test", reason: /host|name|mismatch/i },
  ];
  for (const c of cases) {
    await using srv = await echoServer({ cert: c.pair.cert, key: c.pair.key });
    await rejectsWith(client(srv.port, { serverName: c.name }), "CERT_VERIFY", c.reason);
  }
});

test(
  "DTLS: handshakeTimeout against a silent port gives TIMEOUT, a signal gives ABORTED",
  { skip },
  async () => {
    const silent = await silentUdp();
    try {
      await rejectsWith(client(silent.port, { handshakeTimeout: 300 }), "TIMEOUT");
      assert.ok(silent.received() >= 1);
      const ac = new AbortController();
      const pending = client(silent.port, { signal: ac.signal });
      ac.abort();
      await rejectsWith(pending, "ABORTED");
      await rejectsWith(client(silent.port, { signal: AbortSignal.abort() }), "ABORTED");
    } finally {
      await silent.close();
    }
  },
);

test("DTLS: a connect to a closed port prints nothing: ICMP port-unreachable is no stderr dump", {
  skip,
  timeout: 30_000,
}, async () => {
  // Bun printed every ICMP error on a UDP socket without an error handler (one dump per
  // retransmitted ClientHello): a child process shows what reaches stderr.
  const port = await freeUdpPort();
  const file = join(tempDir(), "closed_port.ts");
  writeFileSync(
    file,
    `import * as dtls from ${JSON.stringify(new URL("../dtls/mod.ts", import.meta.url).pathname)};
try {
  await dtls.connect(${
      JSON.stringify({
        hostname: "127.0.0.1",
        port,
        caCerts: [p.ca.cert],
        backend: BACKEND,
        handshakeTimeout: 1500, // the ClientHello goes out twice
      })
    });
  console.log("connected");
} catch (e) {
  console.log(e.code);
}`,
  );
  const [exe, args] = childCommand(file);
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(exe, args, (_e, stdout, stderr) => resolve({ stdout, stderr }))
  );
  assert.equal(stdout.trim(), "TIMEOUT", stderr);
  assert.doesNotMatch(stderr, /ECONNREFUSED|refused/i);
});

test("DTLS: bad options give INVALID_OPTION naming the option", { skip }, async () => {
  const bad: [Partial<dtls.DtlsConnectOptions> & Record<string, unknown>, string][] = [
    [{ port: -1 }, "port"],
    [{ port: 70000 }, "port"],
    [{ mtu: 10 }, "mtu"],
    [{ hostname: 5 as unknown as string }, "hostname"],
    [{ verify: "yes" as unknown as boolean }, "verify"],
    [{ handshakeTimeout: 0 }, "handshakeTimeout"],
    [{ session: "x" as unknown as Uint8Array }, "session"],
    [{ backend: "nope" as "openssl" }, "backend"],
    [{ signal: {} as AbortSignal }, "signal"],
  ];
  for (const [extra, option] of bad) {
    const e = await rejectsWith(client(4433, extra), "INVALID_OPTION");
    assert.equal(e.option, option);
  }
  const listenBad: [Record<string, unknown>, string][] = [
    [{ port: 0 }, "cert"],
    [{ port: 0, cert: p.server.cert, key: p.server.key, cookieSecret: "short" }, "cookieSecret"],
    [{ port: 0, cert: p.server.cert, key: p.server.key, idleTimeout: -1 }, "idleTimeout"],
    [{ port: 0, cert: p.server.cert, key: p.server.key, maxHandshakes: 0 }, "maxHandshakes"],
    [{ port: "x", cert: p.server.cert, key: p.server.key }, "port"],
    [{ port: 0, cert: p.server.cert, key: p.server.key, clientAuth: "maybe" }, "clientAuth"],
  ];
  for (const [o, option] of listenBad) {
    assert.throws(
      () => dtls.listen({ backend: BACKEND, ...o } as unknown as dtls.DtlsListenOptions),
      (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === option,
    );
  }
});
