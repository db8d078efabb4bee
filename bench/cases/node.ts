/**
 * node:tls cases (event style, the same code under both runtimes: rustls
 * under Deno, BoringSSL under Bun).
 */

import { Buffer } from "node:buffer";
import { type Any, gc, rss, sleep } from "../common.ts";
import { certs, HOST, leaf, negotiated, timeConnections, timeRounds } from "./args.ts";

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

export async function nodeBulk(warmBytes: number, bytes: number): Promise<number> {
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
    negotiated.cipher = c.getCipher?.()?.standardName ?? "";
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

export async function nodeEcho(warm: number, count: number, size: number): Promise<number> {
  const n = await nodeTls();
  const srv = await n.listen((s) => s.on("data", (d: Uint8Array) => s.write(d)));
  const c = await n.connect(srv.port);
  negotiated.cipher = c.getCipher?.()?.standardName ?? "";
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
  const ms = await timeRounds(run, warm, count);
  c.destroy();
  srv.close();
  return ms;
}

export async function nodeHandshakes(
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
  const { ms } = await timeConnections(run, count);
  srv.close();
  return { ms, reused };
}

export async function nodeIdle(count: number): Promise<number> {
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
