/**
 * One benchmark case in this process, both ends on loopback. Started by
 * bench.ts as `<runtime> bench/case.ts --case C --impl I [--key ecdsa|rsa]
 * [--backend B] --certs DIR [sizes]`; prints one line `RESULT {json}`.
 *
 * impl: jsec (this library), native (Deno.listenTls/connectTls or Bun.listen/connect
 * with tls), node (node:tls), raw (plain TCP of the runtime).
 */

import { Buffer } from "node:buffer";
import {
  type Any,
  argv,
  cpuMicros,
  g,
  gc,
  loadCerts,
  parseArgs,
  rss,
  RUNTIME,
  sleep,
} from "./common.ts";

const A = parseArgs(argv());
const CASE = String(A.case);
const IMPL = String(A.impl ?? "jsec");
const KEY = (A.key === "rsa" ? "rsa" : "ecdsa") as "ecdsa" | "rsa";
const BACKEND = typeof A.backend === "string" ? A.backend : undefined;
const certs = loadCerts(String(A.certs));
const leaf = certs[KEY];
const num = (k: string, d: number) => (A[k] !== undefined ? Number(A[k]) : d);
const MIB = 1024 * 1024;
const HOST = "127.0.0.1";

function result(value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log("RESULT " + JSON.stringify({ value, unit, ...extra }));
}

// ---------------------------------------------------------------------------
// Pull-style connections (jsec, Deno.*): read(p) / write(p) / close().

interface PConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<unknown>;
  close(): unknown;
}
interface PServer {
  port: number;
  accept(): Promise<PConn>;
  close(): void;
}
interface PullImpl {
  listen(): Promise<PServer>;
  connect(port: number, session?: Uint8Array | null): Promise<PConn>;
  /** Session after the first read (TLS 1.3 tickets come after the handshake). */
  session?(c: PConn): Uint8Array | null;
  reused?(c: PConn): boolean;
}

async function jsecImpl(): Promise<PullImpl> {
  const jsec = await import("../mod.ts");
  const common: Record<string, unknown> = {};
  if (BACKEND) common.backend = BACKEND;
  if (BACKEND === "mbedtls") common.maxVersion = "TLS1.2";
  if (typeof A.tls === "string") common.maxVersion = common.minVersion = A.tls;
  // Contexts built once and shared, as the design's performance rules ask.
  const sctx = jsec.createContext(
    { server: true, cert: leaf.cert, key: leaf.key, ...common } as Any,
  );
  const cctx = jsec.createContext({ caCerts: [certs.ca], ...common } as Any);
  return {
    listen() {
      const l = jsec.listen({ hostname: HOST, port: 0, context: sctx } as Any);
      return Promise.resolve({
        port: l.addr.port,
        accept: () => l.accept(),
        close: () => l.close(),
      });
    },
    connect(port, session) {
      return jsec.connect(
        {
          hostname: HOST,
          port,
          serverName: "localhost",
          context: cctx,
          session: session ?? undefined,
        } as Any,
      );
    },
    session: (c) => (c as Any).exportSession(),
    reused: (c) => (c as Any).info.sessionReused,
  };
}

function denoImpl(tls: boolean): PullImpl {
  const D = g.Deno;
  const nodelay = (c: Any) => {
    try {
      c.setNoDelay?.(true);
    } catch { /* not on this conn type */ }
    return c;
  };
  return {
    listen() {
      const l = tls
        ? D.listenTls({ hostname: HOST, port: 0, cert: leaf.cert, key: leaf.key })
        : D.listen({ hostname: HOST, port: 0 });
      // A Deno listener allows one accept() at a time: chain them.
      let chain: Promise<unknown> = Promise.resolve();
      const accept = () => {
        const next = chain.then(() => l.accept()).then(nodelay);
        chain = next.catch(() => {});
        return next;
      };
      return Promise.resolve({ port: l.addr.port, accept, close: () => l.close() });
    },
    async connect(port) {
      // Deno.TlsConn has no setNoDelay: connect plain, set it, then startTls. The server
      // side (Deno.listenTls) cannot set it at all.
      const t = nodelay(await D.connect({ hostname: HOST, port }));
      return tls ? await D.startTls(t, { hostname: HOST, caCerts: [certs.ca] }) : t;
    },
  };
}

async function pullImpl(): Promise<PullImpl | null> {
  if (IMPL === "jsec") return await jsecImpl();
  if (RUNTIME === "deno" && IMPL === "native") return denoImpl(true);
  if (RUNTIME === "deno" && IMPL === "raw") return denoImpl(false);
  return null;
}

async function writeAll(c: PConn, p: Uint8Array): Promise<void> {
  // jsec writes everything; Deno conns may write less.
  const n = await c.write(p);
  if (typeof n === "number" && n < p.length) {
    let off = n;
    while (off < p.length) off += (await c.write(p.subarray(off))) as number;
  }
}

async function readExactly(c: PConn, buf: Uint8Array, want: number): Promise<void> {
  let got = 0;
  while (got < want) {
    const n = await c.read(buf.subarray(got, want));
    if (n === null) throw new Error(`early EOF after ${got} of ${want}`);
    got += n;
  }
}

async function pullBulk(impl: PullImpl, warmBytes: number, bytes: number): Promise<number> {
  const srv = await impl.listen();
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const one = async (total: number) => {
    const acc = srv.accept();
    const c = await impl.connect(srv.port);
    const s = await acc;
    const sink = (async () => {
      const buf = new Uint8Array(64 * 1024);
      let got = 0;
      while (got < total) {
        const n = await s.read(buf);
        if (n === null) throw new Error("server: early EOF");
        got += n;
      }
      return performance.now();
    })();
    const t0 = performance.now();
    for (let sent = 0; sent < total; sent += chunk.length) await writeAll(c, chunk);
    const t1 = await sink;
    await c.close();
    await s.close();
    return t1 - t0;
  };
  await one(warmBytes);
  const ms = await one(bytes);
  srv.close();
  return ms;
}

async function pullEcho(
  impl: PullImpl,
  warm: number,
  count: number,
  size: number,
): Promise<number> {
  const srv = await impl.listen();
  const acc = srv.accept();
  const c = await impl.connect(srv.port);
  const s = await acc;
  const server = (async () => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await s.read(buf).catch(() => null);
      if (n === null) return;
      await writeAll(s, buf.subarray(0, n));
    }
  })();
  const msg = new Uint8Array(size).fill(0x62);
  const back = new Uint8Array(size);
  const round = async (k: number) => {
    for (let i = 0; i < k; i++) {
      await writeAll(c, msg);
      await readExactly(c, back, size);
    }
  };
  await round(warm);
  const t0 = performance.now();
  await round(count);
  const ms = performance.now() - t0;
  await c.close();
  await server;
  await s.close();
  srv.close();
  return ms;
}

async function pullHandshakes(
  impl: PullImpl,
  count: number,
  resume: boolean,
): Promise<{ ms: number; reused: number; cpuUs: number }> {
  const srv = await impl.listen();
  const server = (async () => {
    const b = new Uint8Array(16);
    for (;;) {
      let s: PConn;
      try {
        s = await srv.accept();
      } catch {
        return;
      }
      (async () => {
        try {
          await readExactly(s, b, 1);
          await writeAll(s, b.subarray(0, 1));
          await s.read(b); // the client's close
        } catch { /* peer gone */ }
        await s.close();
      })();
    }
  })();
  const one = new Uint8Array([0x63]);
  const b = new Uint8Array(16);
  let session: Uint8Array | null = null;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      const c = await impl.connect(srv.port, resume ? session : null);
      await writeAll(c, one);
      await readExactly(c, b, 1);
      if (resume) {
        if (measure && impl.reused && i === k - 1 && impl.reused(c)) reused++;
        session = impl.session!(c) ?? session;
      }
      await c.close();
    }
  };
  // Warm-up (and the first full handshake for resume): long enough for the JIT, since
  // the C anchor (s_time) runs for seconds.
  await run(Math.min(100, count), false);
  const t0 = performance.now(), cpu0 = cpuMicros();
  await run(count, true);
  const ms = performance.now() - t0, cpuUs = cpuMicros() - cpu0;
  srv.close();
  server.catch(() => {});
  return { ms, reused, cpuUs };
}

async function pullIdle(impl: PullImpl, count: number): Promise<number> {
  const srv = await impl.listen();
  const held: PConn[] = [];
  const open = async (k: number) => {
    const batch = 25;
    for (let i = 0; i < k; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, k - i) }, async () => {
        const acc = srv.accept();
        const c = await impl.connect(srv.port);
        const s = await acc;
        // One byte each way so both ends have finished the handshake and hold their buffers.
        await writeAll(c, new Uint8Array([1]));
        await readExactly(s, new Uint8Array(1), 1);
        await writeAll(s, new Uint8Array([2]));
        await readExactly(c, new Uint8Array(1), 1);
        held.push(c, s);
      }));
    }
  };
  await open(50); // warm-up: code, pools, JIT
  gc();
  await sleep(100);
  gc();
  const before = rss();
  await open(count);
  gc();
  await sleep(100);
  gc();
  const after = rss();
  for (const c of held) await c.close();
  srv.close();
  return (after - before) / count;
}

// ---------------------------------------------------------------------------
// node:tls (event style, the same under both runtimes).

async function nodeTls() {
  const tls = await import("node:tls");
  return {
    tls,
    listen(onConn: (s: Any) => void): Promise<{ port: number; close(): void }> {
      const server = tls.createServer({ key: leaf.key, cert: leaf.cert }, (s: Any) => {
        s.setNoDelay?.(true);
        onConn(s);
      });
      return new Promise((resolve) =>
        server.listen(
          0,
          HOST,
          () => resolve({ port: (server.address() as Any).port, close: () => server.close() }),
        )
      );
    },
    connect(port: number, session?: Any): Promise<Any> {
      return new Promise((resolve, reject) => {
        const s = tls.connect(
          { host: HOST, port, ca: certs.ca, servername: "localhost", session },
          () => resolve(s),
        );
        s.setNoDelay?.(true);
        s.once("error", reject);
      });
    },
  };
}

function nodeWriteAll(s: Any, total: number, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!s.write(chunk)) {
          s.once("drain", pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
}

async function nodeBulk(warmBytes: number, bytes: number): Promise<number> {
  const n = await nodeTls();
  let want = 0;
  let done: (() => void) | null = null;
  const srv = await n.listen((s) => {
    let got = 0;
    s.on("data", (d: Uint8Array) => {
      got += d.length;
      if (got >= want) done?.();
    });
  });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const one = async (total: number) => {
    want = total;
    const c = await n.connect(srv.port);
    const finished = new Promise<void>((r) => (done = r));
    const t0 = performance.now();
    await nodeWriteAll(c, total, chunk);
    await finished;
    const ms = performance.now() - t0;
    c.destroy();
    return ms;
  };
  await one(warmBytes);
  const ms = await one(bytes);
  srv.close();
  return ms;
}

async function nodeEcho(warm: number, count: number, size: number): Promise<number> {
  const n = await nodeTls();
  const srv = await n.listen((s) => s.on("data", (d: Uint8Array) => s.write(d)));
  const c = await n.connect(srv.port);
  const msg = Buffer.alloc(size, 0x62);
  const run = (k: number) =>
    new Promise<void>((resolve) => {
      let left = k;
      let got = 0;
      const onData = (d: Uint8Array) => {
        got += d.length;
        if (got < size) return;
        got -= size;
        if (--left === 0) {
          c.off("data", onData);
          resolve();
        } else c.write(msg);
      };
      c.on("data", onData);
      c.write(msg);
    });
  await run(warm);
  const t0 = performance.now();
  await run(count);
  const ms = performance.now() - t0;
  c.destroy();
  srv.close();
  return ms;
}

async function nodeHandshakes(
  count: number,
  resume: boolean,
): Promise<{ ms: number; reused: number }> {
  const n = await nodeTls();
  const srv = await n.listen((s) => {
    s.once("data", () => s.end(new Uint8Array([0x64])));
    s.on("error", () => {});
  });
  let session: Any = undefined;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      const c = await n.connect(srv.port, resume ? session : undefined);
      if (resume) c.on("session", (s: Any) => (session = s));
      await new Promise<void>((resolve) => {
        c.once("data", () => resolve());
        c.write(new Uint8Array([0x63]));
      });
      if (measure && resume && i === k - 1 && c.isSessionReused?.()) reused++;
      if (resume && !session) session = c.getSession?.();
      await new Promise<void>((r) => {
        c.once("close", () => r());
        c.end();
      });
    }
  };
  await run(Math.min(100, count), false);
  const t0 = performance.now();
  await run(count, true);
  const ms = performance.now() - t0;
  srv.close();
  return { ms, reused };
}

async function nodeIdle(count: number): Promise<number> {
  const n = await nodeTls();
  const held: Any[] = [];
  const srv = await n.listen((s) => {
    held.push(s);
    s.once("data", () => s.write(new Uint8Array([2])));
  });
  const open = async (k: number) => {
    for (let i = 0; i < k; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, k - i) }, async () => {
        const c = await n.connect(srv.port);
        held.push(c);
        await new Promise<void>((r) => {
          c.once("data", () => r());
          c.write(new Uint8Array([1]));
        });
      }));
    }
  };
  await open(50);
  gc();
  await sleep(100);
  gc();
  const before = rss();
  await open(count);
  gc();
  await sleep(100);
  gc();
  const after = rss();
  for (const s of held) s.destroy();
  srv.close();
  return (after - before) / count;
}

// ---------------------------------------------------------------------------
// Bun sockets (Bun.listen / Bun.connect, with or without tls), event style.

interface BunSide {
  open?(s: Any): void;
  data?(s: Any, d: Uint8Array): void;
  drain?(s: Any): void;
}

function bunServer(tls: boolean, side: BunSide): { port: number; stop(): void } {
  const l = g.Bun.listen({
    hostname: HOST,
    port: 0,
    tls: tls ? { cert: leaf.cert, key: leaf.key } : undefined,
    socket: {
      open(s: Any) {
        s.setNoDelay?.(true);
        side.open?.(s);
      },
      data: (s: Any, d: Uint8Array) => side.data?.(s, d),
      drain: (s: Any) => side.drain?.(s),
      close() {},
      error() {},
    },
  });
  return { port: l.port, stop: () => l.stop(true) };
}

/** Resolves once the socket is open (for tls: after the handshake). */
function bunConnect(tls: boolean, port: number, side: BunSide, session?: Any): Promise<Any> {
  return new Promise((resolve, reject) => {
    g.Bun.connect({
      hostname: HOST,
      port,
      tls: tls ? { ca: certs.ca, serverName: "localhost", session } : undefined,
      socket: {
        open(s: Any) {
          s.setNoDelay?.(true);
          side.open?.(s);
          if (!tls) resolve(s);
        },
        handshake(s: Any, ok: boolean, err: unknown) {
          if (ok) resolve(s);
          else reject(err ?? new Error("handshake failed"));
        },
        data: (s: Any, d: Uint8Array) => side.data?.(s, d),
        drain: (s: Any) => side.drain?.(s),
        close() {},
        error(_s: Any, e: unknown) {
          reject(e);
        },
        connectError(_s: Any, e: unknown) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

async function bunBulk(tls: boolean, warmBytes: number, bytes: number): Promise<number> {
  let want = 0;
  let got = 0;
  let done: (() => void) | null = null;
  const srv = bunServer(tls, {
    data(_s, d) {
      got += d.length;
      if (got >= want) done?.();
    },
  });
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const one = async (total: number) => {
    want = total;
    got = 0;
    let pump: (() => void) | null = null;
    const c = await bunConnect(tls, srv.port, { drain: () => pump?.() });
    const finished = new Promise<void>((r) => (done = r));
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let sent = 0;
      let partial: Uint8Array | null = null;
      pump = () => {
        while (sent < total) {
          const buf: Uint8Array = partial ?? chunk;
          const n = c.write(buf);
          if (n < buf.length) {
            partial = buf.subarray(Math.max(n, 0));
            return; // wait for drain
          }
          partial = null;
          sent += chunk.length;
        }
        resolve();
      };
      pump();
    });
    await finished;
    const ms = performance.now() - t0;
    c.end();
    return ms;
  };
  await one(warmBytes);
  const ms = await one(bytes);
  srv.stop();
  return ms;
}

async function bunEcho(tls: boolean, warm: number, count: number, size: number): Promise<number> {
  const srv = bunServer(tls, { data: (s, d) => s.write(d) });
  let onData: ((d: Uint8Array) => void) | null = null;
  const c = await bunConnect(tls, srv.port, { data: (_s, d) => onData?.(d) });
  const msg = new Uint8Array(size).fill(0x62);
  const run = (k: number) =>
    new Promise<void>((resolve) => {
      let left = k;
      let got = 0;
      onData = (d) => {
        got += d.length;
        if (got < size) return;
        got -= size;
        if (--left === 0) resolve();
        else c.write(msg);
      };
      c.write(msg);
    });
  await run(warm);
  const t0 = performance.now();
  await run(count);
  const ms = performance.now() - t0;
  c.end();
  srv.stop();
  return ms;
}

async function bunHandshakes(
  tls: boolean,
  count: number,
  resume: boolean,
): Promise<{ ms: number; reused: number }> {
  const srv = bunServer(tls, { data: (s) => s.end(new Uint8Array([0x64])) });
  let session: Any = undefined;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      let got: (() => void) | null = null;
      const gotData = new Promise<void>((r) => (got = r));
      const c = await bunConnect(
        tls,
        srv.port,
        { data: () => got?.() },
        resume ? session : undefined,
      );
      c.write(new Uint8Array([0x63]));
      await gotData;
      if (resume) {
        if (measure && i === k - 1 && c.isSessionReused?.()) reused++;
        session = c.getSession?.() ?? session;
      }
      c.end();
    }
  };
  await run(Math.min(100, count), false);
  const t0 = performance.now();
  await run(count, true);
  const ms = performance.now() - t0;
  srv.stop();
  return { ms, reused };
}

async function bunIdle(tls: boolean, count: number): Promise<number> {
  const held: Any[] = [];
  const srv = bunServer(tls, { data: (s) => s.write(new Uint8Array([2])) });
  const open = async (k: number) => {
    for (let i = 0; i < k; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, k - i) }, async () => {
        let got: (() => void) | null = null;
        const p = new Promise<void>((r) => (got = r));
        const c = await bunConnect(tls, srv.port, { data: () => got?.() });
        held.push(c);
        c.write(new Uint8Array([1]));
        await p;
      }));
    }
  };
  await open(50);
  gc();
  await sleep(100);
  gc();
  const before = rss();
  await open(count);
  gc();
  await sleep(100);
  gc();
  const after = rss();
  for (const c of held) c.end();
  srv.stop();
  return (after - before) / count;
}

// ---------------------------------------------------------------------------
// Engine-to-engine loop (no sockets): the ceiling of the FFI engine itself.

let loopCipher = "";
async function engineLoop(warmBytes: number, bytes: number): Promise<number> {
  const jsec = await import("../mod.ts");
  const common: Record<string, unknown> = {};
  if (BACKEND) common.backend = BACKEND;
  if (BACKEND === "mbedtls") common.maxVersion = "TLS1.2";
  if (typeof A.cipher === "string") {
    if (BACKEND === "mbedtls" || A.tls === "TLS1.2") common.ciphers = A.cipher;
    else common.cipherSuites = A.cipher;
  }
  if (typeof A.tls === "string") common.maxVersion = common.minVersion = A.tls;
  let srv: Any, cli: Any, move: (from: Any, to: Any) => void;
  if (IMPL === "jsec-public") {
    // The public TlsEngine: pull() allocates a fresh array per call.
    srv = jsec.createEngine({ server: true, cert: leaf.cert, key: leaf.key, ...common } as Any);
    cli = jsec.createEngine({ caCerts: [certs.ca], serverName: "localhost", ...common } as Any);
    move = (from, to) => {
      for (;;) {
        const b = from.pull();
        if (!b) return;
        to.feed(b);
      }
    };
  } else {
    // The internal Engine exactly as TlsConn drives it: one scratch buffer, no allocation.
    const { contextFrom } = await import("../streams/context.ts");
    const sctx = contextFrom({ cert: leaf.cert, key: leaf.key, ...common }, "server", false);
    const cctx = contextFrom({ caCerts: [certs.ca], ...common }, "client", false);
    srv = sctx.newEngine({});
    cli = cctx.newEngine({ serverName: "localhost", verifyName: "localhost" } as Any);
    const scratch = new Uint8Array(64 * 1024 + 1024);
    move = (from, to) => {
      for (;;) {
        const n = from.pull(scratch);
        if (!n) return;
        to.feed(scratch.subarray(0, n));
      }
    };
  }
  for (let i = 0; i < 20 && !(cli.handshakeDone && srv.handshakeDone); i++) {
    if (!cli.handshakeDone) cli.handshake();
    move(cli, srv);
    if (!srv.handshakeDone) srv.handshake();
    move(srv, cli);
  }
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const sink = new Uint8Array(16 * 1024);
  const pipe = (total: number) => {
    const t0 = performance.now();
    let got = 0;
    for (let sent = 0; sent < total; sent += chunk.length) {
      cli.write(chunk);
      move(cli, srv);
      for (;;) {
        const n = srv.read(sink);
        if (!n || n < 0) break;
        got += n;
      }
    }
    if (got !== total) throw new Error(`loop: got ${got} of ${total}`);
    return performance.now() - t0;
  };
  pipe(warmBytes);
  const ms = pipe(bytes);
  loopCipher = cli.info().cipher;
  cli.free();
  srv.free();
  return ms;
}

// ---------------------------------------------------------------------------
// DTLS: only when dtls/mod.ts exists and works.

async function dtlsEcho(warm: number, count: number, size: number): Promise<number | string> {
  let dtls: Any;
  try {
    dtls = await import("../dtls/mod.ts");
  } catch (e) {
    return `dtls/mod.ts not available (${(e as Error).message.split("\n")[0]})`;
  }
  if (typeof dtls.listen !== "function" || typeof dtls.connect !== "function") {
    return `dtls/mod.ts exports no listen/connect (has: ${Object.keys(dtls).join(", ")})`;
  }
  const common: Record<string, unknown> = {};
  if (BACKEND) common.backend = BACKEND;
  const server = dtls.listen({
    hostname: HOST,
    port: 0,
    cert: leaf.cert,
    key: leaf.key,
    ...common,
  });
  if (server.ready) await server.ready;
  const serving = (async () => {
    const s = await server.accept();
    if (!s) return;
    for (;;) {
      const d = await s.receive().catch(() => null);
      if (d === null) return;
      await s.send(d);
    }
  })();
  const c = await dtls.connect({
    hostname: HOST,
    port: server.addr.port,
    serverName: "localhost",
    caCerts: [certs.ca],
    ...common,
  });
  const msg = new Uint8Array(size).fill(0x65);
  const run = async (k: number) => {
    for (let i = 0; i < k; i++) {
      await c.send(msg);
      const d = await c.receive();
      if (!d || d.length !== size) throw new Error(`dtls echo: got ${d?.length}`);
    }
  };
  await run(warm);
  const t0 = performance.now();
  await run(count);
  const ms = performance.now() - t0;
  await c.close();
  await server.close();
  serving.catch(() => {});
  return ms;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  if (IMPL === "jsec" && BACKEND) {
    const { backendInfo } = await import("../mod.ts");
    try {
      backendInfo(BACKEND as Any);
    } catch (e) {
      result(NaN, "", {
        skipped: `backend ${BACKEND} unavailable: ${(e as Error).message.split("\n")[0]}`,
      });
      return;
    }
  }
  const pull = await pullImpl();
  const bunSock = RUNTIME === "bun" && (IMPL === "native" || IMPL === "raw");
  const bunTls = IMPL === "native";
  switch (CASE) {
    case "bulk": {
      const mib = num("mib", 256), warm = num("warm", 32);
      const ms = pull
        ? await pullBulk(pull, warm * MIB, mib * MIB)
        : bunSock
        ? await bunBulk(bunTls, warm * MIB, mib * MIB)
        : await nodeBulk(warm * MIB, mib * MIB);
      result((mib * MIB) / 1e6 / (ms / 1000), "MB/s", { ms });
      return;
    }
    case "echo": {
      const count = num("count", 10_000), warm = num("warm", 500), size = num("size", 1024);
      const ms = pull
        ? await pullEcho(pull, warm, count, size)
        : bunSock
        ? await bunEcho(bunTls, warm, count, size)
        : await nodeEcho(warm, count, size);
      result(count / (ms / 1000), "rt/s", { ms });
      return;
    }
    case "hs":
    case "resume": {
      const count = num("count", 300);
      const resume = CASE === "resume";
      if (resume && RUNTIME === "deno" && IMPL === "native") {
        result(NaN, "", { skipped: "Deno.connectTls has no session resumption API" });
        return;
      }
      if (resume && IMPL === "raw") {
        result(NaN, "", { skipped: "no TLS" });
        return;
      }
      const r = pull
        ? await pullHandshakes(pull, count, resume)
        : bunSock
        ? await bunHandshakes(bunTls, count, resume)
        : await nodeHandshakes(count, resume);
      const cpuUs = (r as { cpuUs?: number }).cpuUs;
      result(count / (r.ms / 1000), "hs/s", {
        ms: r.ms,
        ...(resume ? { lastReused: r.reused === 1 } : {}),
        // Both ends run in this process: CPU per connection compares with s_time's two processes.
        ...(cpuUs !== undefined ? { cpuUsPerConn: cpuUs / count } : {}),
      });
      return;
    }
    case "idle": {
      const count = num("count", 1000);
      const per = pull
        ? await pullIdle(pull, count)
        : bunSock
        ? await bunIdle(bunTls, count)
        : await nodeIdle(count);
      result(per, "B/conn");
      return;
    }
    case "loop": {
      const mib = num("mib", 256), warm = num("warm", 32);
      const ms = await engineLoop(warm * MIB, mib * MIB);
      result((mib * MIB) / 1e6 / (ms / 1000), "MB/s", { ms, cipher: loopCipher });
      return;
    }
    case "dtls": {
      const count = num("count", 10_000), warm = num("warm", 500), size = num("size", 1024);
      const r = await dtlsEcho(warm, count, size);
      if (typeof r === "string") result(NaN, "", { skipped: r });
      else result(count / (r / 1000), "rt/s", { ms: r });
      return;
    }
  }
  throw new Error(`unknown case ${CASE}`);
}

const watchdog = setTimeout(() => {
  console.error(`case ${CASE}/${IMPL} timed out`);
  g.process?.exit?.(3);
}, num("timeout", 300) * 1000);
try {
  await main();
} catch (e) {
  console.log(
    "RESULT " +
      JSON.stringify({
        value: NaN,
        unit: "",
        error: String((e as Error)?.stack ?? e).slice(0, 500),
      }),
  );
}
clearTimeout(watchdog);
// Anything left (sockets in TIME_WAIT handlers, listeners) must not keep us alive.
g.process?.exit?.(0);
