/**
 * A DTLS echo server and a client in one process, with a throwaway
 * certificate made by the openssl CLI.
 *
 *   deno run -A --unstable-net examples/dtls_echo.ts
 *   bun examples/dtls_echo.ts
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dtls from "../dtls/mod.ts";

const dir = mkdtempSync(join(tmpdir(), "jsec-dtls-"));
execFileSync("openssl", [
  "req",
  "-x509",
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:P-256",
  "-nodes",
  "-days",
  "1",
  "-subj",
  "/CN=localhost",
  "-addext",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
  "-keyout",
  join(dir, "key.pem"),
  "-out",
  join(dir, "cert.pem"),
], { stdio: "ignore" });
const cert = readFileSync(join(dir, "cert.pem"), "utf8");
const key = readFileSync(join(dir, "key.pem"), "utf8");
rmSync(dir, { recursive: true });

const server = dtls.listen({ hostname: "127.0.0.1", port: 0, cert, key });
await server.ready;
console.log(`DTLS echo server on udp://127.0.0.1:${server.addr.port}`);
const serving = (async () => {
  for await (const peer of server) {
    (async () => {
      for (let d; (d = await peer.receive()) !== null;) await peer.send(d);
    })().catch(() => {});
  }
})();

const conn = await dtls.connect({ hostname: "127.0.0.1", port: server.addr.port, caCerts: [cert] });
for (const word of ["one", "two", "three"]) {
  await conn.send(new TextEncoder().encode(word));
  console.log("echo:", new TextDecoder().decode((await conn.receive())!));
}
console.log("client stats:", conn.stats);
await conn.close();
await server.close();
await serving;
console.log("server stats:", server.stats);
