/**
 * DTLS session resumption: keep `exportSession()` from one connection and
 * pass it as `session` to the next; the second handshake is abbreviated.
 *
 *   deno run -A --unstable-net examples/dtls_session_resumption.ts
 *   bun examples/dtls_session_resumption.ts
 */

import * as dtls from "../dtls/mod.ts";
import { localhostCert } from "./_certs.ts";

const { cert, key } = localhostCert();

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
