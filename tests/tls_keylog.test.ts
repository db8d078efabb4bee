// NSS key log: the `keylog` option on both ends (TLS 1.2 CLIENT_RANDOM, TLS 1.3 traffic
// secrets), agreement with openssl s_server -keylogfile, SSLKEYLOGFILE in a child process of
// the same runtime, and a throwing keylog callback that must not break the handshake.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { connect, listen } from "../mod.ts";
import {
  BACKEND,
  childCommand,
  dec,
  enc,
  HAS_TLS13,
  opensslServer,
  pki,
  readExactly,
  tempDir,
} from "./helpers.ts";

const p = pki();
const TLS12_LINE = /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/i;
const TLS13_LABELS = [
  "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  "CLIENT_TRAFFIC_SECRET_0",
  "SERVER_TRAFFIC_SECRET_0",
  "EXPORTER_SECRET",
];

/** One jsec ↔ jsec connection with a keylog on each end; returns both logs. */
async function logged(
  version: "TLS1.2" | "TLS1.3",
  keylogs: { client?: (l: string) => void; server?: (l: string) => void } = {},
): Promise<{ client: string[]; server: string[] }> {
  const client: string[] = [];
  const server: string[] = [];
  using s = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: p.server.cert,
    key: p.server.key,
    backend: BACKEND,
    maxVersion: version,
    keylog: keylogs.server ?? ((l) => server.push(l)),
  });
  const [c, sc] = await Promise.all([
    connect({
      hostname: "localhost",
      port: s.addr.port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
      maxVersion: version,
      keylog: keylogs.client ?? ((l) => client.push(l)),
    }),
    s.accept(),
  ]);
  try {
    // A round trip: both ends have finished their handshakes and logged everything.
    await c.write(enc("ping"));
    assert.equal(dec(await readExactly(sc, 4)), "ping");
    await sc.write(enc("pong"));
    assert.equal(dec(await readExactly(c, 4)), "pong");
    assert.equal(c.info.protocol, version === "TLS1.3" ? "TLSv1.3" : "TLSv1.2");
  } finally {
    await c.close();
    await sc.close();
  }
  return { client, server };
}

const sorted = (lines: string[]) => lines.map((l) => l.toLowerCase()).sort();

test("TLS 1.2: one CLIENT_RANDOM line, the same on both ends", async () => {
  const { client, server } = await logged("TLS1.2");
  assert.equal(client.length, 1, client.join("\n"));
  assert.match(client[0], TLS12_LINE);
  assert.deepEqual(sorted(server), sorted(client));
});

test("TLS 1.3: handshake, traffic and exporter secrets, the same on both ends", {
  skip: HAS_TLS13 ? false : "no TLS 1.3 on this backend",
}, async () => {
  const { client, server } = await logged("TLS1.3");
  const labels = client.map((l) => l.split(" ")[0]).sort();
  assert.deepEqual(labels, [...TLS13_LABELS].sort());
  for (const line of client) {
    // label, client random (32 bytes), secret (32 or 48 bytes)
    assert.match(line, /^[A-Z_0-9]+ [0-9a-f]{64} ([0-9a-f]{64}|[0-9a-f]{96})$/i);
  }
  const randoms = new Set(client.map((l) => l.split(" ")[1].toLowerCase()));
  assert.equal(randoms.size, 1); // one connection, one client random
  assert.deepEqual(sorted(server), sorted(client));
});

test("jsec client's log matches openssl s_server -keylogfile", async () => {
  const dir = tempDir();
  const file = join(dir, "server.keylog");
  writeFileSync(file, "");
  const { peer, port } = await opensslServer([
    "-cert",
    p.server.certFile,
    "-key",
    p.server.keyFile,
    "-keylogfile",
    file,
  ]);
  const lines: string[] = [];
  try {
    const c = await connect({
      hostname: "localhost",
      port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
      keylog: (l) => lines.push(l),
    });
    try {
      await c.write(enc("keylog-sync\n"));
      await peer.waitFor(/keylog-sync/); // s_server has finished its handshake and logged
    } finally {
      await c.close();
    }
  } finally {
    await peer.stop();
  }
  const theirs = readFileSync(file, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  assert.ok(lines.length > 0);
  assert.deepEqual(sorted(lines), sorted(theirs));
});

test("a keylog callback that throws does not break the handshake", async () => {
  const boom = () => {
    throw new Error("keylog sink broken");
  };
  const { client, server } = await logged(HAS_TLS13 ? "TLS1.3" : "TLS1.2", {
    client: boom,
    server: boom,
  });
  assert.deepEqual([client, server], [[], []]);
});

test("SSLKEYLOGFILE (read at context creation) writes the same lines", () => {
  const dir = tempDir();
  const file = join(dir, "keys.log");
  const script = join(dir, "child.ts");
  const modUrl = pathToFileURL(resolve("mod.ts")).href;
  // The child's client logs through SSLKEYLOGFILE; its server through a callback to stdout.
  writeFileSync(
    script,
    `import { connect, listen } from ${JSON.stringify(modUrl)};
const server = [];
const s = listen({ hostname: "127.0.0.1", port: 0, cert: ${JSON.stringify(p.server.cert)},
  key: ${JSON.stringify(p.server.key)}, backend: ${JSON.stringify(BACKEND)},
  keylog: (l) => server.push(l) });
const [c, sc] = await Promise.all([
  connect({ hostname: "localhost", port: s.addr.port, caCerts: [${JSON.stringify(p.ca.cert)}],
    backend: ${JSON.stringify(BACKEND)} }),
  s.accept(),
]);
await c.write(new TextEncoder().encode("x"));
await sc.read(new Uint8Array(8));
await sc.write(new TextEncoder().encode("y"));
await c.read(new Uint8Array(8));
await c.close(); await sc.close(); s.close();
console.log(JSON.stringify(server));
`,
  );
  const [exe, args] = childCommand(script);
  const out = execFileSync(exe, args, {
    env: { ...process.env, SSLKEYLOGFILE: file, JSEC_BACKEND: BACKEND },
    timeout: 60_000,
    stdio: ["ignore", "pipe", "pipe"],
  }).toString();
  const serverLines = JSON.parse(out.trim().split("\n").pop()!) as string[];
  const fileLines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  assert.ok(fileLines.length > 0, "SSLKEYLOGFILE stayed empty");
  if (HAS_TLS13) {
    assert.deepEqual(fileLines.map((l) => l.split(" ")[0]).sort(), [...TLS13_LABELS].sort());
  } else {
    assert.equal(fileLines.length, 1);
    assert.match(fileLines[0], TLS12_LINE);
  }
  assert.deepEqual(sorted(fileLines), sorted(serverLines));
});
