// mbedTLS 2.28: thousands of engine and context lifecycles keep RSS flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { pki } from "./helpers.ts";
import { config, connectPair, enc, mbed, transfer } from "./mbedtls_helpers.ts";

const p = pki();
const MB = 1024 * 1024;

function rss(): number {
  return process.memoryUsage().rss;
}

test(
  "mbedtls: 5,000 engine create/handshake/free cycles keep RSS flat",
  { timeout: 120_000 },
  () => {
    const sctx = mbed.createContext(
      config("server", { cert: enc(p.server.cert), key: enc(p.server.key) }),
    );
    const cctx = mbed.createContext(config("client", { caCerts: [enc(p.ca.cert)] }));
    const dctx = mbed.createContext(
      config("server", { datagram: true, cert: enc(p.server.cert), key: enc(p.server.key) }),
    );
    const dcctx = mbed.createContext(
      config("client", { datagram: true, caCerts: [enc(p.ca.cert)] }),
    );
    try {
      const first = cctx.createEngine({ serverName: "localhost" });
      const firstServer = sctx.createEngine({});
      connectPair(first, firstServer);
      const session = first.exportSession()!;
      first.free();
      firstServer.free();
      const payload = new Uint8Array(4096).fill(7);

      // Full handshakes are ~7 ms of ECC each: most cycles resume a session (still a
      // fresh mbedtls_ssl_context with its buffers); every 100th is a full handshake,
      // every 250th a DTLS one, every 100th also builds and frees two contexts.
      const cycle = (i: number) => {
        const dtls = i % 250 === 0;
        const c = (dtls ? dcctx : cctx).createEngine(
          i % 100 === 0 || dtls
            ? { serverName: "localhost" }
            : { serverName: "localhost", session },
        );
        const s = (dtls ? dctx : sctx).createEngine(dtls ? { transportId: enc(`peer ${i}`) } : {});
        connectPair(c, s);
        if (!dtls) assert.equal(transfer(c, s, payload).length, payload.length);
        c.exportKeyingMaterial("EXPERIMENTAL m", 16);
        c.info();
        c.free();
        s.free();
        if (i % 100 === 0) {
          mbed.createContext(config("server", { cert: enc(p.server.cert), key: enc(p.server.key) }))
            .free();
          mbed.createContext(config("client", { caCerts: [enc(p.ca.cert)] })).free();
        }
      };
      for (let i = 0; i < 500; i++) cycle(i); // warm up allocators and JIT
      const before = rss();
      const t0 = performance.now();
      for (let i = 500; i < 5500; i++) cycle(i);
      const after = rss();
      const growth = (after - before) / MB;
      console.log(
        `mbedtls memory: RSS ${(before / MB).toFixed(1)} MB → ${(after / MB).toFixed(1)} MB ` +
          `(+${growth.toFixed(1)} MB) over 5,000 cycles in ${
            ((performance.now() - t0) / 1000).toFixed(1)
          } s`,
      );
      assert.ok(growth < 40, `RSS grew by ${growth.toFixed(1)} MB`);
    } finally {
      for (const c of [sctx, cctx, dctx, dcctx]) c.free();
    }
  },
);
