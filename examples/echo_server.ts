/**
 * A TLS echo server with `serve()`: every connection runs the handler
 * concurrently, a failing handshake or handler never stops the server.
 * Three clients connect at once, each sends a few lines and reads them back,
 * then the server shuts down gracefully.
 *
 *   deno run -A --unstable-net examples/echo_server.ts
 *   bun examples/echo_server.ts
 */

import { connect, serve, type TlsConn } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

// The certificate is made with OpenSSL (jsec cannot sign with mbedTLS 2.28);
// the server and clients run on the default backend (JSEC_BACKEND).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });

let served = 0;
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  cert,
  key,
  async handler(conn: TlsConn) {
    served++;
    // Echo until the client half-closes: its close_notify ends the readable.
    await conn.readable.pipeTo(conn.writable);
  },
  onError: (e, addr) => console.error(`connection from ${addr.hostname} failed:`, e),
});
console.log(`echo server on ${server.addr.hostname}:${server.addr.port}`);

async function client(id: number): Promise<void> {
  await using conn = await connect({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [cert],
  });
  const lines = [`client ${id}: hello`, `client ${id}: how are you?`, `client ${id}: bye`];
  const sent = lines.join("\n") + "\n";
  await conn.write(new TextEncoder().encode(sent));
  await conn.closeWrite(); // close_notify: "no more data from me"
  let got = "";
  const buf = new Uint8Array(1024);
  for (let n; (n = await conn.read(buf)) !== null;) {
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
  for (const line of got.trimEnd().split("\n")) console.log(`echo: ${line}`);
  if (got !== sent) throw new Error(`client ${id}: echo mismatch`);
}

await Promise.all([1, 2, 3].map(client));
await server.shutdown({ timeout: 5_000 }); // connections still open after 5 s are closed
console.log(`server shut down after ${served} connections`);
