/**
 * DTLS test helpers: UDP ports, a lossy/reordering relay, silent sockets,
 * and DTLS peers from the openssl and gnutls command lines.
 */

import dgram from "node:dgram";
import assert from "node:assert/strict";
import { BACKEND, type Peer, pki, startPeer } from "./helpers.ts";
import { backendInfo, TlsError } from "../mod.ts";
import * as dtls from "../dtls/mod.ts";

/** Why DTLS tests on this backend must be skipped, or false to run them. */
export function dtlsSkip(backend: string = BACKEND): string | false {
  try {
    const info = backendInfo(backend as "openssl" | "mbedtls");
    return info.capabilities.dtls12
      ? false
      : `${backend} backend has no DTLS 1.2 (${info.version})`;
  } catch (e) {
    return `${backend} backend unavailable: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** A UDP socket bound on loopback that never answers (for timeouts). */
export async function silentUdp(): Promise<
  { port: number; received: () => number; close: () => Promise<void> }
> {
  const s = dgram.createSocket("udp4");
  let n = 0;
  s.on("message", () => n++);
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", () => resolve()));
  return {
    port: s.address().port,
    received: () => n,
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}

/** A UDP port that was free a moment ago (for peers that cannot report theirs). */
export async function freeUdpPort(): Promise<number> {
  const s = await silentUdp();
  await s.close();
  return s.port;
}

/** What the relay does with each direction's datagrams, counted from 1. */
export interface RelayRules {
  /** Datagram numbers to drop. */
  drop?: number[];
  /** Pairs [a, a+1]: hold datagram a and send it after a+1. */
  swap?: [number, number][];
}

/** A relay between a client and a UDP server that loses and reorders deterministically. */
export interface Relay {
  port: number;
  /** Datagrams seen per direction. */
  counts(): { toServer: number; toClient: number };
  /** Datagrams dropped per direction. */
  dropped(): { toServer: number; toClient: number };
  /** Resolves once `n` datagrams went (or were dropped) in direction `dir`. */
  seen(dir: "toServer" | "toClient", n: number): Promise<void>;
  /** Sends `datagram` in direction `dir` as if the other end had sent it (a spoofed datagram). */
  inject(dir: "toServer" | "toClient", datagram: Uint8Array): void;
  close(): Promise<void>;
}

/** Starts a relay on loopback forwarding to `127.0.0.1:serverPort`. */
export async function startRelay(
  serverPort: number,
  rules: { toServer?: RelayRules; toClient?: RelayRules },
): Promise<Relay> {
  const front = dgram.createSocket("udp4"); // faces the client
  const back = dgram.createSocket("udp4"); // faces the server
  let client: { address: string; port: number } | null = null;
  const seen = { toServer: 0, toClient: 0 };
  const lost = { toServer: 0, toClient: 0 };
  const held: { toServer: Map<number, Uint8Array>; toClient: Map<number, Uint8Array> } = {
    toServer: new Map(),
    toClient: new Map(),
  };
  const watchers: { dir: "toServer" | "toClient"; n: number; resolve: () => void }[] = [];
  const handle = (dir: "toServer" | "toClient", msg: Uint8Array, send: (m: Uint8Array) => void) => {
    const n = ++seen[dir];
    for (const w of watchers.filter((w) => w.dir === dir && w.n <= n)) {
      watchers.splice(watchers.indexOf(w), 1);
      queueMicrotask(w.resolve); // after this datagram is forwarded
    }
    const r = rules[dir] ?? {};
    if (r.drop?.includes(n)) {
      lost[dir]++;
      return;
    }
    if (r.swap?.some(([a]) => a === n)) {
      held[dir].set(n, msg);
      return;
    }
    send(msg);
    const first = r.swap?.find(([, b]) => b === n)?.[0];
    const h = first !== undefined ? held[dir].get(first) : undefined;
    if (h) {
      held[dir].delete(first!);
      send(h);
    }
  };
  front.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    client = { address: rinfo.address, port: rinfo.port };
    handle("toServer", msg, (m) => back.send(m, serverPort, "127.0.0.1"));
  });
  back.on("message", (msg: Uint8Array) => {
    const c = client;
    if (c) handle("toClient", msg, (m) => front.send(m, c.port, c.address));
  });
  await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", () => resolve()));
  await new Promise<void>((resolve) => back.bind(0, "127.0.0.1", () => resolve()));
  return {
    port: front.address().port,
    counts: () => ({ ...seen }),
    dropped: () => ({ ...lost }),
    inject(dir, datagram) {
      if (dir === "toServer") back.send(datagram, serverPort, "127.0.0.1");
      else if (client) front.send(datagram, client.port, client.address);
    },
    seen: (dir, n) =>
      seen[dir] >= n
        ? Promise.resolve()
        : new Promise((resolve) => watchers.push({ dir, n, resolve })),
    close: async () => {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => back.close(() => resolve()));
    },
  };
}

/** `openssl s_server -dtls1_2` on a loopback UDP port with the test PKI's server certificate. */
export async function opensslDtlsServer(
  args: string[] = [],
): Promise<{ peer: Peer; port: number }> {
  const p = pki();
  const peer = startPeer("openssl", [
    "s_server",
    "-dtls1_2",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    p.server.certFile,
    "-key",
    p.server.keyFile,
    "-mtu",
    "1200",
    ...args,
  ]);
  const m = await peer.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/);
  return { peer, port: Number(m[1]) };
}

/** Bytes of `n` filled with a pattern that depends on `seed`. */
export function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** A jsec DTLS server on loopback that echoes every datagram of every peer. */
export async function echoServer(extra: Partial<dtls.DtlsListenOptions> = {}) {
  const p = pki();
  const server = dtls.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
    mtu: 1200,
    ...extra,
  });
  await server.ready;
  const peers: dtls.DtlsConn[] = [];
  const waiting: ((c: dtls.DtlsConn) => void)[] = [];
  const loop = (async () => {
    for await (const peer of server) {
      peers.push(peer);
      waiting.shift()?.(peer);
      (async () => {
        try {
          for (let d; (d = await peer.receive()) !== null;) await peer.send(d);
        } catch { /* the peer went away */ }
      })();
    }
  })();
  return {
    server,
    port: server.addr.port,
    peers,
    /** The next peer the server accepts. */
    nextPeer: () => new Promise<dtls.DtlsConn>((resolve) => waiting.push(resolve)),
    async stop() {
      await server.close();
      await loop;
    },
    /** `await using srv = await echoServer()` stops it at scope end. */
    [Symbol.asyncDispose]() {
      return this.stop();
    },
  };
}

export function client(
  port: number,
  extra: Partial<dtls.DtlsConnectOptions> = {},
): Promise<dtls.DtlsConn> {
  const p = pki();
  return dtls.connect({
    hostname: "127.0.0.1",
    port,
    caCerts: [p.ca.cert],
    backend: BACKEND,
    mtu: 1200,
    handshakeTimeout: 10_000,
    ...extra,
  });
}

export async function rejectsWith(
  promise: Promise<unknown>,
  code: string | string[],
  verifyResult?: RegExp,
): Promise<TlsError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof TlsError, `expected TlsError, got ${e}`);
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(e.code), `${e.code}: ${e.message} (${e.detail ?? ""})`);
    if (verifyResult) assert.match(e.verifyResult ?? "", verifyResult);
    return e;
  }
  throw new assert.AssertionError({ message: `expected TlsError(${code})` });
}
