/**
 * The floor for any JavaScript driver of jsec's engines: the internal engines
 * (as TlsConn drives them, with scratch buffers) moved by hand over the
 * runtime's raw sockets, with no TlsConn, lanes or transport classes. Deno
 * awaits `conn.read`/`conn.write`; Bun answers from its data callbacks with no
 * promise at all. What separates jsec from this row is the streams layer; what
 * separates this row from the bound is FFI and the engine's work between socket calls.
 */

import { type Any, g, RUNTIME } from "../common.ts";
import { certs, HOST, jsecOptions, leaf, negotiated, timeConnections, timeRounds } from "./args.ts";

interface HandEngine {
  handshakeDone: boolean;
  handshake(): string;
  feed(d: Uint8Array): void;
  pull(into: Uint8Array): number;
  read(into: Uint8Array): number;
  write(d: Uint8Array): number;
  shutdown(): void;
  exportSession(): Uint8Array | null;
  info(): { cipher: string; sessionReused: boolean };
  free(): void;
}

interface Engines {
  server(): HandEngine;
  client(session?: Uint8Array): HandEngine;
}

async function engines(): Promise<Engines> {
  const { contextFrom } = await import("../../streams/context.ts");
  const common = jsecOptions();
  const sctx = contextFrom({ cert: leaf.cert, key: leaf.key, ...common } as Any, "server", false);
  const cctx = contextFrom({ caCerts: [certs.ca], ...common } as Any, "client", false);
  return {
    server: () => sctx.newEngine({}) as unknown as HandEngine,
    client: (session) =>
      cctx.newEngine({
        serverName: "localhost",
        verifyName: "localhost",
        session,
      }) as unknown as HandEngine,
  };
}

/** Ciphertext out for Bun, whose socket write copies before it returns. */
const out = new Uint8Array(64 * 1024 + 1024);

// ---- Deno: promise style, as Deno's sockets are ----------------------------------------

/** Deno holds a buffer until its read or write resolves: free lists, as TlsConn's pools. */
const spareOut: Uint8Array[] = [];
const spareIn: Uint8Array[] = [];

/** Sends everything the engine has. */
async function denoSend(conn: Any, eng: HandEngine): Promise<void> {
  const buf = spareOut.pop() ?? new Uint8Array(64 * 1024 + 1024);
  try {
    for (let n; (n = eng.pull(buf)) > 0;) {
      for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
    }
  } finally {
    spareOut.push(buf);
  }
}

/** One socket read fed to the engine; false at end of stream. */
async function denoRecv(conn: Any, eng: HandEngine): Promise<boolean> {
  const buf = spareIn.pop() ?? new Uint8Array(64 * 1024);
  try {
    const n = await conn.read(buf);
    if (n === null) return false;
    eng.feed(buf.subarray(0, n));
    return true;
  } finally {
    spareIn.push(buf);
  }
}

/**
 * Runs the handshake. Its last flight stays in the engine and leaves with the
 * first write, or before the first wait for the peer, as in TlsConn: the same
 * socket writes as jsec's.
 */
async function denoHandshake(conn: Any, eng: HandEngine): Promise<void> {
  while (eng.handshake() !== "done") {
    await denoSend(conn, eng);
    if (!(await denoRecv(conn, eng))) throw new Error("hand: end of stream in handshake");
  }
}

/** Reads exactly `into.length` bytes of plaintext; sends what the engine holds before waiting. */
async function denoReadFull(conn: Any, eng: HandEngine, into: Uint8Array) {
  for (let got = 0; got < into.length;) {
    const n = eng.read(got ? into.subarray(got) : into);
    if (n < 0) throw new Error("hand: close_notify");
    if (n > 0) {
      got += n;
      continue;
    }
    await denoSend(conn, eng);
    if (!(await denoRecv(conn, eng))) throw new Error("hand: end of stream");
  }
}

async function denoConnect(port: number): Promise<Any> {
  const conn = await g.Deno.connect({ hostname: HOST, port });
  conn.setNoDelay(true);
  return conn;
}

/** Accepts connections and runs `serve` on each until the listener closes. */
function denoServer(serve: (conn: Any) => Promise<void>): { port: number; close(): void } {
  const l = g.Deno.listen({ hostname: HOST, port: 0 });
  (async () => {
    for (;;) {
      let conn: Any;
      try {
        conn = await l.accept();
      } catch {
        return; // closed
      }
      conn.setNoDelay(true);
      serve(conn).catch(() => {}).finally(() => conn.close());
    }
  })();
  return { port: l.addr.port, close: () => l.close() };
}

// ---- Bun: data callbacks, no promise on the data path ------------------------------------

/** Sends everything the engine has (Bun's write is synchronous). */
function bunSend(s: Any, eng: HandEngine): void {
  for (let n; (n = eng.pull(out)) > 0;) {
    if (s.write(out.subarray(0, n)) !== n) throw new Error("hand: short socket write");
  }
}

/** Feeds `d` and steps the handshake; true once it is done (its last flight waits, as above). */
function bunStep(s: Any, eng: HandEngine, d: Uint8Array | null): boolean {
  if (d) eng.feed(d);
  if (eng.handshakeDone) return true;
  if (eng.handshake() === "done") return true;
  bunSend(s, eng);
  return false;
}

/**
 * A Bun listener whose connections each get a server engine: `onData` runs once
 * the handshake is done, for every chunk after it. The engine is freed on close.
 */
function bunServer(
  e: Engines,
  onData: (s: Any, eng: HandEngine) => void,
): { port: number; stop(): void } {
  const l = g.Bun.listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s: Any) {
        s.setNoDelay?.(true);
        s.data = e.server();
      },
      data(s: Any, d: Uint8Array) {
        if (bunStep(s, s.data, d)) onData(s, s.data);
      },
      close(s: Any) {
        (s.data as HandEngine).free();
      },
    },
  });
  return { port: l.port, stop: () => l.stop(true) };
}

/**
 * Connects `eng` and resolves with the socket once its handshake is done;
 * `onData` runs for every chunk after it (fed to `eng` first), and `onDrain`
 * (if any) whenever the socket takes writes again.
 */
async function bunClient(
  port: number,
  eng: HandEngine,
  onData: (s: Any) => void,
  onDrain?: (s: Any) => void,
): Promise<Any> {
  let ready!: () => void;
  const handshaken = new Promise<void>((r) => (ready = r));
  const s = await g.Bun.connect({
    hostname: HOST,
    port,
    socket: {
      open(s: Any) {
        s.setNoDelay?.(true);
      },
      data(s: Any, d: Uint8Array) {
        if (!eng.handshakeDone) {
          if (bunStep(s, eng, d)) ready();
          return;
        }
        eng.feed(d);
        onData(s);
      },
      ...(onDrain && {
        drain(s: Any) {
          if (eng.handshakeDone) onDrain(s);
        },
      }),
    },
  });
  bunStep(s, eng, null);
  await handshaken;
  return s;
}

// ---- bulk ------------------------------------------------------------------------------

/**
 * `--case bulk` by hand: a warm-up connection of `warmBytes`, then `bytes` on a
 * new one, in 16 KiB writes (one record each), the server reading 64 KiB at a
 * time as `pullBulk` does. Returns ms from the first write to the server's last byte.
 */
export async function handBulk(warmBytes: number, bytes: number): Promise<number> {
  const e = await engines();
  const one = RUNTIME === "bun" ? bunBulkOnce : denoBulkOnce;
  await one(e, warmBytes);
  return await one(e, bytes);
}

const BULK_WRITE = new Uint8Array(16 * 1024).fill(0x61);

async function denoBulkOnce(e: Engines, total: number): Promise<number> {
  let received!: (at: number) => void;
  const done = new Promise<number>((r) => (received = r));
  const srv = denoServer(async (conn) => {
    const eng = e.server();
    const buf = new Uint8Array(64 * 1024);
    try {
      await denoHandshake(conn, eng);
      for (let got = 0; got < total;) {
        const n = eng.read(buf);
        if (n < 0) throw new Error("hand: close_notify");
        if (n > 0) {
          got += n;
          continue;
        }
        await denoSend(conn, eng); // a last handshake flight (TLS 1.2's server Finished)
        if (!(await denoRecv(conn, eng))) throw new Error("hand: early end of stream");
      }
      received(performance.now());
    } finally {
      eng.free();
    }
  });
  const conn = await denoConnect(srv.port);
  const eng = e.client();
  await denoHandshake(conn, eng);
  negotiated.cipher = eng.info().cipher;
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += BULK_WRITE.length) {
    eng.write(BULK_WRITE);
    await denoSend(conn, eng);
  }
  const ms = (await done) - t0;
  conn.close();
  eng.free();
  srv.close();
  return ms;
}

async function bunBulkOnce(e: Engines, total: number): Promise<number> {
  let received!: (at: number) => void;
  const done = new Promise<number>((r) => (received = r));
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  const l = bunServer(e, (s, eng) => {
    for (let n; (n = eng.read(buf)) > 0;) got += n;
    if (got >= total) received(performance.now());
    bunSend(s, eng); // a last handshake flight (TLS 1.2's server Finished)
  });
  const eng = e.client();
  let sent = 0;
  /** Ciphertext the socket did not take yet (Bun's write is partial when the socket is full). */
  let rest: Uint8Array | null = null;
  /** Writes until done or the socket pushes back; `drain` calls it again. */
  const pump = (s: Any) => {
    for (;;) {
      if (rest) {
        const n = s.write(rest);
        if (n < rest.length) {
          rest = rest.subarray(Math.max(0, n));
          return;
        }
        rest = null;
      }
      if (sent >= total) return;
      eng.write(BULK_WRITE);
      sent += BULK_WRITE.length;
      const n = eng.pull(out);
      const w = s.write(out.subarray(0, n));
      if (w < n) rest = out.slice(Math.max(0, w), n); // `out` is shared: keep a copy
    }
  };
  // Data after the handshake is a TLS 1.3 session ticket.
  const s = await bunClient(l.port, eng, () => eng.read(buf), pump);
  negotiated.cipher = eng.info().cipher;
  const t0 = performance.now();
  pump(s);
  const ms = (await done) - t0;
  s.end();
  eng.free();
  l.stop();
  return ms;
}

// ---- echo ------------------------------------------------------------------------------

/** `count` round trips of `size` bytes after `warm`, over one connection; returns ms. */
export async function handEcho(warm: number, count: number, size: number): Promise<number> {
  const e = await engines();
  return RUNTIME === "bun"
    ? await bunEcho(e, warm, count, size)
    : await denoEcho(e, warm, count, size);
}

async function denoEcho(e: Engines, warm: number, count: number, size: number): Promise<number> {
  const srv = denoServer(async (conn) => {
    const eng = e.server();
    const msg = new Uint8Array(size);
    try {
      await denoHandshake(conn, eng);
      for (;;) {
        await denoReadFull(conn, eng, msg); // throws once the client has gone
        eng.write(msg);
        await denoSend(conn, eng);
      }
    } finally {
      eng.free();
    }
  });
  const conn = await denoConnect(srv.port);
  const eng = e.client();
  const msg = new Uint8Array(size).fill(0x65), back = new Uint8Array(size);
  await denoHandshake(conn, eng);
  const run = async (k: number) => {
    for (let i = 0; i < k; i++) {
      eng.write(msg);
      await denoSend(conn, eng);
      await denoReadFull(conn, eng, back);
    }
  };
  const ms = await timeRounds(run, warm, count);
  negotiated.cipher = eng.info().cipher;
  conn.close(); // the server's read then ends its loop
  eng.free();
  srv.close();
  return ms;
}

async function bunEcho(e: Engines, warm: number, count: number, size: number): Promise<number> {
  const mid = new Uint8Array(size);
  let midGot = 0;
  const l = bunServer(e, (s, eng) => {
    for (let n; (n = eng.read(mid.subarray(midGot))) > 0;) {
      midGot += n;
      if (midGot < size) continue;
      midGot = 0;
      eng.write(mid);
    }
    bunSend(s, eng); // the echo, or a last handshake flight before waiting
  });
  const eng = e.client();
  const msg = new Uint8Array(size).fill(0x65), back = new Uint8Array(size);
  let got = 0, left = 0;
  let done: () => void = () => {};
  const s = await bunClient(l.port, eng, (s) => {
    for (let n; (n = eng.read(back.subarray(got))) > 0;) {
      got += n;
      if (got < size) continue;
      got = 0;
      if (--left === 0) return done();
      eng.write(msg);
      bunSend(s, eng);
    }
  });
  const run = (k: number) =>
    new Promise<void>((r) => {
      left = k;
      done = r;
      eng.write(msg);
      bunSend(s, eng);
    });
  const ms = await timeRounds(run, warm, count);
  negotiated.cipher = eng.info().cipher;
  s.end();
  l.stop();
  return ms;
}

// ---- resumption ------------------------------------------------------------------------

/**
 * `--case resume` by hand: per connection, connect offering the last session,
 * one byte each way, close_notify both ways, and the client's lingering close
 * (as jsec's: the same socket work). Returns ms for `count`.
 */
export async function handResume(count: number): Promise<{ ms: number; reused: number }> {
  const e = await engines();
  const one = RUNTIME === "bun" ? bunResumer(e) : denoResumer(e);
  let session: Uint8Array | undefined;
  let reused = 0;
  const run = async (k: number, measure: boolean) => {
    for (let i = 0; i < k; i++) {
      const last = measure && i === k - 1;
      const r = await one.connection(session, last);
      session = r.session ?? session;
      if (last && r.reused) reused++;
    }
  };
  const { ms } = await timeConnections(run, count);
  one.close();
  return { ms, reused };
}

interface Resumer {
  /** One connection; `reused` is only asked for (`info()` parses certificates) when `ask`. */
  connection(
    session: Uint8Array | undefined,
    ask: boolean,
  ): Promise<{ session: Uint8Array | null; reused: boolean }>;
  close(): void;
}

/** Where lingering sockets drop what they read. */
const dropped = new Uint8Array(64 * 1024);

/**
 * Closes as jsec's client sockets do (see LINGER_MS in `streams/transport.ts`):
 * ends our writing side, reads until the peer ends, then closes; in the
 * background, as `close()` does not wait for it.
 */
function denoLinger(conn: Any): void {
  conn.closeWrite().catch(() => {});
  (async () => {
    try {
      while ((await conn.read(dropped)) !== null) { /* dropped */ }
    } catch { /* reset */ }
    conn.close();
  })();
}

function denoResumer(e: Engines): Resumer {
  const srv = denoServer(async (conn) => {
    const eng = e.server();
    const b = new Uint8Array(16);
    try {
      await denoHandshake(conn, eng);
      for (;;) {
        const n = eng.read(b);
        if (n < 0) break; // close_notify
        if (n > 0) {
          eng.write(b.subarray(0, n));
          await denoSend(conn, eng);
        } else {
          await denoSend(conn, eng);
          if (!(await denoRecv(conn, eng))) break;
        }
      }
      eng.shutdown();
      await denoSend(conn, eng);
    } finally {
      eng.free();
    }
  });
  const one = new Uint8Array([0x63]);
  return {
    async connection(session, ask) {
      const conn = await denoConnect(srv.port);
      const eng = e.client(session);
      try {
        const b = new Uint8Array(1);
        await denoHandshake(conn, eng);
        eng.write(one);
        await denoSend(conn, eng);
        await denoReadFull(conn, eng, b);
        const result = { session: eng.exportSession(), reused: ask && eng.info().sessionReused };
        eng.shutdown();
        await denoSend(conn, eng);
        denoLinger(conn);
        return result;
      } catch (e) {
        conn.close();
        throw e;
      } finally {
        eng.free();
      }
    },
    close: () => srv.close(),
  };
}

function bunResumer(e: Engines): Resumer {
  const Bun = g.Bun;
  const b = new Uint8Array(16);
  const l = bunServer(e, (s, eng) => {
    for (let n; (n = eng.read(b)) !== 0;) {
      if (n < 0) { // close_notify: answer it and close
        eng.shutdown();
        bunSend(s, eng);
        s.end();
        return;
      }
      eng.write(b.subarray(0, n));
    }
    bunSend(s, eng); // the echo, or a last handshake flight before waiting
  });
  const one = new Uint8Array([0x63]);
  return {
    connection(session, ask) {
      return new Promise((resolve, reject) => {
        const eng = e.client(session);
        let lingering = false;
        Bun.connect({
          hostname: HOST,
          port: l.port,
          allowHalfOpen: true,
          socket: {
            open(s: Any) {
              s.setNoDelay?.(true);
              bunStep(s, eng, null);
            },
            data(s: Any, d: Uint8Array) {
              if (lingering) return; // dropped
              if (!eng.handshakeDone) {
                if (!bunStep(s, eng, d)) return;
                eng.write(one);
                bunSend(s, eng);
                return;
              }
              eng.feed(d);
              if (eng.read(b) <= 0) return;
              const result = {
                session: eng.exportSession(),
                reused: ask && eng.info().sessionReused,
              };
              eng.shutdown();
              bunSend(s, eng);
              // Closes as jsec's client sockets do (see denoLinger): Bun closes
              // the socket once the peer ends too.
              lingering = true;
              s.shutdown();
              resolve(result);
            },
            end(s: Any) {
              s.end();
            },
            close() {
              eng.free();
            },
            error(_s: Any, err: unknown) {
              reject(err);
            },
          },
        }).catch(reject);
      });
    },
    close: () => l.stop(),
  };
}
