/**
 * DTLS session resumption: keep `exportSession()` from one connection and
 * pass it as `session` to the next; the second handshake is abbreviated.
 *
 *   deno run -A --unstable-net examples/dtls_session_resumption.ts
 *   bun examples/dtls_session_resumption.ts
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
const port = server.addr.port;

const first = await dtls.connect({ hostname: "127.0.0.1", port, caCerts: [cert] });
const session = first.exportSession();
console.log(
  "first:  reused =",
  first.info.sessionReused,
  `(${first.info.handshakeMs.toFixed(1)} ms)`,
);
await first.close();

const second = await dtls.connect({
  hostname: "127.0.0.1",
  port,
  caCerts: [cert],
  session: session ?? undefined,
});
console.log(
  "second: reused =",
  second.info.sessionReused,
  `(${second.info.handshakeMs.toFixed(1)} ms)`,
);
await second.close();
await server.close();
