/**
 * What a DTLS connection reports: protocol, cipher, ALPN, peer certificate,
 * the data MTU, an RFC 5705 exporter (e.g. for SRTP keys) and counters.
 *
 *   deno run -A --unstable-net examples/dtls_connection_info.ts
 *   bun examples/dtls_connection_info.ts
 */

import * as dtls from "../dtls/mod.ts";
import { localhostCert } from "./_certs.ts";

const { cert, key } = localhostCert();

const server = dtls.listen({
  hostname: "127.0.0.1",
  port: 0,
  cert,
  key,
  alpnProtocols: ["coap"],
  mtu: 1400,
});
await server.ready;
const accepted = server.accept();
const conn = await dtls.connect({
  hostname: "127.0.0.1",
  port: server.addr.port,
  caCerts: [cert],
  alpnProtocols: ["coap"],
  mtu: 1400,
});
const peer = (await accepted)!;

const { protocol, cipher, alpnProtocol, peerCertificate, backend, handshakeMs } = conn.info;
console.log({ protocol, cipher, alpnProtocol, backend, handshakeMs: Math.round(handshakeMs) });
console.log("server certificate:", peerCertificate?.subject, peerCertificate?.san);
console.log("largest datagram:", conn.maxDatagramSize, "bytes");
const label = "EXTRACTOR-dtls_srtp";
const a = conn.exportKeyingMaterial(label, 16);
const b = peer.exportKeyingMaterial(label, 16);
console.log("exporter equal on both ends:", a.every((x, i) => x === b[i]));
console.log("peer address seen by the server:", peer.remoteAddr);
console.log("client stats:", conn.stats);
await conn.close();
await server.close();
console.log("server stats:", server.stats);
