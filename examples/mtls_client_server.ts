/**
 * Mutual TLS: a small CA issues a server and a client certificate; the server
 * requires a client certificate signed by that CA (`clientAuth: "require"`).
 * A client with the certificate gets in and is identified by its subject; a
 * client without one is refused with a coded `TlsError`.
 *
 *   deno run -A --unstable-net examples/mtls_client_server.ts
 *   bun examples/mtls_client_server.ts
 */

import { connect, listen, TlsError } from "../mod.ts";
import { generateSelfSigned, issueCertificate } from "../crypto/cert.ts";
import { generateKey } from "../crypto/mod.ts";

// The PKI is made with OpenSSL (jsec cannot sign with mbedTLS 2.28); the TLS
// connections below run on the default backend (JSEC_BACKEND).
const backend = "openssl";
const ca = await generateSelfSigned({ commonName: "Example mTLS CA", isCa: true, backend });
async function leaf(commonName: string, san: string[]): Promise<{ cert: string; key: string }> {
  const { privateKey, publicKey } = await generateKey("p256", { backend });
  const cert = await issueCertificate({
    caCert: ca.cert,
    caKey: ca.key,
    publicKey,
    commonName,
    san,
    days: 1,
    backend,
  });
  return { cert, key: privateKey };
}
const serverPair = await leaf("localhost", ["DNS:localhost", "IP:127.0.0.1"]);
const clientPair = await leaf("sensor-42", ["DNS:sensor-42.example"]);

const server = listen({
  hostname: "127.0.0.1",
  port: 0,
  ...serverPair,
  clientAuth: "require",
  caCerts: [ca.cert], // whom the server trusts to vouch for clients
  onError: (e) => console.log(`server: refused a client: ${(e as Error).message}`),
});
console.log(`mTLS server on 127.0.0.1:${server.addr.port} (client certificates required)`);

const serving = (async () => {
  for await (const conn of server) {
    const who = conn.info.peerCertificate;
    console.log(`server: client authenticated as ${who?.subject} (issuer ${who?.issuer})`);
    await conn.write(new TextEncoder().encode(`hello, ${who?.commonName}\n`));
    await conn.close();
  }
})();

// 1. A client presenting its certificate.
{
  await using conn = await connect({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [ca.cert],
    cert: clientPair.cert,
    key: clientPair.key,
  });
  const buf = new Uint8Array(256);
  const n = await conn.read(buf);
  console.log(
    `client: ${conn.info.protocol}, server says: ${
      new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim()
    }`,
  );
}

// 2. A client without a certificate: the server aborts the handshake. In TLS 1.3
// the client learns it only when it next reads, so read once.
try {
  await using conn = await connect({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [ca.cert],
  });
  await conn.read(new Uint8Array(16));
  console.log("client without certificate: unexpectedly accepted");
} catch (e) {
  if (!(e instanceof TlsError)) throw e;
  console.log(`client without certificate: rejected, TlsError ${e.code}: ${e.message}`);
}

server.close();
await serving;
