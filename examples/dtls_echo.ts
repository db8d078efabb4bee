/**
 * A DTLS echo server and a client in one process, with a throwaway
 * certificate made by the openssl CLI.
 *
 *   deno run -A --unstable-net examples/dtls_echo.ts
 *   bun examples/dtls_echo.ts
 */

import * as dtls from "../dtls/mod.ts";
import { localhostCert } from "./_certs.ts";

const { cert, key } = localhostCert();

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
