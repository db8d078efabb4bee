/**
 * Policy enforcement: protocol versions, cipher suites, key-exchange groups
 * and client certificates, each set on a server and tried by clients that do
 * and do not comply. Refusals are `TlsError`s with a `code` a program can act
 * on ("HANDSHAKE", "ALERT", "CERT_VERIFY", "UNSUPPORTED", "INVALID_OPTION").
 *
 *   deno run -A --unstable-net examples/policy_enforcement.ts
 *   JSEC_BACKEND=mbedtls bun examples/policy_enforcement.ts
 */

import {
  backendInfo,
  connect,
  listen,
  type ListenOptions,
  type TlsConn,
  TlsError,
} from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

// OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });
const { name, capabilities } = backendInfo();
console.log(`backend: ${name} (TLS 1.3: ${capabilities.tls13 ? "yes" : "no"})`);

function describe(e: unknown): string {
  if (!(e instanceof TlsError)) throw e;
  const extra = e.verifyResult
    ? ` [verifyResult: ${e.verifyResult}]`
    : e.option
    ? ` [option: ${e.option}]`
    : "";
  return `rejected: TlsError ${e.code}${extra}: ${e.message}`;
}

/** Runs one server policy against one client configuration and prints the outcome. */
async function attempt(
  title: string,
  serverPolicy: Partial<ListenOptions>,
  clientPolicy: Record<string, unknown>,
): Promise<void> {
  let server;
  try {
    server = listen(
      { hostname: "127.0.0.1", port: 0, cert, key, ...serverPolicy } as ListenOptions,
    );
  } catch (e) {
    console.log(`${title}\n  server ${describe(e)}`);
    return;
  }
  const accepted = server.accept().then(
    async (conn) => {
      await conn.write(new TextEncoder().encode("ok")); // lets a TLS 1.3 client see late alerts
      await conn.close();
    },
    () => {},
  );
  let conn: TlsConn | undefined;
  try {
    conn = await connect({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [cert],
      handshakeTimeout: 5000,
      ...clientPolicy,
    });
    await conn.read(new Uint8Array(8)); // TLS 1.3: a client-auth refusal arrives after the handshake
    const i = conn.info;
    console.log(
      `${title}\n  allowed: ${i.protocol} ${i.cipher} group=${i.group ?? "(not reported)"}`,
    );
  } catch (e) {
    console.log(`${title}\n  client ${describe(e)}`);
  } finally {
    await conn?.close().catch(() => {}); // also after a failed read: release the socket
    server.close();
    await accepted;
  }
}

// Versions: a TLS 1.3-only server.
await attempt("1. server minVersion TLS1.3, client default", { minVersion: "TLS1.3" }, {});
await attempt("2. server minVersion TLS1.3, client maxVersion TLS1.2", { minVersion: "TLS1.3" }, {
  maxVersion: "TLS1.2",
});

// TLS 1.2 cipher suites: the server allows only AES-128-GCM.
const tls12 = { maxVersion: "TLS1.2" as const };
await attempt(
  "3. server ciphers ECDHE-ECDSA-AES128-GCM-SHA256, client default",
  { ...tls12, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" },
  {},
);
await attempt(
  "4. server ciphers ECDHE-ECDSA-AES128-GCM-SHA256, client only CHACHA20",
  { ...tls12, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" },
  { ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" },
);

// Key-exchange groups: the server accepts only P-384. (mbedTLS 2.28 applies the
// same list to ECDSA certificate curves, so this server gets a P-384 certificate.)
const p384 = await generateSelfSigned({
  commonName: "localhost",
  keyType: "p384",
  backend: "openssl",
});
await attempt("5. server groups P-384, client groups P-384:X25519", {
  groups: "P-384",
  ...p384,
}, { groups: "P-384:X25519", caCerts: [p384.cert] });
await attempt("6. server groups P-384, client groups X25519", { groups: "P-384", ...p384 }, {
  groups: "X25519",
  caCerts: [p384.cert],
});

// Client certificates: required by the server.
const ca = await generateSelfSigned({ commonName: "Clients CA", isCa: true, backend: "openssl" });
await attempt("7. server clientAuth require, client without certificate", {
  clientAuth: "require",
  caCerts: [ca.cert],
}, {});

// The client's own policy: the name it expects and the options it accepts.
await attempt("8. client expects the name other.example", {}, { serverName: "other.example" });
await attempt("9. client minVersion TLS1.0 (not an option jsec accepts)", {}, {
  minVersion: "TLS1.0",
});
