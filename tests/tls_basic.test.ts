// jsec client ↔ jsec server over loopback: data, streams, close semantics, serve(); a Node
// client renegotiating behind a full record (a user callback inside a default read).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect as netConnect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import {
  connect,
  listen,
  serve,
  type ServeOptions,
  type TlsConn,
  TlsError,
  type TlsServer,
  wrap,
} from "../mod.ts";
import {
  BACKEND,
  concatBytes,
  connectedPair as pair,
  dec,
  enc,
  HAS_TLS13,
  localServer as server,
  pki,
  readAll,
  readExactly,
  startPeer,
  tempDir,
} from "./helpers.ts";
import { duplexFromSocket } from "./net_duplex.ts";

const p = pki();

test("round trip and connection info on both ends", async () => {
  using s = server();
  const [c, sc] = await pair(s);
  try {
    await c.write(enc("ping"));
    assert.equal(dec(await readExactly(sc, 4)), "ping");
    await sc.write(enc("pong"));
    assert.equal(dec(await readExactly(c, 4)), "pong");
    const info = c.info;
    assert.equal(info.backend, BACKEND);
    assert.equal(info.protocol, HAS_TLS13 ? "TLSv1.3" : "TLSv1.2");
    assert.match(info.cipher, /^TLS_/);
    assert.ok(info.cipherBits >= 128);
    assert.equal(info.alpnProtocol, null);
    assert.equal(info.sessionReused, false);
    assert.equal(info.peerCertificate?.commonName, "localhost");
    assert.ok(info.peerCertificate?.san.includes("DNS:localhost"));
    assert.ok(info.handshakeMs > 0);
    assert.equal(sc.info.peerCertificate, null); // no client certificate asked for
    assert.equal(sc.info.serverName, "localhost");
    assert.equal(c.remoteAddr.port, s.addr.port);
    assert.equal(c.remoteAddr.transport, "tcp");
  } finally {
    await c.close();
    await sc.close();
  }
});

test("Web Streams: pipe through an echo, BYOB reads, one position with read()", async () => {
  using s = server();
  const [c, sc] = await Promise.all([
    connect({ hostname: "localhost", port: s.addr.port, caCerts: [p.ca.cert], backend: BACKEND }),
    s.accept(),
  ]);
  const echo = sc.readable.pipeTo(sc.writable);
  try {
    const writer = c.writable.getWriter();
    await writer.write(enc("hello "));
    await writer.write(enc("streams"));
    const reader = c.readable.getReader({ mode: "byob" });
    let got = "";
    while (got.length < 13) {
      const { value, done } = await reader.read(new Uint8Array(64));
      assert.equal(done, false);
      got += dec(value!);
    }
    assert.equal(got, "hello streams");
    await writer.close(); // close_notify: the server's readable ends, its pipe closes its writable
    const { done } = await reader.read(new Uint8Array(8));
    assert.equal(done, true);
    await echo;
  } finally {
    await c.close();
    await sc.close();
  }
});

test("Web Streams: default readers get chunks of their own, intact across connections waiting at once", async () => {
  // Default-reader reads decrypt into one buffer shared by every connection and copy out at
  // once: twenty connections wait together, then each gets its own message, and a bulk
  // transfer arrives whole. Each chunk owns a buffer of its exact size (no 16 KiB behind 6 bytes).
  using s = server();
  const pairs: [TlsConn, TlsConn][] = [];
  for (let i = 0; i < 20; i++) pairs.push(await pair(s)); // one at a time: accept() matches
  try {
    const readers = pairs.map(([c]) => c.readable.getReader());
    const pending = readers.map((r) => r.read());
    for (const i of [...pairs.keys()].reverse()) await pairs[i][1].write(enc(`msg-${i}`.padEnd(6)));
    const chunks = await Promise.all(pending);
    chunks.forEach(({ value }, i) => {
      assert.equal(dec(value!), `msg-${i}`.padEnd(6));
      assert.equal(value!.buffer.byteLength, value!.byteLength);
    });
    const sc = pairs[0][1];
    const big = new Uint8Array(4 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 16)) & 0xff;
    const sent = sc.write(big).then(() => sc.closeWrite());
    const received = createHash("sha256");
    let count = 0;
    for (let r; !(r = await readers[0].read()).done;) {
      assert.ok(r.value.byteLength <= 64 * 1024, `a ${r.value.byteLength}-byte chunk`);
      received.update(r.value);
      count += r.value.byteLength;
    }
    await sent;
    assert.equal(count, big.length);
    assert.equal(received.digest("hex"), createHash("sha256").update(big).digest("hex"));
    readers.forEach((r) => r.releaseLock());
  } finally {
    for (const [c, sc] of pairs) await Promise.all([c.close(), sc.close()]);
  }
});

/** A Node 20 (OpenSSL) TLS 1.2 client asking for OCSP: on "go" it sends one full 16 KiB record
 * of "a" and, right behind it, a renegotiation ClientHello; once renegotiated, "done". */
const RECORD_THEN_RENEGOTIATION = `
const tls = require("node:tls");
const fs = require("node:fs");
const [port, ca] = process.argv.slice(1);
const s = tls.connect({ host: "127.0.0.1", port: Number(port), ca: fs.readFileSync(ca),
  servername: "localhost", maxVersion: "TLSv1.2", requestOCSP: true }, () => console.log("connected"));
s.on("error", (e) => console.log("error: " + e.message));
s.on("data", () => {});
process.stdin.once("data", () => {
  s.write(Buffer.alloc(16384, 0x61));
  const ok = s.renegotiate({}, (e) => {
    console.log(e ? "renegotiation failed: " + e.message : "renegotiated");
    if (!e) s.write("done\\n");
  });
  if (!ok) console.log("renegotiate refused");
});
`;

/** The content types of the TLS records `b` holds, or null unless it ends on a record boundary. */
function recordTypes(b: Uint8Array): number[] | null {
  const types: number[] = [];
  let off = 0;
  while (off + 5 <= b.length) {
    types.push(b[off]);
    off += 5 + ((b[off + 3] << 8) | b[off + 4]);
  }
  return off === b.length ? types : null;
}

/**
 * A TCP relay to `port`. After `hold()` it keeps what the client sends until that ends with a
 * whole handshake record, then passes it all on in one write: the server's transport gets the
 * records in one read, whatever the sender's segments and timing.
 */
async function holdingRelay(port: number) {
  let holding = false;
  let held: Uint8Array[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const sockets: Socket[] = [];
  const relay = createServer((down) => {
    const up = netConnect(port, "127.0.0.1");
    sockets.push(down, up);
    up.on("data", (d) => down.write(d));
    up.on("error", () => down.destroy());
    down.on("error", () => up.destroy());
    down.on("data", (d) => {
      if (!holding) return void up.write(d);
      held.push(d);
      const all = concatBytes(held);
      if (recordTypes(all)?.at(-1) !== 22) return;
      holding = false;
      held = [];
      up.write(all, () => release());
    });
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  return {
    port: (relay.address() as { port: number }).port,
    hold: (): Promise<void> => {
      holding = true;
      return released;
    },
    close: () => {
      for (const sock of sockets) sock.destroy();
      relay.close();
    },
  };
}

test(
  "Web Streams: a default reader read inside a user callback gets its own buffer",
  {
    skip: BACKEND === "openssl" ? false : "mbedTLS 2.28 has no OCSP callback to run inside a read",
  },
  async () => {
    // Default-reader chunks decrypt into one buffer shared by every connection. A user
    // callback can run inside the engine's read: here the OCSP provider, during a TLS 1.2
    // renegotiation whose ClientHello follows a full 16 KiB record in one transport read, so
    // it runs while that record waits in the shared buffer. A default read of another
    // connection made there must not decrypt into the same buffer.
    let armed = false;
    const nested: { read?: Promise<ReadableStreamReadResult<Uint8Array>> } = {};
    let readerB: ReadableStreamDefaultReader<Uint8Array> | null = null;
    using s = server({
      maxVersion: "TLS1.2",
      renegotiation: true,
      ocspResponse: () => {
        if (armed) {
          armed = false;
          nested.read = readerB!.read();
        }
        return null;
      },
    });
    // B holds two records fed to its engine and not read yet: its next read decrypts at once.
    const [b, sb] = await pair(s, { maxVersion: "TLS1.2" });
    const relay = await holdingRelay(s.addr.port);
    const node = startPeer("node", [
      "-e",
      RECORD_THEN_RENEGOTIATION,
      String(relay.port),
      p.ca.certFile,
    ]);
    let a: TlsConn | null = null;
    try {
      for (let i = 0; i < 3; i++) await sb.write(new Uint8Array(1024).fill(0x62));
      readerB = b.readable.getReader();
      assert.equal((await readerB.read()).value!.byteLength, 1024);
      await node.waitFor(/connected/);
      a = await s.accept();
      const readerA = a.readable.getReader();
      const released = relay.hold();
      node.write("go\n");
      await released; // the record and the ClientHello wait in A's socket
      armed = true;
      const first = (await readerA.read()).value!;
      assert.ok(nested.read, "the OCSP callback ran during A's read");
      assert.equal(first.byteLength, 16384);
      assert.ok(first.every((x) => x === 0x61), "A's record was overwritten");
      const fromB = (await nested.read).value!;
      assert.equal(fromB.byteLength, 1024);
      assert.ok(fromB.every((x) => x === 0x62));
      // The renegotiation completes and data flows on.
      assert.equal(dec((await readerA.read()).value!), "done\n");
      await node.waitFor(/renegotiated/);
      readerA.releaseLock();
      readerB.releaseLock();
    } finally {
      await node.stop();
      relay.close();
      await Promise.all([a?.close(), b.close(), sb.close()]);
    }
  },
);

test("64 MiB through an echo arrive intact (SHA-256)", async () => {
  using s = server();
  const [c, sc] = await pair(s);
  const echo = (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await sc.read(buf);
      if (n === null) break;
      await sc.write(buf.subarray(0, n));
    }
    await sc.closeWrite();
  })();
  const total = 64 * 1024 * 1024;
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  const sent = createHash("sha256");
  const writer = (async () => {
    for (let off = 0; off < total; off += chunk.length) {
      chunk[0] = off / chunk.length; // vary content per chunk
      sent.update(chunk);
      await c.write(chunk);
    }
    await c.closeWrite();
  })();
  const received = createHash("sha256");
  let count = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    received.update(buf.subarray(0, n));
    count += n;
  }
  await Promise.all([writer, echo]);
  assert.equal(count, total);
  assert.equal(received.digest("hex"), sent.digest("hex"));
  await c.close();
  await sc.close();
});

test("half-close: closeWrite ends the peer's reads, replies still arrive", async () => {
  using s = server();
  const [c, sc] = await pair(s);
  await c.write(enc("request"));
  await c.closeWrite();
  assert.equal(dec(await readAll(sc)), "request");
  await sc.write(enc("response after EOF"));
  await sc.close();
  assert.equal(dec(await readAll(c)), "response after EOF");
  assert.equal(await c.read(new Uint8Array(1)), null); // stays at EOF
  await c.close();
  await assert.rejects(c.write(enc("x")), { name: "TlsError", code: "CLOSED" });
});

test("Unix socket transport", { skip: process.platform === "win32" }, async () => {
  const path = join(tempDir(), "tls.sock");
  using s = listen({
    path,
    transport: "unix",
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
  });
  const [c, sc] = await Promise.all([
    connect({
      path,
      transport: "unix",
      serverName: "localhost",
      caCerts: [p.ca.cert],
      backend: BACKEND,
    }),
    s.accept(),
  ]);
  await c.write(enc("over unix"));
  assert.equal(dec(await readExactly(sc, 9)), "over unix");
  assert.equal(s.addr.transport, "unix");
  for (const a of [c.localAddr, c.remoteAddr, sc.localAddr, sc.remoteAddr]) {
    assert.equal(a.transport, "unix");
  }
  assert.equal(c.remoteAddr.path, path);
  await c.close();
  await sc.close();
});

/**
 * Writes `chunk` to `conn` until one write stalls, its peer reading nothing: a
 * write not done within a second (a bounded wait tells a stalled write from a
 * slow one). Returns the bytes written before it and the stalled write, or
 * null for it once `limit` bytes went through without a stall.
 */
async function writeUntilStalled(
  conn: TlsConn,
  chunk: Uint8Array,
  limit: number,
): Promise<{ written: number; stalled: Promise<number> | null }> {
  let written = 0;
  while (written < limit) {
    const w = conn.write(chunk);
    const done = await Promise.race([
      w.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 1000)),
    ]);
    if (!done) return { written, stalled: w };
    written += chunk.length;
  }
  return { written, stalled: null };
}

test("a slow reader does not make the writer buffer without bound", async () => {
  using s = server();
  const [c, sc] = await pair(s);
  // The client reads nothing, so the server's writes must stall once the socket buffers are full.
  const { written, stalled } = await writeUntilStalled(sc, new Uint8Array(64 * 1024), 256 << 20);
  assert.ok(stalled, "writes never stalled: something buffers without bound");
  stalled.catch(() => {});
  assert.ok(written > 0);
  await c.close();
  await sc.close();
});

test("close() gives up on a peer that stopped reading: the stuck write rejects with CLOSED", {
  timeout: 30_000,
}, async () => {
  using s = server();
  const [c, sc] = await pair(s);
  const { stalled } = await writeUntilStalled(sc, new Uint8Array(256 * 1024), 256 << 20);
  assert.ok(stalled, "no write ever stalled");
  const outcome = stalled.then(() => "sent", (e) => e);
  await sc.close(); // waits out its grace period (5 s), then closes anyway
  const e = await outcome;
  assert.ok(e instanceof TlsError && e.code === "CLOSED", `the stuck write: ${e}`);
  await c.close();
});

test("close() lets the write in progress finish before close_notify; later writes fail CLOSED", {
  timeout: 30_000,
}, async () => {
  using s = server();
  const [c, sc] = await pair(s);
  // More than the socket buffers hold while the server does not read: still writing at close().
  const big = new Uint8Array(16 << 20).fill(7);
  const writing = c.write(big);
  const closing = c.close();
  const later = c.write(new Uint8Array(1)); // queued behind the big write, after close()
  let got = 0;
  const buf = new Uint8Array(256 * 1024);
  for (let n; (n = await sc.read(buf)) !== null;) got += n;
  assert.equal(await writing, big.length);
  assert.equal(got, big.length);
  await assert.rejects(later, { name: "TlsError", code: "CLOSED" });
  await closing;
  await sc.close();
});

test("close() with the peer's bytes unread still delivers everything it wrote (FIN, not RST)", async () => {
  // Closing a socket with unread bytes in it (here the server's message and, in TLS 1.3,
  // its session tickets) makes the kernel send RST, and the server's kernel then drops
  // what the server has not read yet: before lingering, 48 KiB of 1 MiB arrived.
  using s = server();
  const [c, sc] = await pair(s);
  await sc.write(enc("never read"));
  const big = new Uint8Array(1 << 20).fill(7);
  await c.write(big);
  await c.close();
  assert.equal((await readAll(sc)).length, big.length); // read only now, after the close
  await sc.close();
});

test("a closed connection keeps reading until the peer ends, then lets go anyway", {
  timeout: 30_000,
}, async () => {
  using s = server();
  const [c, sc] = await pair(s);
  await c.close();
  // The server never ends its side and keeps writing: the client's socket drops what
  // arrives (a socket buffer holds far less) and closes after its linger time, which
  // fails the server's writes.
  let written = 0;
  const chunk = new Uint8Array(1024);
  const e = await (async () => {
    try {
      for (;;) written += await sc.write(chunk);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(e instanceof TlsError && e.code === "CLOSED", `the server's write: ${e}`);
  assert.ok(written > 8 << 20, `only ${written} bytes were taken before the client let go`);
  await sc.close();
});

test("close() ends a read still pending at once, though the peer neither writes nor ends", {
  timeout: 4_000, // below the 5 s linger, which used to end such a read on Deno
}, async () => {
  // TLS 1.2: no session tickets arrive after the handshake to wake the read.
  using s = server({ maxVersion: "TLS1.2" });
  const [c, sc] = await pair(s);
  const pending = c.read(new Uint8Array(16));
  await c.close();
  assert.equal(await pending, null);
  await sc.close();
});

/**
 * A jsec server over node:net, so that a test can then act on the raw socket: `then`
 * runs after each handshake. Resolves to a function that connects a client to it, and a stop function.
 */
async function rawSocketServer(
  then: (raw: Socket, conn: TlsConn) => void | Promise<void>,
): Promise<{ connect: () => Promise<TlsConn>; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer(async (raw) => {
    sockets.add(raw);
    raw.on("error", () => {});
    const opts = { server: true, cert: p.server.cert, key: p.server.key, backend: BACKEND };
    then(raw, await wrap(duplexFromSocket(raw), opts));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  return {
    connect: () => connect({ hostname: "localhost", port, caCerts: [p.ca.cert], backend: BACKEND }),
    stop: () => {
      for (const raw of sockets) raw.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

test("a connection the peer resets fails reads, closeWrite and keyUpdate with CLOSED, not a clean end", async () => {
  // The peer sends data, then RST without close_notify: the reads once ended with null,
  // as if it had closed cleanly, after whatever had arrived.
  const r = await rawSocketServer((raw, conn) => {
    void conn.write(new Uint8Array(1 << 20)).catch(() => {}).finally(() => raw.resetAndDestroy());
  });
  const c = await r.connect();
  try {
    const closed = (e: unknown) => e instanceof TlsError && e.code === "CLOSED";
    await assert.rejects(readAll(c), closed);
    if (HAS_TLS13) await assert.rejects(c.keyUpdate(), closed);
    await assert.rejects(c.closeWrite(), closed); // its close_notify cannot leave
  } finally {
    await c.close();
    await r.stop();
  }
});

test("a bad record fails the read at once while a write is stuck on a peer that stopped reading", {
  timeout: 30_000,
}, async () => {
  // The error used to wait for our alert, queued behind the stuck write: forever.
  const r = await rawSocketServer(async (raw, conn) => {
    await readExactly(conn, 1); // the client's handshake is done (TLS 1.2 ends with the server)
    raw.pause(); // reads nothing more: our writes fill the socket buffers and stall
    raw.write(new Uint8Array([23, 3, 3, 0, 32, ...new Uint8Array(32).fill(0x5a)])); // not decryptable
  });
  const c = await r.connect();
  try {
    await c.write(enc("!"));
    const { stalled } = await writeUntilStalled(c, new Uint8Array(256 * 1024), 256 << 20);
    assert.ok(stalled, "no write ever stalled");
    const outcome = stalled.then(() => "sent", (e) => e);
    await assert.rejects(c.read(new Uint8Array(1024)), { name: "TlsError", code: "PROTOCOL" });
    const e = await outcome; // the connection is dead: the stuck write fails too
    assert.ok(e instanceof TlsError && e.code === "CLOSED", `the stuck write: ${e}`);
  } finally {
    await c.close();
    await r.stop();
  }
});

test(
  "reads made while one waits run one at a time in call order; behind a failed one they fail CLOSED",
  {
    timeout: 10_000, // reads that ran at once would wait on one transport read: one of them forever
  },
  async () => {
    using s = server();
    const [c, sc] = await pair(s);
    try {
      const order: number[] = [];
      const bufs = [0, 1, 2].map(() => new Uint8Array(4));
      const reads = bufs.map((b, i) => sc.read(b).then((n) => (order.push(i), n)));
      for (const m of ["aaaa", "bbbb", "cccc"]) await c.write(enc(m));
      assert.deepEqual(await Promise.all(reads), [4, 4, 4]);
      assert.deepEqual(bufs.map(dec), ["aaaa", "bbbb", "cccc"]);
      assert.deepEqual(order, [0, 1, 2]);
      // With none waiting, reads of records already here finish in call order too.
      await c.write(enc("ddddeeee"));
      assert.equal(dec(await readExactly(sc, 2)), "dd");
      const more = [sc.read(bufs[0]), sc.read(bufs[1])];
      assert.deepEqual(await Promise.all(more), [4, 2]);
      assert.equal(dec(bufs[0]) + dec(bufs[1].subarray(0, 2)), "ddeeee");
    } finally {
      await c.close();
      await sc.close();
    }

    const r = await rawSocketServer(async (raw, conn) => {
      await readExactly(conn, 1); // sent once the client's reads wait
      raw.write(new Uint8Array([23, 3, 3, 0, 32, ...new Uint8Array(32).fill(0x5a)])); // not decryptable
    });
    const c2 = await r.connect();
    try {
      const settled: string[] = [];
      const reads = [0, 1, 2].map((i) =>
        c2.read(new Uint8Array(16)).then(
          (n) => settled.push(`${i}: ${n}`),
          (e) => settled.push(`${i}: ${e.code}`),
        )
      );
      await c2.write(enc("!"));
      await Promise.all(reads);
      assert.deepEqual(settled, ["0: PROTOCOL", "1: CLOSED", "2: CLOSED"]);
    } finally {
      await c2.close();
      await r.stop();
    }
  },
);

/** serve() on loopback with the test PKI's localhost certificate; handler errors go to `errors`. */
function localServe(handler: ServeOptions["handler"], errors: unknown[]): TlsServer {
  return serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
    onError: (e) => errors.push(e),
    handler,
  });
}

test("serve(): handlers run concurrently, one failing handler does not stop the others", async () => {
  const errors: unknown[] = [];
  const server = localServe(async (conn) => {
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    const msg = dec(buf.subarray(0, n ?? 0));
    if (msg === "boom") throw new Error("handler failed");
    await conn.write(enc(msg.toUpperCase()));
  }, errors);
  try {
    const clients = await Promise.all(
      ["one", "boom", "two"].map((m) =>
        connect({
          hostname: "localhost",
          port: server.addr.port,
          caCerts: [p.ca.cert],
          backend: BACKEND,
        }).then(
          async (c) => {
            await c.write(enc(m));
            const reply = dec(await readAll(c));
            await c.close();
            return reply;
          },
        )
      ),
    );
    assert.deepEqual(clients, ["ONE", "", "TWO"]);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /handler failed/);
  } finally {
    await server.shutdown();
  }
});

test(
  "serve(): shutdown({ timeout }) closes the connections of handlers still waiting on their peer",
  {
    timeout: 10_000, // without the timeout option the shutdown would wait for the client forever
  },
  async () => {
    const errors: unknown[] = [];
    const server = localServe(async (conn) => {
      const buf = new Uint8Array(16);
      for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
    }, errors);
    const c = await connect({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    try {
      await c.write(enc("hi"));
      assert.equal(dec(await readExactly(c, 2)), "hi"); // the handler is running; the client stays
      await assert.rejects(server.shutdown({ timeout: -1 }), (e: unknown) => {
        assert.ok(e instanceof TlsError && e.code === "INVALID_OPTION", String(e));
        assert.match(e.message, /timeout.*-1/);
        return true;
      });
      await c.write(enc("on")); // a refused shutdown changed nothing
      assert.equal(dec(await readExactly(c, 2)), "on");
      await server.shutdown({ timeout: 0 });
      assert.equal(await c.read(new Uint8Array(16)), null); // the server's close_notify
      assert.deepEqual(errors, []); // the handler's read ended with null: no error
    } finally {
      await c.close();
    }
  },
);

test("listener: close() ends iteration; accept() then rejects with CLOSED", async () => {
  const s = server();
  const seen: TlsConn[] = [];
  let first!: () => void;
  const gotFirst = new Promise<void>((r) => (first = r));
  const loop = (async () => {
    for await (const conn of s) {
      seen.push(conn);
      first();
    }
  })();
  const c = await connect({
    hostname: "localhost",
    port: s.addr.port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
  });
  await c.write(enc("x"));
  await gotFirst;
  s.close();
  await loop;
  await assert.rejects(s.accept(), { code: "CLOSED" });
  await c.close();
  for (const conn of seen) await conn.close();
});
