// Security policy: renegotiation (refused by default, opt-in), the server session cache and
// tickets, security levels, post-quantum groups, and trustCertificate on a live context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backendInfo, connect, createContext, trustCertificate } from "../mod.ts";
import {
  BACKEND,
  connectedPair as pair,
  dec,
  enc,
  localServer as server,
  pki,
  readExactly,
  startPeer,
} from "./helpers.ts";

const p = pki();
const OPENSSL = BACKEND === "openssl";
const version = backendInfo(BACKEND).version;

/** s_client -tls1_2 against a jsec server, then `R` (renegotiate); returns what followed. */
async function clientRenegotiates(renegotiation: boolean | undefined) {
  const keylog: string[] = [];
  using s = server({
    keylog: (l: string) => keylog.push(l),
    ...(renegotiation === undefined ? {} : { renegotiation }),
  });
  const accepted = s.accept();
  const client = startPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${s.addr.port}`,
    "-tls1_2",
    "-servername",
    "localhost",
  ]);
  try {
    await client.waitFor(/Verify return code/);
    const sc = await accepted;
    try {
      client.write("R\n");
      await client.waitFor(/RENEGOTIATING/);
      client.write("after\n");
      let read: string | Error;
      try {
        read = dec(await readExactly(sc, 6));
        await sc.write(enc("reply\n"));
        await client.waitFor(/reply/);
      } catch (e) {
        read = e as Error;
        // s_client reports our alert after it has answered it: wait for its words.
        await client.waitFor(/no renegotiation/).catch(() => {});
      }
      // The listener survives: a fresh connection still works.
      const [c2, sc2] = await pair(s, { maxVersion: "TLS1.2" }); // one CLIENT_RANDOM line
      await c2.close();
      await sc2.close();
      return { read, keylog, output: client.output(), exited: client.exited };
    } finally {
      await sc.close().catch(() => {});
    }
  } finally {
    await client.stop();
  }
}

test("renegotiation is refused by default: alert, coded error, server survives", async () => {
  const r = await clientRenegotiates(undefined);
  assert.ok(r.read instanceof Error, `server read ${r.read}`);
  assert.equal(r.read.name, "TlsError");
  assert.equal((r.read as { code?: string }).code, "ALERT");
  assert.match(r.read.message, /handshake failure/);
  assert.match(r.output, /no renegotiation/); // s_client got our no_renegotiation alert
  assert.notEqual(await r.exited, 0);
  assert.equal(r.keylog.length, 2); // the first handshake, then the fresh connection
});

test("renegotiation: true lets a TLS 1.2 client renegotiate", async () => {
  const r = await clientRenegotiates(true);
  assert.equal(r.read, "after\n");
  // Each handshake logs a CLIENT_RANDOM: first, renegotiation, the fresh connection.
  assert.equal(r.keylog.length, 3);
  assert.notEqual(r.keylog[0], r.keylog[1]);
});

test("renegotiation must be a boolean", () => {
  assert.throws(
    () => createContext({ backend: BACKEND, renegotiation: "yes" as unknown as boolean }),
    { code: "INVALID_OPTION", option: "renegotiation" },
  );
});

/** Connects twice over TLS 1.2, the second time with the first session; was it resumed? */
async function resumes(serverExtra: Record<string, unknown>): Promise<boolean> {
  using s = server({ maxVersion: "TLS1.2", ...serverExtra });
  const [c1, sc1] = await pair(s, { maxVersion: "TLS1.2" });
  const session = c1.exportSession();
  await c1.close();
  await sc1.close();
  if (!session) return false;
  const [c2, sc2] = await pair(s, { maxVersion: "TLS1.2", session });
  try {
    assert.equal(c2.info.sessionReused, sc2.info.sessionReused);
    return c2.info.sessionReused;
  } finally {
    await c2.close();
    await sc2.close();
  }
}

test("tickets: false — TLS 1.2 resumption still works through the session cache", async () => {
  assert.equal(await resumes({ tickets: false }), true);
});

test("sessionCacheSize: 0 with tickets: false — no resumption", async () => {
  assert.equal(await resumes({ tickets: false, sessionCacheSize: 0 }), false);
});

test("tickets alone (no cache) still resume; sessionTimeout/sessionCacheSize are validated", async () => {
  assert.equal(await resumes({ sessionCacheSize: 0 }), true);
  const base = { server: true as const, cert: p.server.cert, key: p.server.key, backend: BACKEND };
  for (
    const [option, value] of [["sessionTimeout", -1], ["sessionCacheSize", 1.5], ["tickets", 1]]
  ) {
    assert.throws(() => createContext({ ...base, [option]: value }), {
      code: "INVALID_OPTION",
      option,
    });
  }
});

test("securityLevel: level 3 refuses an RSA-2048 certificate, level 2 takes it", {
  skip: OPENSSL ? false : "mbedTLS has no security levels",
}, async () => {
  const rsa = {
    server: true as const,
    cert: p.rsaServer.cert,
    key: p.rsaServer.key,
    backend: BACKEND,
  };
  // Our own certificate: rejected when the context is built.
  assert.throws(() => createContext({ ...rsa, securityLevel: 3 }), {
    code: "INVALID_OPTION",
    option: "cert",
  });
  createContext({ ...rsa, securityLevel: 2 }).free();
  // The peer's: a level-3 client refuses the RSA-2048 server, a level-2 client accepts it.
  using s = server({ cert: p.rsaServer.cert, key: p.rsaServer.key });
  const accepted = s.accept().catch(() => null); // the failed handshake never yields a conn
  await assert.rejects(
    connect({
      hostname: "localhost",
      port: s.addr.port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
      securityLevel: 3,
    }),
    (e: Error & { code?: string }) => {
      assert.equal(e.name, "TlsError");
      assert.ok(e.code === "CERT_VERIFY" || e.code === "HANDSHAKE", `${e.code}: ${e.message}`);
      return true;
    },
  );
  const [c, sc] = await Promise.all([
    connect({
      hostname: "localhost",
      port: s.addr.port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
      securityLevel: 2,
    }),
    accepted,
  ]);
  assert.equal(c.info.peerCertificate?.publicKeyBits, 2048);
  await c.close();
  await sc?.close();
});

test("securityLevel is validated; UNSUPPORTED on mbedTLS", () => {
  for (const bad of [-1, 6, 2.5, "3"]) {
    assert.throws(() => createContext({ backend: BACKEND, securityLevel: bad as number }), {
      code: "INVALID_OPTION",
      option: "securityLevel",
    });
  }
  if (OPENSSL) return;
  assert.throws(() => createContext({ backend: BACKEND, securityLevel: 1 }), (e: Error) => {
    assert.equal((e as { code?: string }).code, "UNSUPPORTED");
    assert.equal((e as { option?: string }).option, "securityLevel");
    assert.ok(
      e.message.includes("mbedtls") && e.message.includes(version.replace(/^mbed TLS /i, "")),
    );
    return true;
  });
});

test("groups: post-quantum hybrids where the library has them, else INVALID_OPTION", async () => {
  const pq = backendInfo(BACKEND).capabilities.postQuantumGroups;
  if (pq.length === 0) {
    assert.throws(
      () => createContext({ backend: BACKEND, groups: "X25519MLKEM768" }),
      (e: Error) => {
        assert.equal((e as { code?: string }).code, "INVALID_OPTION");
        assert.equal((e as { option?: string }).option, "groups");
        assert.match(e.message, /groups/);
        return true;
      },
    );
    return;
  }
  using s = server({ groups: pq[0] });
  const [c, sc] = await pair(s, { groups: pq[0] });
  try {
    assert.equal(c.info.group?.toLowerCase(), pq[0].toLowerCase());
  } finally {
    await c.close();
    await sc.close();
  }
});

test("trustCertificate on a system-trust context never leaks into other contexts", async () => {
  using s = server();
  // Both contexts start from the system store, which the library shares between them.
  using trusting = createContext({ backend: BACKEND });
  using plain = createContext({ backend: BACKEND });
  trustCertificate(trusting, p.ca.cert);
  const [c, sc] = await Promise.all([
    connect({ hostname: "localhost", port: s.addr.port, context: trusting }),
    s.accept(),
  ]);
  assert.equal(c.info.peerCertificate?.commonName, "localhost");
  await c.close();
  await sc.close();
  const refused = s.accept().catch(() => null);
  await assert.rejects(connect({ hostname: "localhost", port: s.addr.port, context: plain }), {
    code: "CERT_VERIFY",
  });
  using fresh = createContext({ backend: BACKEND });
  await assert.rejects(connect({ hostname: "localhost", port: s.addr.port, context: fresh }), {
    code: "CERT_VERIFY",
  });
  s.close();
  await refused;
});

test("trustCertificate adds a CA to a context already in use", async () => {
  using s = server();
  // Trusts only an unrelated CA at first.
  using ctx = createContext({ backend: BACKEND, caCerts: [p.unknownCa.cert] });
  const accepted = s.accept().catch(() => null);
  await assert.rejects(
    connect({ hostname: "localhost", port: s.addr.port, context: ctx }),
    { code: "CERT_VERIFY" },
  );
  trustCertificate(ctx, p.ca.cert);
  const [c, sc] = await Promise.all([
    connect({ hostname: "localhost", port: s.addr.port, context: ctx }),
    accepted.then((x) => x ?? s.accept()),
  ]);
  try {
    await c.write(enc("ok"));
    assert.equal(dec(await readExactly(sc!, 2)), "ok");
    assert.equal(c.info.peerCertificate?.commonName, "localhost");
  } finally {
    await c.close();
    await sc!.close();
  }
  // DER works too, and bad input names the argument.
  assert.throws(() => trustCertificate(ctx, "not a pem"), { code: "INVALID_OPTION" });
  assert.throws(() => trustCertificate({} as never, p.ca.cert), {
    code: "INVALID_OPTION",
    option: "ctx",
  });
});
