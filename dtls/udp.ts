/**
 * UDP sockets for DTLS: Deno's `Deno.listenDatagram` (needs `--unstable-net`)
 * and Bun's `Bun.udpSocket`, behind one push-style interface. This is the
 * only file in `dtls/` that knows which runtime it runs on.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { TlsError } from "../errors.ts";
import { runtime } from "../backends/registry.ts";
import { isIpLiteral } from "../backends/backend.ts";
import type { Addr } from "../streams/transport.ts";

/** Where a datagram came from or goes to. */
export interface UdpPeer {
  hostname: string;
  port: number;
}

/**
 * Receives every datagram the socket gets. `data` is valid only during the call
 * (Deno's socket receives the next datagram into the same buffer): copy what
 * is kept.
 */
export type OnDatagram = (data: Uint8Array, from: UdpPeer) => void;

/** A bound UDP socket. */
export interface UdpSocket {
  /** The local address. */
  readonly addr: Addr;
  /** Sends one datagram; rejects only when the socket is closed or the OS refuses it. */
  send(data: Uint8Array, to: UdpPeer): Promise<void>;
  /** Closes the socket; no more datagrams are delivered. Idempotent. */
  close(): void;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const g = globalThis as Any;

/** Strips the IPv4-mapped prefix so addresses compare equal whatever the socket family. */
export function normalizeHost(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

/** A map key for a peer's address. */
export function peerKey(p: UdpPeer): string {
  return `${normalizeHost(p.hostname)}|${p.port}`;
}

/** Resolves a host name to an address literal (IPv4 first, as most servers listen there). */
export async function resolveHost(hostname: string): Promise<string> {
  if (isIpLiteral(hostname)) return hostname;
  try {
    const all = await lookup(hostname, { all: true });
    const v4 = all.find((a) => a.family === 4);
    return (v4 ?? all[0]).address;
  } catch (e) {
    throw new TlsError("CLOSED", `could not resolve ${hostname}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function udpAddr(hostname: string, port: number): Addr {
  return { hostname, port, transport: "udp" };
}

/** Binds a UDP socket on `hostname:port` (port 0 picks a free one). */
export function bindUdp(
  hostname: string,
  port: number,
  onDatagram: OnDatagram,
): Promise<UdpSocket> {
  return runtime === "bun"
    ? bindBun(hostname, port, onDatagram)
    : Promise.resolve(bindDeno(hostname, port, onDatagram));
}

/** Deno's binding is synchronous: used where a result is needed at once. */
export function bindUdpSync(
  hostname: string,
  port: number,
  onDatagram: OnDatagram,
): UdpSocket | null {
  return runtime === "deno" ? bindDeno(hostname, port, onDatagram) : null;
}

function bindDeno(hostname: string, port: number, onDatagram: OnDatagram): UdpSocket {
  if (typeof g.Deno?.listenDatagram !== "function") {
    throw new TlsError("UNSUPPORTED", "DTLS on Deno needs UDP sockets: run with --unstable-net");
  }
  let conn: Any;
  try {
    conn = g.Deno.listenDatagram({ hostname, port, transport: "udp" });
  } catch (e) {
    throw new TlsError(
      "CLOSED",
      `could not bind UDP ${hostname}:${port}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  let closed = false;
  (async () => {
    const buf = new Uint8Array(65536);
    while (!closed) {
      let got: [Uint8Array, Any];
      try {
        got = await conn.receive(buf);
      } catch (e) {
        if (closed) return;
        // An ICMP error from an earlier send surfaces here; the socket still works.
        const name = (e as Error)?.name;
        if (name === "ConnectionRefused" || name === "ConnectionReset") continue;
        return;
      }
      if (closed) return;
      try {
        onDatagram(got[0], { hostname: got[1].hostname, port: got[1].port });
      } catch { /* a handler error must not stop the socket */ }
    }
  })();
  return {
    addr: udpAddr(conn.addr.hostname, conn.addr.port),
    async send(data, to) {
      if (closed) throw new TlsError("CLOSED", "the UDP socket is closed");
      await conn.send(data, { hostname: to.hostname, port: to.port, transport: "udp" });
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

async function bindBun(hostname: string, port: number, onDatagram: OnDatagram): Promise<UdpSocket> {
  let closed = false;
  let drained: (() => void)[] = [];
  let sock: Any;
  try {
    sock = await g.Bun.udpSocket({
      hostname,
      port,
      binaryType: "uint8array",
      socket: {
        data(_s: Any, data: Uint8Array, fromPort: number, fromHost: string) {
          if (closed) return;
          try {
            onDatagram(data, { hostname: fromHost, port: fromPort });
          } catch { /* a handler error must not stop the socket */ }
        },
        drain() {
          const waiting = drained;
          drained = [];
          for (const w of waiting) w();
        },
        // ICMP errors (ECONNREFUSED from a closed port): advisory for UDP, and DTLS
        // retransmits or times out on its own. Without a handler Bun prints each one.
        error() {},
      },
    });
  } catch (e) {
    throw new TlsError(
      "CLOSED",
      `could not bind UDP ${hostname}:${port}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return {
    addr: udpAddr(sock.address?.address ?? hostname, sock.port),
    async send(data, to) {
      for (let tries = 0; tries < 2; tries++) {
        if (closed) throw new TlsError("CLOSED", "the UDP socket is closed");
        if (sock.send(data, to.port, to.hostname)) return;
        await new Promise<void>((resolve) => drained.push(resolve)); // the kernel buffer is full
      }
    },
    close() {
      if (closed) return;
      closed = true;
      for (const w of drained) w();
      drained = [];
      try {
        sock.close();
      } catch { /* already closed */ }
    },
  };
}
