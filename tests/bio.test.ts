// @jsec/tls/bio: the memory BIO on the backend under test (OpenSSL: BIO_s_mem; mbedTLS: a JS queue).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryBio, MemoryBio, newMem } from "../backends/bio.ts";
import { createEngine, TlsError } from "../mod.ts";
import { BACKEND, dec, enc, HAS_TLS13, pki } from "./helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof TlsError && e.code === code;

test("newMem() (the guide's name) makes a MemoryBio on the chosen backend", () => {
  using bio = newMem({ backend: BACKEND });
  assert.ok(bio instanceof MemoryBio);
  bio.write("x");
  assert.equal(bio.toString(), "x");
});

test("write, pending, read in order; strings are UTF-8", () => {
  using bio = MemoryBio.newMem({ backend: BACKEND });
  assert.equal(bio.backend, BACKEND);
  assert.equal(bio.pending, 0);
  assert.equal(bio.write("héllo "), 7);
  assert.equal(bio.write(enc("world")), 5);
  assert.equal(bio.pending, 12);
  assert.equal(dec(bio.read(3)), "hé");
  assert.equal(bio.pending, 9);
  assert.equal(dec(bio.read()), "llo world");
  assert.equal(bio.pending, 0);
  const empty = bio.read();
  assert.ok(empty instanceof Uint8Array);
  assert.equal(empty.length, 0);
});

test("toString drains as UTF-8; read(0) and empty writes touch nothing", () => {
  using bio = createMemoryBio({ backend: BACKEND });
  assert.equal(bio.write(""), 0);
  assert.equal(bio.write(new Uint8Array(0)), 0);
  assert.equal(bio.pending, 0);
  bio.write("a€b");
  assert.equal(bio.read(0).length, 0);
  assert.equal(bio.pending, 5);
  assert.equal(bio.toString(), "a€b");
  assert.equal(bio.pending, 0);
  assert.equal(`${bio}`, "");
  assert.equal(bio.read(100).length, 0); // more than pending is fine
});

test("readInto fills a caller's buffer; subarray views are honoured", () => {
  using bio = MemoryBio.newMem({ backend: BACKEND });
  const src = new Uint8Array(100).map((_, i) => i);
  assert.equal(bio.write(src.subarray(10, 30)), 20);
  const into = new Uint8Array(64);
  assert.equal(bio.readInto(into.subarray(4, 12)), 8);
  assert.deepEqual([...into.subarray(4, 12)], [10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(into[3], 0);
  assert.equal(into[12], 0);
  assert.equal(bio.readInto(into), 12);
  assert.equal(into[0], 18);
  assert.equal(bio.readInto(into), 0);
  assert.equal(bio.readInto(new Uint8Array(0)), 0);
});

test("large and interleaved traffic comes out byte-exact", () => {
  using bio = MemoryBio.newMem({ backend: BACKEND });
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  assert.equal(bio.write(big), big.length);
  assert.equal(bio.pending, big.length);
  const back = bio.read();
  assert.equal(back.length, big.length);
  assert.ok(back.every((v, i) => v === big[i]));
  // Many small writes and reads of odd sizes, the queue never empty for long.
  let written = 0;
  let read = 0;
  for (let round = 0; round < 500; round++) {
    const chunk = new Uint8Array((round * 7) % 97 + 1).map((_, i) => (written + i) & 0xff);
    written += bio.write(chunk);
    const out = bio.read((round * 13) % 61);
    for (let i = 0; i < out.length; i++) assert.equal(out[i], (read + i) & 0xff);
    read += out.length;
  }
  const rest = bio.read();
  for (let i = 0; i < rest.length; i++) assert.equal(rest[i], (read + i) & 0xff);
  assert.equal(read + rest.length, written);
});

test("writeEof: eof after the rest is read, writes refused", () => {
  using bio = MemoryBio.newMem({ backend: BACKEND });
  bio.write("tail");
  assert.equal(bio.eof, false);
  bio.writeEof();
  bio.writeEof();
  assert.equal(bio.eof, false);
  assert.throws(() => bio.write("more"), isCode("CLOSED"));
  assert.equal(bio.toString(), "tail");
  assert.equal(bio.eof, true);
});

test("bad arguments: TypeError and INVALID_OPTION, never a crash", () => {
  using bio = MemoryBio.newMem({ backend: BACKEND });
  for (const bad of [null, undefined, 42, {}, [1, 2], new ArrayBuffer(4), new Uint16Array(2)]) {
    assert.throws(() => bio.write(bad as unknown as Uint8Array), TypeError);
  }
  for (const bad of [-1, 1.5, NaN, Infinity, "3", 2 ** 60]) {
    assert.throws(() => bio.read(bad as number), isCode("INVALID_OPTION"));
  }
  assert.throws(() => bio.readInto("x" as unknown as Uint8Array), TypeError);
  assert.throws(
    () => MemoryBio.newMem({ backend: "gnutls" as "openssl" }),
    (e: unknown) => isCode("INVALID_OPTION")(e) && (e as TlsError).option === "backend",
  );
  assert.throws(() => createMemoryBio(7 as unknown as object), isCode("INVALID_OPTION"));
  assert.equal(bio.pending, 0);
});

test("close is idempotent; use after close throws CLOSED; dispose closes", () => {
  const bio = MemoryBio.newMem({ backend: BACKEND });
  bio.write("dropped");
  bio.close();
  bio.close();
  assert.equal(bio.closed, true);
  assert.equal(bio.pending, 0);
  assert.equal(bio.toString(), "");
  assert.throws(() => bio.write("x"), isCode("CLOSED"));
  assert.throws(() => bio.read(), isCode("CLOSED"));
  assert.throws(() => bio.readInto(new Uint8Array(1)), isCode("CLOSED"));
  let kept: MemoryBio;
  {
    using scoped = new MemoryBio({ backend: BACKEND });
    kept = scoped;
    scoped.write("x");
  }
  assert.equal(kept.closed, true);
});

test("many BIOs created and dropped (explicitly and to the GC) stay independent", () => {
  const bios = Array.from({ length: 200 }, () => MemoryBio.newMem({ backend: BACKEND }));
  bios.forEach((b, i) => b.write(`bio ${i}`));
  bios.forEach((b, i) => assert.equal(b.toString(), `bio ${i}`));
  bios.forEach((b, i) => i % 2 === 0 && b.close());
  // The odd ones are left to the FinalizationRegistry.
  for (let i = 0; i < 1000; i++) MemoryBio.newMem({ backend: BACKEND }).write("leak");
});

test("two sans-IO engines talk TLS through a pair of MemoryBios", () => {
  const p = pki();
  using c2s = MemoryBio.newMem({ backend: BACKEND });
  using s2c = MemoryBio.newMem({ backend: BACKEND });
  using client = createEngine({ serverName: "localhost", caCerts: [p.ca.cert], backend: BACKEND });
  using server = createEngine({
    server: true,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
  });
  const shuttle = () => {
    for (let d; (d = client.pull());) c2s.write(d);
    if (c2s.pending) server.feed(c2s.read());
    for (let d; (d = server.pull());) s2c.write(d);
    if (s2c.pending) client.feed(s2c.read());
  };
  let rounds = 0;
  for (;;) {
    const c = client.handshake(); // both sides step every round (no short-circuit)
    const s = server.handshake();
    shuttle();
    if (c === "done" && s === "done") break;
    assert.ok(++rounds < 20, "handshake did not converge");
  }
  shuttle(); // TLS 1.3 tickets
  assert.equal(client.info().protocol, HAS_TLS13 ? "TLSv1.3" : "TLSv1.2");
  assert.equal(client.info().peerCertificate?.commonName, "localhost");
  client.write(enc("ping over BIOs"));
  shuttle();
  const buf = new Uint8Array(64);
  const n = server.read(buf);
  assert.equal(dec(buf.subarray(0, n ?? 0)), "ping over BIOs");
});
