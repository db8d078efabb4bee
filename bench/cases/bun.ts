/** Bun sockets (Bun.listen / Bun.connect, with or without tls; BoringSSL), event style. */

import { type Any, g, gc, rss, sleep } from "../common.ts";
import { certs, HOST, leaf, negotiated, timeConnections, timeRounds } from "./args.ts";

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

export async function bunBulk(tls: boolean, warmBytes: number, bytes: number): Promise<number> {
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
    negotiated.cipher = c.getCipher?.()?.standardName ?? "";
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

export async function bunEcho(
  tls: boolean,
  warm: number,
  count: number,
  size: number,
): Promise<number> {
  const srv = bunServer(tls, { data: (s, d) => s.write(d) });
  let onData: ((d: Uint8Array) => void) | null = null;
  const c = await bunConnect(tls, srv.port, { data: (_s, d) => onData?.(d) });
  negotiated.cipher = c.getCipher?.()?.standardName ?? "";
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
  const ms = await timeRounds(run, warm, count);
  c.end();
  srv.stop();
  return ms;
}

export async function bunHandshakes(
  tls: boolean,
  count: number,
  resume: boolean,
  rounds = 1,
): Promise<{ ms: number; reused: number }> {
  // Each data event is one client byte: answer it, and end after the last round.
  const answered = new WeakMap<object, number>();
  const srv = bunServer(tls, {
    data(s) {
      const n = (answered.get(s) ?? 0) + 1;
      answered.set(s, n);
      if (n < rounds) s.write(new Uint8Array([0x64]));
      else s.end(new Uint8Array([0x64]));
    },
  });
  let session: Any = undefined;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      let got: (() => void) | null = null;
      const c = await bunConnect(
        tls,
        srv.port,
        { data: () => got?.() },
        resume ? session : undefined,
      );
      for (let r = 0; r < rounds; r++) {
        const gotData = new Promise<void>((res) => (got = res));
        c.write(new Uint8Array([0x63]));
        await gotData;
      }
      if (resume) {
        if (measure && i === k - 1 && c.isSessionReused?.()) reused++;
        session = c.getSession?.() ?? session;
      }
      c.end();
    }
  };
  const { ms } = await timeConnections(run, count);
  srv.stop();
  return { ms, reused };
}

export async function bunIdle(tls: boolean, count: number): Promise<number> {
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
