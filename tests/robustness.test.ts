// Hostile and careless input must give coded errors, never a crash: garbage,
// truncated and bit-flipped handshakes fed straight into the sans-IO engines,
// and calls after free or close, on the backend under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createContext, createEngine, type TlsEngine, TlsError } from "../mod.ts";
import { BACKEND, drainEngine, handshakeEngines, pki, pumpEngine } from "./helpers.ts";
import { MemoryBio } from "../backends/bio.ts";

const p = pki();

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function prng(seed: number): (n: number) => Uint8Array {
  let x = seed || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const client = () =>
  createEngine({ serverName: "localhost", caCerts: [p.ca.cert], backend: BACKEND });
const server = () =>
  createEngine({ server: true, cert: p.server.cert, key: p.server.key, backend: BACKEND });

/** Feeds `data` and steps the handshake: "want-read", "done", or the TlsError code. Anything else fails. */
function step(e: TlsEngine, data: Uint8Array): string {
  try {
    e.feed(data);
    return e.handshake();
  } catch (err) {
    assert.ok(err instanceof TlsError, `not a TlsError: ${err}`);
    assert.ok(["HANDSHAKE", "ALERT", "PROTOCOL", "CERT_VERIFY"].includes(err.code), err.message);
    return err.code;
  }
}

test("random garbage fed to client and server engines gives coded errors", () => {
  const rand = prng(0x5eed);
  for (let i = 0; i < 200; i++) {
    const size = 1 + (rand(2)[0] << 4) + rand(1)[0];
    for (const make of [client, server]) {
      using e = make();
      if (make === client) e.handshake(); // the client has sent its hello
      step(e, rand(size));
      drainEngine(e);
    }
  }
});

test("every prefix of a real ClientHello leaves the server waiting or failing cleanly", () => {
  using c = client();
  c.handshake();
  const hello = drainEngine(c);
  assert.ok(hello.length > 100);
  for (let n = 1; n < hello.length; n += 7) {
    using s = server();
    assert.equal(step(s, hello.subarray(0, n)), "want-read", `prefix ${n}`);
  }
});

test("a bit flipped anywhere in the server's first flight fails the client's handshake cleanly", () => {
  using c0 = client();
  c0.handshake();
  const hello = drainEngine(c0);
  using s0 = server();
  step(s0, hello);
  const flight = drainEngine(s0);
  for (let pos = 0; pos < flight.length; pos += Math.max(1, Math.floor(flight.length / 60))) {
    using c = client();
    using s = server();
    c.handshake();
    step(s, drainEngine(c));
    const f = drainEngine(s);
    f[pos] ^= 0x40;
    const r = step(c, f);
    assert.notEqual(r, "done", `flip at ${pos} of ${f.length} went unnoticed`);
  }
});

test("calls after free are CLOSED errors, free is idempotent", () => {
  const e = client();
  e.handshake();
  e.free();
  e.free();
  for (
    const call of [
      () => e.handshake(),
      () => e.feed(new Uint8Array(5)),
      () => e.read(new Uint8Array(8)),
      () => e.write(new Uint8Array(8)),
      () => e.info(),
    ]
  ) {
    assert.throws(call, (err: unknown) => err instanceof TlsError && err.code === "CLOSED");
  }
  assert.equal(e.pull(), null);
});

test("wrong argument types are TypeErrors before anything reaches C", () => {
  using e = client();
  assert.throws(() => e.feed("text" as never), TypeError);
  assert.throws(() => e.read(null as never), TypeError);
  assert.throws(() => e.write([1, 2] as never), TypeError);
  assert.throws(
    () => e.exportKeyingMaterial("x", -1),
    (err: unknown) => err instanceof TlsError && err.code === "INVALID_OPTION",
  );
});

test("exporting keying material before the handshake is an error, not garbage", () => {
  using e = client();
  assert.throws(() => e.exportKeyingMaterial("EXPERIMENTAL x", 16), TlsError);
});

// Resumed mbedTLS clients against an OpenSSL server corrupted Bun's heap: small typed
// arrays handed to C from inside the GC heap (oven-sh/bun#32054), and the session
// struct collected while mbedTLS wrote into it (see tests/gc_stress.test.ts).
test("hundreds of resumed handshakes with small buffers stay memory-safe once the JIT kicks in", () => {
  using serverCtx = createContext({
    server: true,
    cert: p.server.cert,
    key: p.server.key,
    backend: "openssl",
    maxVersion: "TLS1.2",
  });
  using clientCtx = createContext({ caCerts: [p.ca.cert], backend: BACKEND, maxVersion: "TLS1.2" });
  const small = new Uint8Array(16);
  let session: Uint8Array | undefined;
  let resumed = 0;
  for (let k = 0; k < 400; k++) {
    using s = createEngine({ server: true, context: serverCtx });
    using c = createEngine({ context: clientCtx, serverName: "localhost", session });
    assert.ok(handshakeEngines(c, s), `handshake ${k}`);
    c.write(Uint8Array.of(k & 0xff));
    pumpEngine(c, s);
    assert.equal(s.read(small), 1);
    assert.equal(small[0], k & 0xff);
    if (c.info().sessionReused) resumed++;
    session ??= c.exportSession() ?? undefined;
  }
  assert.ok(resumed >= 399, `${resumed} of 399 handshakes resumed`);
});

test("a createEngine that fails leaves its shared context usable", () => {
  // An engine whose setup threw released the context twice: the next engine found it freed.
  using ctx = createContext({ caCerts: [p.ca.cert], backend: BACKEND });
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () =>
        createEngine({ context: ctx, serverName: "localhost", session: Uint8Array.of(1, 2, 3) }),
      { code: "INVALID_OPTION", option: "session" },
    );
  }
  using c = createEngine({ context: ctx, serverName: "localhost" });
  assert.equal(c.handshake(), "want-read");
  assert.ok((c.pull()?.length ?? 0) > 0, "no ClientHello");
});

test("info() before the handshake is a PROTOCOL error, not a read of a session that is not there", () => {
  using c = client();
  using s = server();
  for (const e of [c, s]) {
    assert.throws(
      () => e.info(),
      (err: unknown) => err instanceof TlsError && err.code === "PROTOCOL",
    );
  }
  c.handshake();
  assert.throws(
    () => c.info(),
    (err: unknown) => err instanceof TlsError && err.code === "PROTOCOL",
  );
  assert.equal(handshakeEngines(c, s), true);
  assert.ok(c.info().cipher);
});

test("a keylog callback that frees its own engine mid-handshake: no crash, the engine is closed", () => {
  for (const side of ["client", "server"] as const) {
    let freed = 0;
    const keylog = () => {
      freed++;
      (side === "client" ? c : s).free();
    };
    const c: TlsEngine = createEngine({
      serverName: "localhost",
      caCerts: [p.ca.cert],
      backend: BACKEND,
      ...(side === "client" ? { keylog } : {}),
    });
    const s: TlsEngine = createEngine({
      server: true,
      cert: p.server.cert,
      key: p.server.key,
      backend: BACKEND,
      ...(side === "server" ? { keylog } : {}),
    });
    try {
      handshakeEngines(c, s);
    } catch (err) {
      assert.ok(err instanceof TlsError && err.code === "CLOSED", `${side}: ${err}`);
    }
    assert.ok(freed > 0, side);
    const freedOne = side === "client" ? c : s;
    assert.throws(() => freedOne.handshake(), (err: unknown) => err instanceof TlsError);
    c.free();
    s.free();
  }
});

test("bytes whose length lies reach C at their real length (MemoryBio, engine read and write)", () => {
  const lying = (n: number) => {
    const b = new Uint8Array(n);
    Object.defineProperty(b, "length", { value: 1 << 20 });
    return b;
  };
  using bio = new MemoryBio({ backend: BACKEND });
  bio.write(new Uint8Array(1 << 16).fill(0x41));
  assert.equal(bio.readInto(lying(8)), 8);
  assert.equal(bio.write(lying(4)), 4);
  using c = client();
  using s = server();
  assert.equal(handshakeEngines(c, s), true);
  assert.equal(c.write(lying(5)), 5);
  pumpEngine(c, s);
  const into = lying(3);
  assert.equal(s.read(into), 3);
  assert.equal(s.read(new Uint8Array(8)), 2);
  // An own `constructor` whose species makes slice() and subarray() return a liar.
  const species = new Uint8Array(20000).fill(0x41);
  Object.defineProperty(species, "constructor", {
    value: {
      [Symbol.species]: function (buf: ArrayBuffer, off: number, len: number) {
        return Object.defineProperty(new Uint8Array(buf, off, len), "length", { value: 1 << 16 });
      },
    },
  });
  assert.equal(bio.write(species), 20000);
  let sent = c.write(species); // the engine's own subarray() calls meet the species
  while (sent < 20000) sent += c.write(species.subarray(sent));
  assert.equal(sent, 20000);
  pumpEngine(c, s);
  const got = new Uint8Array(1 << 15);
  let total = 0;
  for (let n; (n = s.read(got)) !== null && n > 0;) {
    assert.ok(got.subarray(0, n).every((b) => b === 0x41), "bytes from outside the buffer");
    total += n;
  }
  assert.equal(total, 20000);
});

test("write after shutdown() is a PROTOCOL error on every backend", () => {
  using c = client();
  using s = server();
  assert.equal(handshakeEngines(c, s), true);
  c.shutdown();
  assert.throws(
    () => c.write(new Uint8Array([1])),
    (err: unknown) => err instanceof TlsError && err.code === "PROTOCOL",
  );
});
