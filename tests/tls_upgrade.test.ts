// STARTTLS with upgrade() over a Duplex and over the runtime's own socket,
// TLS over in-memory streams with wrap(), and the sans-IO engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import {
  createContext,
  createEngine,
  type Duplex,
  type EngineCreateOptions,
  type TlsConn,
  type TlsEngine,
  TlsError,
  upgrade,
  wrap,
  type WrapOptions,
} from "../mod.ts";
import { duplexFromSocket } from "./net_duplex.ts";
import {
  BACKEND,
  dec,
  enc,
  forceGc,
  handshakeEngines,
  HAS_TLS13,
  pki,
  readAll,
  readExactly,
  readUntil,
  RUNTIME,
} from "./helpers.ts";

const p = pki();

/** A toy SMTP server: greets, answers STARTTLS, then echoes one line over TLS. */
async function smtpServer(): Promise<{ port: number; server: Server; echoed: Promise<string> }> {
  let done!: (s: string) => void;
  const echoed = new Promise<string>((r) => (done = r));
  const server = createServer(async (sock) => {
    const plain = duplexFromSocket(sock);
    const w = plain.writable.getWriter();
    const r = plain.readable.getReader();
    try {
      await w.write(enc("220 ready\r\n"));
      const { value } = await r.read();
      assert.equal(dec(value!), "STARTTLS\r\n");
      await w.write(enc("220 go ahead\r\n"));
      w.releaseLock();
      r.releaseLock();
      const tls = await wrap(plain, {
        server: true,
        cert: p.server.cert,
        key: p.server.key,
        backend: BACKEND,
      });
      const line = await readUntil(tls, "\n");
      await tls.write(enc(`echo: ${line}`));
      done(line);
      await tls.close();
    } catch (e) {
      done(`error: ${e}`);
      sock.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, server, echoed };
}

test("upgrade(): STARTTLS over a Duplex", async () => {
  const { port, server, echoed } = await smtpServer();
  const { connect: netConnect } = await import("node:net");
  const sock = netConnect(port, "127.0.0.1");
  try {
    const plain = duplexFromSocket(sock);
    const r = plain.readable.getReader();
    const w = plain.writable.getWriter();
    assert.equal(dec((await r.read()).value!), "220 ready\r\n");
    await w.write(enc("STARTTLS\r\n"));
    assert.equal(dec((await r.read()).value!), "220 go ahead\r\n");
    r.releaseLock();
    w.releaseLock();
    const tls = await upgrade(plain, {
      serverName: "localhost",
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    await tls.write(enc("secret\n"));
    assert.equal(await readUntil(tls, "\n"), "echo: secret\n");
    assert.equal(await echoed, "secret\n");
    await tls.close();
  } finally {
    sock.destroy();
    await new Promise((r) => server.close(r));
  }
});

test("upgrade(): STARTTLS over the runtime's own socket (Deno.Conn / Bun socket)", async () => {
  const { port, server, echoed } = await smtpServer();
  // deno-lint-ignore no-explicit-any
  const g = globalThis as Record<string, any>;
  try {
    let plain: unknown;
    if (RUNTIME === "deno") {
      const conn = await g.Deno.connect({ hostname: "127.0.0.1", port });
      const buf = new Uint8Array(64);
      const n1 = await conn.read(buf);
      assert.equal(dec(buf.subarray(0, n1)), "220 ready\r\n");
      await conn.write(enc("STARTTLS\r\n"));
      const n2 = await conn.read(buf);
      assert.equal(dec(buf.subarray(0, n2)), "220 go ahead\r\n");
      plain = conn;
    } else {
      const lines: string[] = [];
      let wake: () => void = () => {};
      const next = async () => {
        while (!lines.length) await new Promise<void>((r) => (wake = r));
        return lines.shift()!;
      };
      const sock = await g.Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          data(_s: unknown, d: Uint8Array) {
            lines.push(dec(d));
            wake();
          },
          error() {},
          close() {},
        },
      });
      assert.equal(await next(), "220 ready\r\n");
      sock.write("STARTTLS\r\n");
      assert.equal(await next(), "220 go ahead\r\n");
      plain = sock;
    }
    const tls = await upgrade(plain, {
      serverName: "localhost",
      caCerts: [p.ca.cert],
      backend: BACKEND,
    });
    await tls.write(enc("native\n"));
    assert.equal(await readUntil(tls, "\n"), "echo: native\n");
    assert.equal(await echoed, "native\n");
    await tls.close();
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("upgrade() of something that is not a stream is a TypeError", async () => {
  await assert.rejects(upgrade({} as never, { serverName: "x" }), TypeError);
});

/**
 * Two Duplexes joined back to back, like a socket pair. Like a socket they
 * buffer a little (16 chunks each way): a write resolves when the chunk is
 * queued, not when the other side has read it.
 */
function memoryPair(): [Duplex, Duplex] {
  const pipe = () => new TransformStream<Uint8Array, Uint8Array>({}, { highWaterMark: 16 });
  const a = pipe();
  const b = pipe();
  return [{ readable: a.readable, writable: b.writable }, {
    readable: b.readable,
    writable: a.writable,
  }];
}

/** A TLS server context with the test PKI's localhost certificate. */
function serverContext() {
  return createContext({ server: true, cert: p.server.cert, key: p.server.key, backend: BACKEND });
}

/** `d` as a TLS server with the test PKI's localhost certificate. */
function wrapServer(d: Duplex): Promise<TlsConn> {
  return wrap(d, { server: true, cert: p.server.cert, key: p.server.key, backend: BACKEND });
}

/** `d` as a TLS client of "localhost", trusting the test CA. */
function wrapClient(d: Duplex): Promise<TlsConn> {
  return wrap(d, { serverName: "localhost", caCerts: [p.ca.cert], backend: BACKEND });
}

/** A client and a server connection wrapped around the two ends of a memory pair. */
async function wrappedPair(): Promise<[TlsConn, TlsConn]> {
  const [x, y] = memoryPair();
  const server = wrapServer(y);
  return [await wrapClient(x), await server];
}

/** A memory pair that counts the chunks each end writes (one per transport write). */
function countingPair(): { ends: [Duplex, Duplex]; writes: { client: number; server: number } } {
  const [x, y] = memoryPair();
  const writes = { client: 0, server: 0 };
  const counted = (d: Duplex, who: "client" | "server"): Duplex => {
    const w = d.writable.getWriter();
    return {
      readable: d.readable,
      writable: new WritableStream({
        write(chunk) {
          writes[who]++;
          return w.write(chunk);
        },
        close: () => w.close(),
      }),
    };
  };
  return { ends: [counted(x, "client"), counted(y, "server")], writes };
}

/** Handshake over a counting pair, then one byte each way; the chunks each end wrote. */
async function exchangeOnce(
  client: Record<string, unknown>,
  server: Record<string, unknown>,
): Promise<{ client: number; server: number; session: Uint8Array | null; reused: boolean }> {
  const { ends: [x, y], writes } = countingPair();
  const serverConn = wrap(y, { server: true, backend: BACKEND, ...server } as WrapOptions);
  const c = await wrap(x, { serverName: "localhost", backend: BACKEND, ...client } as WrapOptions);
  await c.write(enc("?"));
  const s = await serverConn;
  assert.equal(dec(await readExactly(s, 1)), "?");
  await s.write(enc("!"));
  assert.equal(dec(await readExactly(c, 1)), "!");
  const result = { ...writes, session: c.exportSession(), reused: c.info.sessionReused };
  await c.close();
  await s.close();
  return result;
}

test("the handshake's last flight leaves with the first write (TLS 1.3; TLS 1.2 resumed)", async () => {
  using ctx = serverContext();
  const client = { caCerts: [p.ca.cert] };
  if (HAS_TLS13) {
    // Client: ClientHello, then Finished with "?". Server: its flight, then tickets with "!".
    const t13 = await exchangeOnce(client, { context: ctx });
    assert.deepEqual([t13.client, t13.server], [2, 2]);
  }
  const tls12 = { ...client, maxVersion: "TLS1.2" };
  const full = await exchangeOnce(tls12, { context: ctx });
  assert.ok(full.session);
  // Resumed: ClientHello, then ChangeCipherSpec + Finished with "?"; the server's
  // flight, then "!".
  const resumed = await exchangeOnce({ ...tls12, session: full.session }, { context: ctx });
  assert.equal(resumed.reused, true);
  assert.deepEqual([resumed.client, resumed.server], [2, 2]);
});

test("a server context makes a server without server: true; a contradicting server flag is refused", async () => {
  using sctx = serverContext();
  using cctx = createContext({ caCerts: [p.ca.cert], backend: BACKEND });
  // createEngine: the side comes from the context; two clients could never complete a handshake.
  {
    using s = createEngine({ context: sctx });
    using c = createEngine({ context: cctx, serverName: "localhost" });
    assert.equal(handshakeEngines(c, s), true);
  }
  // wrap: the same inference picks serverOver.
  const [x, y] = memoryPair();
  const serverConn = wrap(y, { context: sctx });
  const c = await wrap(x, { context: cctx, serverName: "localhost" });
  const s = await serverConn;
  await c.write(enc("?"));
  assert.equal(dec(await readExactly(s, 1)), "?");
  await c.close();
  await s.close();
  // An explicit side that contradicts the context still fails, naming the option.
  for (const bad of [{ context: sctx, server: false }, { context: cctx, server: true }]) {
    assert.throws(
      () => createEngine(bad as Record<string, unknown>),
      (e: unknown) =>
        e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === "context",
    );
  }
  await assert.rejects(
    wrap(memoryPair()[0], { context: sctx, server: false } as WrapOptions),
    (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === "context",
  );
  // A DTLS context makes a DTLS engine unless `datagram: false` contradicts it.
  using dctx = createContext({ datagram: true, caCerts: [p.ca.cert], backend: BACKEND });
  createEngine({ context: dctx }).free();
  assert.throws(
    () => createEngine({ context: dctx, datagram: false }),
    (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION" && e.option === "context",
  );
});

test("wrap() servers built from the same options share a context: a session from one resumes on the next", async () => {
  const server = { cert: p.server.cert, key: p.server.key };
  for (const version of HAS_TLS13 ? ["TLS1.2", "TLS1.3"] : ["TLS1.2"]) {
    const client = { caCerts: [p.ca.cert], maxVersion: version };
    const first = await exchangeOnce(client, server);
    assert.ok(first.session, version);
    const second = await exchangeOnce({ ...client, session: first.session }, server);
    assert.equal(second.reused, true, version);
  }
});

test("more option sets than the shared contexts kept: connections outlive their context's eviction", async () => {
  // Each pair has its own ALPN, so its own client and server context; the cache keeps 16.
  const pairs = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
    const [x, y] = memoryPair();
    const alpnProtocols = [`p${i}`];
    const serverConn = wrap(y, {
      server: true,
      cert: p.server.cert,
      key: p.server.key,
      alpnProtocols,
      backend: BACKEND,
    });
    const c = await wrap(x, {
      serverName: "localhost",
      caCerts: [p.ca.cert],
      alpnProtocols,
      backend: BACKEND,
    });
    return { c, s: await serverConn, i };
  }));
  forceGc();
  for (const { c, s, i } of pairs) {
    assert.equal(c.info.alpnProtocol, `p${i}`);
    await c.write(enc(`m${i}`));
    assert.equal(dec(await readExactly(s, `m${i}`.length)), `m${i}`);
    await s.write(enc("ok"));
    assert.equal(dec(await readExactly(c, 2)), "ok");
  }
  for (const { c, s } of pairs) {
    await c.close();
    await s.close();
  }
});

test("a client that neither reads nor writes still completes the server's handshake", async () => {
  // The client's Finished waits for a write that never comes; it leaves on its own.
  const [c, s] = await wrappedPair();
  assert.equal(s.info.protocol, c.info.protocol);
  await s.write(enc("hello"));
  assert.equal(dec(await readExactly(c, 5)), "hello");
  await c.close();
  await s.close();
});

test("wrap(): TLS over an in-memory pair, both ends jsec", async () => {
  const [x, y] = memoryPair();
  const [client, server] = await Promise.all([
    wrap(x, {
      serverName: "localhost",
      caCerts: [p.ca.cert],
      alpnProtocols: ["mem"],
      backend: BACKEND,
    }),
    wrap(y, {
      server: true,
      cert: p.server.cert,
      key: p.server.key,
      alpnProtocols: ["mem"],
      backend: BACKEND,
    }),
  ]);
  assert.equal(client.info.alpnProtocol, "mem");
  await client.write(enc("in memory"));
  assert.equal(dec(await readExactly(server, 9)), "in memory");
  await server.write(enc("back"));
  assert.equal(dec(await readExactly(client, 4)), "back");
  await client.close();
  assert.equal(await server.read(new Uint8Array(4)), null);
  await server.close();
});

test("createEngine(): a sans-IO handshake and round trip with no I/O at all", () => {
  using client = createEngine({ serverName: "localhost", caCerts: [p.ca.cert], backend: BACKEND });
  using server = createEngine({
    server: true,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
  });
  const pump = () => {
    let moved = false;
    for (let d; (d = client.pull());) {
      server.feed(d);
      moved = true;
    }
    for (let d; (d = server.pull());) {
      client.feed(d);
      moved = true;
    }
    return moved;
  };
  for (let i = 0; i < 20; i++) {
    const states = [client.handshake(), server.handshake()]; // advance both every round
    pump();
    if (states[0] === "done" && states[1] === "done") break;
  }
  assert.equal(client.handshakeDone, true);
  assert.equal(server.handshakeDone, true);
  assert.equal(client.info().protocol, HAS_TLS13 ? "TLSv1.3" : "TLSv1.2");
  client.write(enc("sans-io"));
  pump();
  const buf = new Uint8Array(16);
  const n = server.read(buf);
  assert.equal(dec(buf.subarray(0, n!)), "sans-io");
  assert.equal(server.read(buf), 0); // nothing more until more ciphertext arrives
  client.shutdown();
  pump();
  assert.equal(server.read(buf), null); // close_notify
});

test("createEngine(): a read may finish the handshake; handshake() then reports done", () => {
  // TLS 1.3 leaves the server's handshake to finish last, TLS 1.2 the client's: either way
  // the last end gets its peer's final flight through read() instead of handshake().
  for (const maxVersion of BACKEND === "openssl" ? ["TLS1.3", "TLS1.2"] : ["TLS1.2"]) {
    using client = createEngine({
      serverName: "localhost",
      caCerts: [p.ca.cert],
      maxVersion,
      backend: BACKEND,
    } as EngineCreateOptions);
    using server = createEngine({
      server: true,
      cert: p.server.cert,
      key: p.server.key,
      backend: BACKEND,
    });
    const pump = (from: TlsEngine, to: TlsEngine) => {
      for (let d; (d = from.pull());) to.feed(d);
    };
    assert.equal(server.handshake(), "want-read"); // nothing fed yet
    let last: TlsEngine | null = null;
    for (let i = 0; i < 20 && !last; i++) {
      for (const [me, peer] of [[client, server], [server, client]]) {
        const state = me.handshake();
        pump(me, peer);
        if (state === "done") {
          last = peer;
          break;
        }
      }
    }
    assert.ok(last && !last.handshakeDone, maxVersion);
    const buf = new Uint8Array(16);
    assert.equal(last.read(buf), 0); // the final flight: no data yet
    assert.equal(last.handshake(), "done", maxVersion);
    pump(last, last === client ? server : client);
    assert.equal(client.handshakeDone && server.handshakeDone, true);
    client.write(enc("after"));
    pump(client, server);
    assert.equal(dec(buf.subarray(0, server.read(buf)!)), "after", maxVersion);
  }
});

test("createEngine(): the engine refuses use after free with CLOSED", () => {
  const e = createEngine({ serverName: "localhost", caCerts: [p.ca.cert], backend: BACKEND });
  e.free();
  e.free(); // idempotent
  assert.throws(
    () => e.handshake(),
    (err: unknown) => err instanceof TlsError && err.code === "CLOSED",
  );
});

test("a read whose buffer is detached while it waits rejects with a TypeError, not a wait forever", async () => {
  const [c, s] = await wrappedPair();
  const buf = new Uint8Array(16);
  const pending = s.read(buf);
  buf.buffer.transfer();
  await c.write(enc("abc"));
  await assert.rejects(pending, TypeError);
  // The bytes stay for the next read.
  assert.equal(dec(await readExactly(s, 3)), "abc");
  await c.close();
  await s.close();
});

test("a write whose buffer is detached while it is queued rejects with a TypeError, never a silent 0", async () => {
  const [c, s] = await wrappedPair();
  const first = c.write(new Uint8Array(1024).fill(1));
  const queued = new Uint8Array(1024);
  const second = c.write(queued);
  queued.buffer.transfer();
  assert.equal(await first, 1024);
  await assert.rejects(second, TypeError);
  // Detached before the call: a TypeError at once, for reads and writes alike.
  await assert.rejects(c.write(queued), TypeError);
  await assert.rejects(s.read(queued), TypeError);
  assert.equal((await readExactly(s, 1024)).length, 1024);
  await c.close();
  await s.close();
});

test("handshakeTimeout over a duplex whose writes never complete still fails with TIMEOUT", {
  timeout: 10_000,
}, async () => {
  // The peer neither answers nor takes data: every sink write hangs, nothing is ever readable.
  const stuck = (): Duplex => ({
    readable: new ReadableStream<Uint8Array>(),
    // highWaterMark 0: even the first write waits for room (`ready`) that never comes.
    writable: new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) }, {
      highWaterMark: 0,
    }),
  });
  for (const server of [false, true]) {
    const options = server
      ? { server: true as const, cert: p.server.cert, key: p.server.key }
      : { serverName: "localhost", caCerts: [p.ca.cert] };
    await assert.rejects(
      wrap(stuck(), { ...options, backend: BACKEND, handshakeTimeout: 100 } as WrapOptions),
      (e: unknown) => e instanceof TlsError && e.code === "TIMEOUT",
    );
  }
});

test("a Duplex whose source fails ends the handshake with TlsError CLOSED, its error as cause", async () => {
  const d = {
    readable: new ReadableStream<Uint8Array>({
      start: (ctl) => ctl.error(new Error("source failed")),
    }),
    writable: new WritableStream<Uint8Array>(),
  };
  await assert.rejects(
    wrapClient(d),
    (e: unknown) =>
      e instanceof TlsError && e.code === "CLOSED" && /source failed/.test(String(e.cause)),
  );
});

/**
 * A memory pair whose client end's sink (writes) and source (reads) can be made to
 * fail: the server already wrapped on the other end, `connect()` wraps the client.
 */
function failingPair() {
  const [x, y] = memoryPair();
  const toServer = x.writable.getWriter();
  const fromServer = x.readable.getReader();
  const state = { sinkFails: false, failSource: (_e: unknown) => {} };
  const end: Duplex = {
    readable: new ReadableStream<Uint8Array>({
      start: (ctl) => void (state.failSource = (e) => ctl.error(e)),
      async pull(ctl) {
        const r = await fromServer.read();
        if (r.done) ctl.close();
        else ctl.enqueue(r.value);
      },
    }),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        if (state.sinkFails) throw new Error("sink failed");
        return toServer.write(chunk);
      },
    }),
  };
  const server = wrapServer(y);
  const connect = () => wrapClient(end);
  return { server, connect, state, toServer };
}

const failedWith = (cause: RegExp) => (e: unknown) =>
  e instanceof TlsError && e.code === "CLOSED" && cause.test(String(e.cause));

test("after the handshake a Duplex's failed sink fails writes, then reads, with TlsError CLOSED", async () => {
  const { server, connect, state, toServer } = failingPair();
  const c = await connect();
  const sc = await server;
  try {
    const reading = c.read(new Uint8Array(16)); // waits: the server sends nothing
    state.sinkFails = true;
    // A write resolves once its chunk is queued, so the failure shows on the next one.
    const e = await (async () => {
      for (let i = 0; i < 3; i++) await c.write(enc("x"));
    })().then(() => "every write succeeded", (e) => e);
    assert.ok(failedWith(/sink failed/)(e), `the write: ${e}`);
    // No answer can come to what was not sent: the waiting read ends as a reset socket's would.
    await assert.rejects(reading, failedWith(/sink failed/));
  } finally {
    await c.close();
    await sc.close(); // lingers, reading what the client sent, until the pair's end below
    await toServer.close(); // the client's end of the pair, which its failed sink never ended
  }
});

test("after the handshake a Duplex's failed source fails the read with TlsError CLOSED", async () => {
  const { server, connect, state, toServer } = failingPair();
  const c = await connect();
  const sc = await server;
  try {
    const reading = c.read(new Uint8Array(16));
    state.failSource(new Error("source failed"));
    await assert.rejects(reading, failedWith(/source failed/));
  } finally {
    await c.close();
    await sc.close();
    await toServer.close();
  }
});

test("a Duplex whose sink fails ends the handshake at once with TlsError CLOSED, no timeout needed", async () => {
  const { server, connect, state, toServer } = failingPair();
  state.sinkFails = true; // the ClientHello never leaves
  await assert.rejects(connect(), failedWith(/sink failed/));
  await toServer.close(); // the server reads end of stream: its handshake fails too
  await assert.rejects(server, { name: "TlsError" });
});

test("a client's close() over a memory pair lets the server finish: its writes are taken, its read ends", async () => {
  // Cancelling the client's readable at once used to error the server's writable: the
  // server's next write rejected with `undefined`.
  const [c, sc] = await wrappedPair();
  await c.close();
  for (let i = 0; i < 4; i++) assert.equal(await sc.write(enc("late")), 4);
  assert.equal(await sc.read(new Uint8Array(16)), null);
  await sc.close();
});

test("close() over a memory pair ends a read still pending at once, though the peer is silent", {
  timeout: 4_000, // below the 5 s linger, which used to end such a read
}, async () => {
  const [x, y] = memoryPair();
  const tls12 = { maxVersion: "TLS1.2" } as const; // no tickets to wake the read
  const server = wrap(y, {
    server: true,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
    ...tls12,
  });
  const c = await wrap(x, {
    serverName: "localhost",
    caCerts: [p.ca.cert],
    backend: BACKEND,
    ...tls12,
  });
  const sc = await server;
  const pending = c.read(new Uint8Array(16));
  await c.close();
  assert.equal(await pending, null);
  await sc.close();
});

test("closeWrite() over a memory pair does not wait for the peer to read our close_notify", async () => {
  // Request, half-close, response: closeWrite() once waited for the server to consume the
  // close_notify, while the server waited for us to read its tickets and answer: a deadlock.
  const [c, sc] = await wrappedPair();
  await c.write(enc("request"));
  await c.closeWrite();
  assert.equal(dec(await readExactly(sc, 7)), "request");
  await sc.write(enc("response"));
  await sc.close();
  assert.equal(dec(await readAll(c)), "response");
  await c.close();
});

test("a Duplex whose writable cannot half-close still reads the answer after closeWrite()", async () => {
  const [x, y] = memoryPair();
  const toServer = x.writable.getWriter();
  const client: Duplex = {
    readable: x.readable,
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => toServer.write(chunk),
      close() {
        throw new Error("half-close not supported");
      },
    }, { highWaterMark: 16 }), // buffers like the pair under it
  };
  const server = wrapServer(y);
  const c = await wrapClient(client);
  const sc = await server;
  await c.write(enc("request"));
  await c.closeWrite(); // close_notify leaves; the writable's close() then fails
  assert.equal(dec(await readAll(sc)), "request");
  await sc.write(new Uint8Array(50_000).fill(1));
  await sc.close();
  assert.equal((await readAll(c)).length, 50_000);
  await c.close();
});
