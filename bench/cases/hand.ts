/**
 * The floor for any JavaScript driver of jsec's engines: the internal engines
 * (as TlsConn drives them, with scratch buffers) moved by hand over the
 * runtime's raw sockets, with no TlsConn, lanes or transport classes. Deno
 * awaits `conn.read`/`conn.write`; Bun answers from its data callbacks with no
 * promise at all. What separates jsec from this row is the streams layer; what
 * separates this row from the bound is FFI and the engine's work between socket calls.
 */

import { type Any, g, RUNTIME } from "../common.ts";
import { certs, HOST, jsecOptions, leaf, negotiated } from "./args.ts";

interface HandEngine {
  handshakeDone: boolean;
  handshake(): string;
  feed(d: Uint8Array): void;
  pull(into: Uint8Array): number;
  read(into: Uint8Array): number;
  write(d: Uint8Array): number;
  info(): { cipher: string };
}

async function engines(): Promise<{ server: () => HandEngine; client: () => HandEngine }> {
  const { contextFrom } = await import("../../streams/context.ts");
  const common = jsecOptions();
  const sctx = contextFrom({ cert: leaf.cert, key: leaf.key, ...common } as Any, "server", false);
  const cctx = contextFrom({ caCerts: [certs.ca], ...common } as Any, "client", false);
  return {
    server: () => sctx.newEngine({}) as unknown as HandEngine,
    client: () =>
      cctx.newEngine({ serverName: "localhost", verifyName: "localhost" }) as unknown as HandEngine,
  };
}

/** 1 KiB-style echo: `count` round trips of `size` bytes after `warm`; returns ms. */
export async function handEcho(warm: number, count: number, size: number): Promise<number> {
  const e = await engines();
  return RUNTIME === "bun"
    ? await bunEcho(e, warm, count, size)
    : await denoEcho(e, warm, count, size);
}

async function denoEcho(
  e: { server: () => HandEngine; client: () => HandEngine },
  warm: number,
  count: number,
  size: number,
): Promise<number> {
  const D = g.Deno;
  const out = new Uint8Array(64 * 1024 + 1024);
  const send = async (conn: Any, eng: HandEngine) => {
    for (let n; (n = eng.pull(out)) > 0;) {
      for (let off = 0; off < n;) off += await conn.write(out.subarray(off, n));
    }
  };
  const recv = async (conn: Any, eng: HandEngine, buf: Uint8Array) => {
    const n = await conn.read(buf);
    if (n === null) throw new Error("hand echo: end of stream");
    eng.feed(buf.subarray(0, n));
  };
  const handshake = async (conn: Any, eng: HandEngine, buf: Uint8Array) => {
    while (eng.handshake() !== "done") {
      await send(conn, eng);
      await recv(conn, eng, buf);
    }
    await send(conn, eng);
  };
  const readFull = async (conn: Any, eng: HandEngine, into: Uint8Array, buf: Uint8Array) => {
    for (let got = 0; got < into.length;) {
      const n = eng.read(got ? into.subarray(got) : into);
      if (n < 0) throw new Error("hand echo: close_notify");
      if (n > 0) got += n;
      else await recv(conn, eng, buf);
    }
  };
  const l = D.listen({ hostname: HOST, port: 0 });
  const serving = (async () => {
    const conn = await l.accept();
    conn.setNoDelay(true);
    const eng = e.server();
    const buf = new Uint8Array(64 * 1024), msg = new Uint8Array(size);
    await handshake(conn, eng, buf);
    for (;;) {
      await readFull(conn, eng, msg, buf);
      eng.write(msg);
      await send(conn, eng);
    }
  })();
  serving.catch(() => {}); // ends when the process exits
  const conn = await D.connect({ hostname: HOST, port: l.addr.port });
  conn.setNoDelay(true);
  const eng = e.client();
  const buf = new Uint8Array(64 * 1024), msg = new Uint8Array(size).fill(0x65);
  const back = new Uint8Array(size);
  await handshake(conn, eng, buf);
  const run = async (k: number) => {
    for (let i = 0; i < k; i++) {
      eng.write(msg);
      await send(conn, eng);
      await readFull(conn, eng, back, buf);
    }
  };
  await run(warm);
  const t0 = performance.now();
  await run(count);
  const ms = performance.now() - t0;
  negotiated.cipher = eng.info().cipher;
  conn.close(); // the server's read then ends its loop
  l.close();
  return ms;
}

async function bunEcho(
  e: { server: () => HandEngine; client: () => HandEngine },
  warm: number,
  count: number,
  size: number,
): Promise<number> {
  const Bun = g.Bun;
  const out = new Uint8Array(64 * 1024 + 1024);
  const send = (s: Any, eng: HandEngine) => {
    for (let n; (n = eng.pull(out)) > 0;) {
      if (s.write(out.subarray(0, n)) !== n) throw new Error("hand echo: short socket write");
    }
  };
  /** Feeds `d`; true once the handshake is done (sending what it produced). */
  const step = (s: Any, eng: HandEngine, d: Uint8Array | null) => {
    if (d) eng.feed(d);
    if (!eng.handshakeDone) eng.handshake();
    send(s, eng);
    return eng.handshakeDone;
  };
  const mid = new Uint8Array(size);
  let midGot = 0;
  const l = Bun.listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s: Any) {
        s.setNoDelay?.(true);
        s.data = e.server();
      },
      data(s: Any, d: Uint8Array) {
        const eng = s.data as HandEngine;
        if (!step(s, eng, d)) return;
        for (let n; (n = eng.read(mid.subarray(midGot))) > 0;) {
          midGot += n;
          if (midGot < size) continue;
          midGot = 0;
          eng.write(mid);
          send(s, eng);
        }
      },
    },
  });
  const eng = e.client();
  const msg = new Uint8Array(size).fill(0x65), back = new Uint8Array(size);
  let got = 0, left = 0;
  let done: () => void = () => {};
  let ready: () => void = () => {};
  const handshaken = new Promise<void>((r) => (ready = r));
  const s = await Bun.connect({
    hostname: HOST,
    port: l.port,
    socket: {
      open(s: Any) {
        s.setNoDelay?.(true);
      },
      data(s: Any, d: Uint8Array) {
        if (!eng.handshakeDone) {
          if (step(s, eng, d)) ready();
          return;
        }
        eng.feed(d);
        for (let n; (n = eng.read(back.subarray(got))) > 0;) {
          got += n;
          if (got < size) continue;
          got = 0;
          if (--left === 0) return done();
          eng.write(msg);
          send(s, eng);
        }
      },
    },
  });
  step(s, eng, null);
  await handshaken;
  const run = (k: number) =>
    new Promise<void>((r) => {
      left = k;
      done = r;
      eng.write(msg);
      send(s, eng);
    });
  await run(warm);
  const t0 = performance.now();
  await run(count);
  const ms = performance.now() - t0;
  negotiated.cipher = eng.info().cipher;
  s.end();
  l.stop(true);
  return ms;
}
