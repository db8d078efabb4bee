/**
 * A minimal HTTPS/1.1 client on jsec's `connect()`: sends a GET and prints the
 * status line, a few headers and the body size.
 *
 *   deno run -A --unstable-net examples/simple_https_client.ts https://example.com/
 *   bun examples/simple_https_client.ts https://example.com/
 *
 * Without an argument it starts a local HTTPS server (a generated certificate
 * on 127.0.0.1) and fetches from that, so it runs without a network.
 */

import process from "node:process";
import { connect, serve, type TlsServer } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** GET `url` over TLS; `caCerts` replaces the system trust store when given. */
async function get(url: URL, caCerts?: string[]): Promise<void> {
  if (url.protocol !== "https:") throw new Error(`not an https URL: ${url}`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  await using conn = await connect({
    hostname,
    port: Number(url.port || 443),
    caCerts,
    alpnProtocols: ["http/1.1"],
    handshakeTimeout: 10_000,
  });
  const { protocol, cipher, peerCertificate } = conn.info;
  console.log(`connected: ${protocol} ${cipher}, server certificate ${peerCertificate?.subject}`);
  const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    `User-Agent: jsec-example\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
  await conn.write(enc.encode(request));

  // Connection: close, so the response ends at the server's close_notify (or EOF).
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(16384);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } catch (e) {
    if (chunks.length === 0) throw e; // some servers skip close_notify: keep what we got
  }
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  chunks.reduce((off, c) => (bytes.set(c, off), off + c.length), 0);
  const text = dec.decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...headers] = text.slice(0, split < 0 ? text.length : split).split("\r\n");
  console.log(`status: ${statusLine}`);
  for (const h of headers.filter((h) => /^(content-type|content-length|server|date):/i.test(h))) {
    console.log(`  ${h}`);
  }
  console.log(`body: ${split < 0 ? 0 : bytes.length - split - 4} bytes`);
}

/** A tiny HTTPS server that answers every request with a short text. */
async function localServer(): Promise<{ server: TlsServer; ca: string }> {
  // OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
  const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    alpnProtocols: ["http/1.1"],
    async handler(conn) {
      let head = "";
      const buf = new Uint8Array(4096);
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += dec.decode(buf.subarray(0, n));
      }
      const body = `hello from jsec (${conn.info.protocol}, ${conn.info.cipher})\n`;
      await conn.write(enc.encode(
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
          `Server: jsec-example\r\nConnection: close\r\n\r\n${body}`,
      ));
    },
  });
  return { server, ca: cert };
}

const arg = process.argv.slice(2).find((a) => !a.startsWith("-"));
if (arg) {
  await get(new URL(arg));
} else {
  const { server, ca } = await localServer();
  const url = new URL(`https://localhost:${server.addr.port}/hello`);
  console.log(`no URL given: fetching ${url} from a local server`);
  try {
    await get(url, [ca]);
  } finally {
    await server.shutdown();
  }
}
