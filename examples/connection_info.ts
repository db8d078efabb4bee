/**
 * Everything jsec tells you about a connection: `conn.info` (protocol,
 * cipher, ALPN, SNI, group, resumption, the peer's certificate chain, timing),
 * the addresses, the keying-material exporter (RFC 5705 / 8446), and what the
 * backend can do (`backendInfo()`).
 *
 *   deno run -A --unstable-net examples/connection_info.ts
 *   bun examples/connection_info.ts
 */

import { backendInfo, type CertInfo, connect, listen } from "../mod.ts";
import { generateSelfSigned, issueCertificate } from "../crypto/cert.ts";
import { generateKey } from "../crypto/mod.ts";

// A CA and a server certificate it issued (made with OpenSSL: jsec cannot
// sign with mbedTLS 2.28), so the client sees a chain of two.
const backend = "openssl";
const ca = await generateSelfSigned({ commonName: "Example Root CA", isCa: true, backend });
const serverKey = await generateKey("p256", { backend });
const serverCert = await issueCertificate({
  caCert: ca.cert,
  caKey: ca.key,
  publicKey: serverKey.publicKey,
  commonName: "localhost",
  san: ["DNS:localhost", "DNS:api.localhost", "IP:127.0.0.1"],
  organization: "Example Inc",
  days: 30,
  backend,
});

const b = backendInfo();
const caps = Object.entries(b.capabilities).filter(([, v]) => v === true).map(([k]) => k);
console.log(`backend:   ${b.name}, ${b.version}`);
console.log(`libraries: ${b.libraries.join(", ")}`);
console.log(`can do:    ${caps.join(" ")}`);

const server = listen({
  hostname: "127.0.0.1",
  port: 0,
  cert: serverCert + ca.cert, // send the chain: leaf, then CA
  key: serverKey.privateKey,
  alpnProtocols: ["h2", "http/1.1"],
});
const [conn, serverSide] = await Promise.all([
  connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    serverName: "api.localhost", // SNI, and the name verified against the SAN
    caCerts: [ca.cert],
    alpnProtocols: ["http/1.1"],
  }),
  server.accept(),
]);

const show = (c: CertInfo, indent: string) =>
  [
    `${indent}subject:     ${c.subject}`,
    `${indent}issuer:      ${c.issuer}`,
    `${indent}valid:       ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}`,
    `${indent}san:         ${c.san.join(", ") || "-"}`,
    `${indent}key:         ${c.publicKeyType} ${c.publicKeyBits} bits${
      c.curve ? ` (${c.curve})` : ""
    }`,
    `${indent}serial:      ${c.serial}`,
    `${indent}sha256:      ${c.fingerprint256}`,
    `${indent}CA:          ${c.isCa}`,
  ].join("\n");

const i = conn.info;
console.log("\nclient side (conn.info):");
console.log(`  protocol:      ${i.protocol}`);
console.log(`  cipher:        ${i.cipher} (${i.cipherBits} bits)`);
console.log(`  group:         ${i.group ?? "(not reported by this backend)"}`);
console.log(`  signature:     ${i.signatureAlgorithm ?? "(not reported by this backend)"}`);
console.log(`  alpn:          ${i.alpnProtocol}`);
console.log(`  serverName:    ${i.serverName}`);
console.log(`  sessionReused: ${i.sessionReused}`);
console.log(`  handshake:     ${i.handshakeMs.toFixed(2)} ms on ${i.backend}`);
console.log(`  local:         ${conn.localAddr.hostname}:${conn.localAddr.port}`);
console.log(`  remote:        ${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`);
const ocsp = (i as { ocspResponse?: Uint8Array | null }).ocspResponse;
if (ocsp !== undefined) {
  console.log(`  ocsp:          ${ocsp ? `${ocsp.length} bytes` : "none stapled"}`);
}
console.log(`  peer chain (${i.peerCertificateChain.length}):`);
i.peerCertificateChain.forEach((c, n) => console.log(`   [${n}]\n${show(c, "     ")}`));

console.log("\nserver side:");
console.log(`  SNI asked for: ${serverSide.info.serverName}`);
console.log(`  alpn chosen:   ${serverSide.info.alpnProtocol}`);
console.log(
  `  client cert:   ${serverSide.info.peerCertificate?.subject ?? "none (not requested)"}`,
);

// Both ends derive the same secret from the session: bind app-level auth to this channel.
const label = "EXPORTER-example";
const a = conn.exportKeyingMaterial(label, 32);
const z = serverSide.exportKeyingMaterial(label, 32);
const hex = (u: Uint8Array) => [...u].map((x) => x.toString(16).padStart(2, "0")).join("");
console.log(`\nexporter "${label}": ${hex(a)}`);
console.log(`both ends agree: ${hex(a) === hex(z)}`);

await conn.close();
await serverSide.close();
server.close();
