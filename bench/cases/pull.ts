/**
 * Pull-style connections (jsec, Deno.connect / Deno.startTls): read(p) /
 * write(p) / close(), and the cases written against them.
 */

import { type Any, g, gc, rss, RUNTIME, sleep } from "../common.ts";
import {
  certs,
  HOST,
  IMPL,
  jsecOptions,
  leaf,
  negotiated,
  timeConnections,
  timeRounds,
} from "./args.ts";

export interface PConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<unknown>;
  close(): unknown;
}
interface PServer {
  port: number;
  accept(): Promise<PConn>;
  close(): void;
}
export interface PullImpl {
  listen(): Promise<PServer>;
  connect(port: number, session?: Uint8Array | null): Promise<PConn>;
  /** Session after the first read (TLS 1.3 tickets come after the handshake). */
  session?(c: PConn): Uint8Array | null;
  reused?(c: PConn): boolean;
  /** The negotiated TLS suite, where the API tells. */
  cipher?(c: PConn): string;
}

/**
 * jsec with contexts built once and shared, as the design's performance rules
 * ask; with `withOptions` the client passes its options on every connect
 * instead, as most programs do.
 */
async function jsecImpl(withOptions: boolean): Promise<PullImpl> {
  const jsec = await import("../../mod.ts");
  const common = jsecOptions();
  const sctx = jsec.createContext(
    { server: true, cert: leaf.cert, key: leaf.key, ...common } as Any,
  );
  const clientOptions = { caCerts: [certs.ca], ...common };
  const cctx = jsec.createContext(clientOptions as Any);
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
          ...(withOptions ? clientOptions : { context: cctx }),
          session: session ?? undefined,
        } as Any,
      );
    },
    session: (c) => (c as Any).exportSession(),
    reused: (c) => (c as Any).info.sessionReused,
    cipher: (c) => (c as Any).info.cipher,
  };
}

/**
 * A jsec connection read and written through its Web Streams, as most programs
 * use it: a default reader (chunks of its own) and a writer. `read(p)` copies
 * each chunk into `p`, as a caller's parser would read it.
 */
function viaStreams(conn: Any): PConn & { conn: Any } {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let left: Uint8Array | null = null;
  return {
    conn,
    async read(p) {
      let chunk = left;
      left = null;
      if (!chunk) {
        const r = await reader.read();
        if (r.done) return null;
        chunk = r.value as Uint8Array;
      }
      const n = Math.min(p.length, chunk.length);
      p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n < chunk.length) left = chunk.subarray(n);
      return n;
    },
    write: (p) => writer.write(p),
    close: () => conn.close(),
  };
}

/** jsec through its Web Streams on both ends (`--impl jsec-streams`). */
async function jsecStreamsImpl(): Promise<PullImpl> {
  const base = await jsecImpl(false);
  const inner = (c: PConn) => (c as unknown as { conn: Any }).conn;
  return {
    async listen() {
      const l = await base.listen();
      return { ...l, accept: async () => viaStreams(await l.accept()) };
    },
    connect: async (port, session) => viaStreams(await base.connect(port, session)),
    session: (c) => base.session!(inner(c)),
    reused: (c) => base.reused!(inner(c)),
    cipher: (c) => base.cipher!(inner(c)),
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
    // Deno reports no cipher. rustls offers AES-256-GCM first and its server follows
    // the client's order (seen with `openssl s_server -brief` and a jsec client).
    cipher: () => (tls ? "TLS_AES_256_GCM_SHA384" : ""),
  };
}

export async function pullImpl(): Promise<PullImpl | null> {
  if (IMPL === "jsec" || IMPL === "jsec-options") return await jsecImpl(IMPL === "jsec-options");
  if (IMPL === "jsec-streams") return await jsecStreamsImpl();
  if (RUNTIME === "deno" && IMPL === "native") return denoImpl(true);
  if (RUNTIME === "deno" && IMPL === "raw") return denoImpl(false);
  return null;
}

/**
 * What a write that took `took` bytes left of `p`, or null: jsec's write takes
 * everything, a Deno conn's may take less. The hot loops write with `c.write` and
 * finish with {@link writeAll} only when something is left: a helper's async frame
 * around every call is the harness's cost, not the library's (on Bun it cost jsec
 * 3–7% of its echo rate; Bun's native rows use callbacks and pay none).
 */
function leftover(p: Uint8Array, took: unknown): Uint8Array | null {
  return typeof took === "number" && took < p.length ? p.subarray(took) : null;
}

export async function writeAll(c: PConn, p: Uint8Array): Promise<void> {
  for (let rest = leftover(p, await c.write(p)); rest;) {
    rest = leftover(rest, await c.write(rest));
  }
}

export async function readExactly(c: PConn, buf: Uint8Array, want: number): Promise<void> {
  let got = 0;
  while (got < want) {
    const n = await c.read(buf.subarray(got, want));
    if (n === null) throw new Error(`early EOF after ${got} of ${want}`);
    got += n;
  }
}

export async function pullBulk(impl: PullImpl, warmBytes: number, bytes: number): Promise<number> {
  const srv = await impl.listen();
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const one = async (total: number) => {
    const acc = srv.accept();
    const c = await impl.connect(srv.port);
    const s = await acc;
    negotiated.cipher = impl.cipher?.(c) ?? "";
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
    for (let sent = 0; sent < total; sent += chunk.length) {
      const rest = leftover(chunk, await c.write(chunk));
      if (rest) await writeAll(c, rest);
    }
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

export async function pullEcho(
  impl: PullImpl,
  warm: number,
  count: number,
  size: number,
): Promise<number> {
  const srv = await impl.listen();
  const acc = srv.accept();
  const c = await impl.connect(srv.port);
  const s = await acc;
  negotiated.cipher = impl.cipher?.(c) ?? "";
  const server = (async () => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await s.read(buf).catch(() => null);
      if (n === null) return;
      const part = buf.subarray(0, n);
      const rest = leftover(part, await s.write(part));
      if (rest) await writeAll(s, rest);
    }
  })();
  const msg = new Uint8Array(size).fill(0x62);
  const back = new Uint8Array(size);
  const round = async (k: number) => {
    for (let i = 0; i < k; i++) {
      const rest = leftover(msg, await c.write(msg));
      if (rest) await writeAll(c, rest);
      for (let got = 0; got < size;) {
        const n = await c.read(got ? back.subarray(got) : back);
        if (n === null) throw new Error(`echo: early EOF after ${got} of ${size}`);
        got += n;
      }
    }
  };
  const ms = await timeRounds(round, warm, count);
  await c.close();
  await server;
  await s.close();
  srv.close();
  return ms;
}

export async function pullHandshakes(
  impl: PullImpl,
  count: number,
  resume: boolean,
  rounds = 1,
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
          // Echo until the client's close.
          for (let n; (n = await s.read(b)) !== null;) {
            const part = b.subarray(0, n);
            const rest = leftover(part, await s.write(part));
            if (rest) await writeAll(s, rest);
          }
        } catch { /* peer gone */ }
        await s.close();
      })();
    }
  })();
  const one = new Uint8Array([0x63]);
  const reply = new Uint8Array(1);
  let session: Uint8Array | null = null;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      const c = await impl.connect(srv.port, resume ? session : null);
      for (let r = 0; r < rounds; r++) {
        const rest = leftover(one, await c.write(one));
        if (rest) await writeAll(c, rest);
        if ((await c.read(reply)) === null) throw new Error("handshakes: early EOF");
      }
      if (resume) {
        if (measure && impl.reused && i === k - 1 && impl.reused(c)) reused++;
        session = impl.session!(c) ?? session;
      }
      await c.close();
    }
  };
  // The warm-up also makes the first full handshake for resume.
  const { ms, cpuUs } = await timeConnections(run, count);
  srv.close();
  server.catch(() => {});
  return { ms, reused, cpuUs };
}

export async function pullIdle(impl: PullImpl, count: number): Promise<number> {
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
