/**
 * TLS 1.3 KeyUpdate: either side can roll its traffic keys on a live
 * connection (`conn.keyUpdate()`), and ask the peer to roll its keys too
 * (`conn.keyUpdate(true)`). Data keeps flowing across the update.
 *
 * mbedTLS 2.28 has no TLS 1.3: there `keyUpdate` throws
 * `TlsError("UNSUPPORTED")`, which this example prints.
 *
 *   deno run -A --unstable-net examples/tls_key_update.ts
 *   JSEC_BACKEND=mbedtls bun examples/tls_key_update.ts
 */

import { connect, serve, TlsError } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

// OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  cert,
  key,
  handler: (conn) => conn.readable.pipeTo(conn.writable), // echo
});

const enc = new TextEncoder();
const dec = new TextDecoder();
const conn = await connect({ hostname: "localhost", port: server.addr.port, caCerts: [cert] });
console.log(`connected: ${conn.info.protocol} ${conn.info.cipher}`);

async function roundTrip(text: string): Promise<void> {
  await conn.write(enc.encode(text));
  let got = "";
  const buf = new Uint8Array(256);
  while (got.length < text.length) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("connection closed");
    got += dec.decode(buf.subarray(0, n));
  }
  console.log(`echo: ${got}`);
}

try {
  await roundTrip("before the key update");
  await conn.keyUpdate(); // our sending keys change
  console.log("keyUpdate(): client sending keys updated");
  await roundTrip("after keyUpdate()");
  await conn.keyUpdate(true); // ours, and the server is asked to update its keys too
  console.log("keyUpdate(true): client keys updated, server asked to update");
  await roundTrip("after keyUpdate(true)");
  console.log("key update complete");
} catch (e) {
  if (!(e instanceof TlsError)) throw e;
  console.log(`keyUpdate is not available here: TlsError ${e.code}: ${e.message}`);
} finally {
  await conn.close();
  await server.shutdown();
}
