/**
 * Helpers for the mbedTLS backend tests: contexts from partial configs, and
 * engines driven against each other in memory (no sockets).
 */

import type { ContextConfig, Engine, EngineOptions, NativeContext } from "../backends/backend.ts";
import { loadMbedTls } from "../backends/mbedtls/mod.ts";
import { getBackend } from "../backends/registry.ts";
import { TlsError } from "../errors.ts";

export const mbed = loadMbedTls();

/** The OpenSSL backend, or null where it cannot load. */
export function openssl() {
  try {
    return getBackend("openssl");
  } catch {
    return null;
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A complete ContextConfig with test defaults. */
export function config(
  side: "client" | "server",
  extra: Partial<ContextConfig> = {},
): ContextConfig {
  return {
    side,
    datagram: false,
    verify: true,
    caCerts: [],
    systemTrust: false,
    sni: [],
    alpnProtocols: [],
    clientAuth: "none",
    minVersion: "TLS1.2",
    maxVersion: "TLS1.3",
    tickets: true,
    ...extra,
  };
}

/** Contexts created by a test, freed with `freeAll`. */
export class Scope {
  readonly items: { free(): void }[] = [];
  ctx(
    backend: { createContext(c: ContextConfig): NativeContext },
    c: ContextConfig,
  ): NativeContext {
    const ctx = backend.createContext(c);
    this.items.push(ctx);
    return ctx;
  }
  engine(ctx: NativeContext, o: EngineOptions = {}): Engine {
    const e = ctx.createEngine(o);
    this.items.unshift(e); // engines first
    return e;
  }
  [Symbol.dispose](): void {
    for (const i of this.items) i.free();
  }
}

const scratch = new Uint8Array(1 << 17);

/** Moves everything `from` has pending to `to`; returns the datagrams/chunks moved. */
export function move(from: Engine, to: Engine, drop = false): Uint8Array[] {
  const moved: Uint8Array[] = [];
  for (;;) {
    const n = from.pull(scratch);
    if (n === 0) break;
    const chunk = scratch.slice(0, n);
    moved.push(chunk);
    if (!drop) to.feed(chunk);
  }
  return moved;
}

/** The outcome of a handshake between two engines. */
export interface Outcome {
  client: "done" | TlsError;
  server: "done" | TlsError;
}

/**
 * Runs the handshake until both ends finish or fail, forwarding everything
 * (alerts included) so the other end sees a failure too.
 */
export function handshake(client: Engine, server: Engine, rounds = 30): Outcome {
  let c: "want-read" | "done" | TlsError = "want-read";
  let s: "want-read" | "done" | TlsError = "want-read";
  const step = (e: Engine): "want-read" | "done" | TlsError => {
    try {
      return e.handshake();
    } catch (err) {
      if (err instanceof TlsError) return err;
      throw err;
    }
  };
  for (let i = 0; i < rounds; i++) {
    if (c === "want-read") c = step(client);
    move(client, server);
    if (s === "want-read") s = step(server);
    move(server, client);
    if (c !== "want-read" && s !== "want-read") break;
  }
  if (c === "want-read" || s === "want-read") {
    throw new Error(`handshake did not finish: client ${String(c)}, server ${String(s)}`);
  }
  return { client: c, server: s };
}

/** Handshakes and asserts success on both ends. */
export function connectPair(client: Engine, server: Engine): void {
  const r = handshake(client, server);
  if (r.client !== "done") throw r.client;
  if (r.server !== "done") throw r.server;
}

/** Sends `data` from `a` to `b` and reads it back out of `b`. */
export function transfer(a: Engine, b: Engine, data: Uint8Array): Uint8Array {
  let off = 0;
  while (off < data.length) {
    const n = a.write(data.subarray(off));
    off += n;
    move(a, b);
    if (n === 0) throw new Error("write made no progress");
  }
  move(a, b);
  const out = new Uint8Array(data.length);
  let got = 0;
  for (let i = 0; got < data.length && i < 100_000; i++) {
    const n = b.read(out.subarray(got));
    if (n <= 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/** Minimal view of a node:net socket, the same in Deno and Bun. */
interface NetSocket {
  on(event: "data", fn: (d: Uint8Array) => void): unknown;
  on(event: "close" | "end", fn: () => void): unknown;
  on(event: "error", fn: (e: Error) => void): unknown;
  write(d: Uint8Array): unknown;
  destroy(): unknown;
}

/** Drives an engine over a TCP socket: ciphertext in, ciphertext out. */
export class SocketPump {
  readonly #engine: Engine;
  readonly #socket: NetSocket;
  #waiters: (() => void)[] = [];
  #closed = false;
  #error: Error | null = null;
  readonly #buf = new Uint8Array(1 << 17);
  text = "";

  constructor(engine: Engine, socket: NetSocket) {
    this.#engine = engine;
    this.#socket = socket;
    socket.on("data", (d) => {
      engine.feed(new Uint8Array(d));
      this.#wake();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on("error", (e) => {
      this.#error = e;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Sends whatever the engine has pending. */
  flush(): void {
    for (;;) {
      const n = this.#engine.pull(this.#buf);
      if (n === 0) break;
      this.#socket.write(this.#buf.slice(0, n));
    }
  }

  /** Re-evaluates `done` after every arrival until it is true (flushing as it goes). */
  async until(done: () => boolean): Promise<void> {
    for (;;) {
      let ok: boolean;
      try {
        ok = done();
      } finally {
        this.flush();
      }
      if (ok) return;
      if (this.#error) throw this.#error;
      if (this.#closed) throw new Error("the peer closed the connection");
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  handshake(): Promise<void> {
    return this.until(() => this.#engine.handshake() === "done");
  }

  /** Reads plaintext until the collected text contains `needle`. */
  readUntil(needle: string): Promise<string> {
    return this.until(() => {
      for (;;) {
        const n = this.#engine.read(this.#buf);
        if (n <= 0) break;
        this.text += new TextDecoder().decode(this.#buf.subarray(0, n));
      }
      return this.text.includes(needle);
    }).then(() => this.text);
  }

  write(s: string): void {
    this.#engine.write(new TextEncoder().encode(s));
    this.flush();
  }

  close(): void {
    this.#socket.destroy();
  }
}
