/**
 * Cases without sockets between the ends, or without TLS streams: the
 * engine-to-engine loop (the ceiling of the FFI engine itself) and DTLS echo.
 */

import type { Any } from "../common.ts";
import { BACKEND, certs, HOST, IMPL, jsecOptions, leaf, negotiated, timeRounds } from "./args.ts";

/** Engine to engine in one thread, no sockets. */
export async function engineLoop(warmBytes: number, bytes: number): Promise<number> {
  const jsec = await import("../../mod.ts");
  const common = jsecOptions();
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
    const { contextFrom } = await import("../../streams/context.ts");
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
  negotiated.cipher = cli.info().cipher;
  cli.free();
  srv.free();
  return ms;
}

/** DTLS 1 KiB echo: only when dtls/mod.ts exists and works. */
export async function dtlsEcho(
  warm: number,
  count: number,
  size: number,
): Promise<number | string> {
  let dtls: Any;
  try {
    dtls = await import("../../dtls/mod.ts");
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
  const ms = await timeRounds(run, warm, count);
  await c.close();
  await server.close();
  serving.catch(() => {});
  return ms;
}
