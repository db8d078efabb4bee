/**
 * jsec in one screen: a certificate made on the spot, a TLS echo server on
 * loopback, a client that verifies it, one round trip, everything closed.
 * `JSEC_BACKEND=mbedtls` runs the same code on mbedTLS.
 *
 *   deno run -A --unstable-net examples/demo.ts
 *   bun examples/demo.ts
 */

import { backendInfo, connect, CryptoError, serve } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

const started = performance.now();
const backend = backendInfo();
console.log(`backend:  ${backend.name} (${backend.version})`);

// A self-signed certificate for localhost / 127.0.0.1 (P-256), made by the backend.
// jsec cannot sign certificates with mbedTLS 2.28: then OpenSSL makes it.
async function selfSigned(): Promise<{ cert: string; key: string }> {
  try {
    return await generateSelfSigned({ commonName: "localhost", days: 1 });
  } catch (e) {
    if (!(e instanceof CryptoError && e.code === "UNSUPPORTED")) throw e;
    console.log(`cert:     ${e.message}; made with openssl instead`);
    return await generateSelfSigned({ commonName: "localhost", days: 1, backend: "openssl" });
  }
}
const { cert, key } = await selfSigned();

// A TLS echo server on a free loopback port.
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  cert,
  key,
  alpnProtocols: ["echo/1", "http/1.1"],
  handler: (conn) => conn.readable.pipeTo(conn.writable),
});
console.log(`server:   listening on ${server.addr.hostname}:${server.addr.port}`);

// A client that trusts exactly that certificate and checks the name "localhost".
const conn = await connect({
  hostname: "127.0.0.1",
  port: server.addr.port,
  serverName: "localhost",
  caCerts: [cert],
  alpnProtocols: ["echo/1"],
});
const info = conn.info;
console.log(`protocol: ${info.protocol}`);
console.log(`cipher:   ${info.cipher} (${info.cipherBits} bits)`);
console.log(`peer:     ${info.peerCertificate?.subject}`);
console.log(`alpn:     ${info.alpnProtocol}`);

const message = "hello over TLS";
await conn.write(new TextEncoder().encode(message));
const buf = new Uint8Array(64);
let echoed = "";
while (echoed.length < message.length) {
  const n = await conn.read(buf);
  if (n === null) break;
  echoed += new TextDecoder().decode(buf.subarray(0, n));
}
console.log(`echo:     ${echoed} (${echoed === message ? "round trip ok" : "MISMATCH"})`);

await conn.close();
await server.shutdown();
console.log(`done in ${Math.round(performance.now() - started)} ms`);
