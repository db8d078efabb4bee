/**
 * Session resumption: the first connection does a full handshake and the
 * client keeps its session (`conn.exportSession()`); the next connections
 * hand it back (`session`) and resume: no certificate exchange, fewer round
 * trips, `info.sessionReused === true`. TLS 1.3 uses tickets (PSK), TLS 1.2
 * tickets or the server's session cache.
 *
 *   deno run -A --unstable-net examples/session_resumption.ts
 *   bun examples/session_resumption.ts
 */

import { connect, createContext, serve } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

// OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });

// Resumption needs the server's ticket keys / session cache to outlive one
// connection: one listener (one context) serves them all.
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  cert,
  key,
  handler: (conn) => conn.readable.pipeTo(conn.writable),
});

// Clients share one context too (trust is loaded once).
using clientContext = createContext({ caCerts: [cert] });

async function visit(label: string, session?: Uint8Array): Promise<Uint8Array | null> {
  const conn = await connect({
    hostname: "localhost",
    port: server.addr.port,
    context: clientContext,
    session,
  });
  // TLS 1.3 sends tickets after the handshake: one round trip makes sure they arrived.
  await conn.write(new TextEncoder().encode("ping"));
  await conn.read(new Uint8Array(16));
  const { protocol, sessionReused, handshakeMs } = conn.info;
  console.log(
    `${label}: ${protocol}, ${sessionReused ? "RESUMED" : "full handshake"}, ` +
      `handshake ${handshakeMs.toFixed(1)} ms`,
  );
  const next = conn.exportSession();
  await conn.close();
  return next;
}

let session = await visit("connection 1");
console.log(`session saved: ${session ? `${session.length} bytes` : "none"}`);
for (const n of [2, 3]) session = (await visit(`connection ${n}`, session ?? undefined)) ?? session;
await visit("connection 4 (no session)");
await server.shutdown();
