/**
 * STARTTLS: a toy SMTP server and client in one process. They talk plaintext
 * (greeting, EHLO, STARTTLS), then both switch the same TCP connection to
 * TLS: the client with `upgrade()`, the server with `wrap(..., { server: true })`,
 * and carry on (EHLO again, MAIL FROM, QUIT) encrypted.
 *
 *   deno run -A --unstable-net examples/starttls_smtp.ts
 *   bun examples/starttls_smtp.ts
 *
 * The TCP sockets come from `node:net` (the same code in Deno and Bun), shown
 * to jsec as a Web Streams `Duplex`. `upgrade()` also takes a `Deno.Conn` or a
 * Bun socket directly.
 */

import { createConnection, createServer, type Socket } from "node:net";
import { type Duplex, upgrade, wrap } from "../mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A node:net socket as { readable, writable } Web Streams. */
function duplexOf(socket: Socket): Duplex {
  let done = false; // after cancel() or end, the controller must not be touched
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on("data", (d: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(d));
        if ((controller.desiredSize ?? 1) <= 0) socket.pause();
      });
      socket.on("end", () => !done && (done = true, controller.close()));
      socket.on("error", (e) => !done && (done = true, controller.error(e)));
    },
    pull: () => void socket.resume(),
    cancel: () => {
      done = true;
      socket.destroy();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((resolve, reject) =>
        socket.write(chunk, (e) => (e ? reject(e) : resolve()))
      ),
    close: () => new Promise<void>((resolve) => socket.end(resolve)),
    abort: () => void socket.destroy(),
  });
  return { readable, writable };
}

/**
 * Plaintext line I/O on a Duplex that can hand the streams back (`release()`)
 * before the TLS switch. SMTP forbids pipelining past STARTTLS, so nothing
 * may be buffered at that point (RFC 3207 §4.2).
 */
function lines(d: Duplex) {
  const reader = d.readable.getReader();
  const writer = d.writable.getWriter();
  let buffered = "";
  return {
    async readLine(): Promise<string> {
      while (!buffered.includes("\r\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("connection closed");
        buffered += dec.decode(value);
      }
      const i = buffered.indexOf("\r\n");
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 2);
      return line;
    },
    writeLine: (s: string): Promise<void> => writer.write(enc.encode(s + "\r\n")),
    release(): void {
      if (buffered) throw new Error("plaintext after STARTTLS: refusing to upgrade");
      reader.releaseLock();
      writer.releaseLock();
    },
  };
}

/** Line I/O over a TLS connection's read/write. */
function tlsLines(
  conn: { read(p: Uint8Array): Promise<number | null>; write(p: Uint8Array): Promise<number> },
) {
  let buffered = "";
  const buf = new Uint8Array(4096);
  return {
    async readLine(): Promise<string> {
      while (!buffered.includes("\r\n")) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("connection closed");
        buffered += dec.decode(buf.subarray(0, n));
      }
      const i = buffered.indexOf("\r\n");
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 2);
      return line;
    },
    writeLine: async (s: string): Promise<void> => void await conn.write(enc.encode(s + "\r\n")),
  };
}

// OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });

// ---- the server ----
async function smtpSession(socket: Socket): Promise<void> {
  const plain = duplexOf(socket);
  const io = lines(plain);
  await io.writeLine("220 localhost ESMTP toy server ready");
  for (;;) {
    const cmd = await io.readLine();
    console.log(`S <- ${cmd}`);
    if (/^EHLO /i.test(cmd)) {
      await io.writeLine("250-localhost hello");
      await io.writeLine("250 STARTTLS");
    } else if (/^STARTTLS$/i.test(cmd)) {
      await io.writeLine("220 2.0.0 Ready to start TLS");
      break;
    } else {
      await io.writeLine("530 5.7.0 Must issue a STARTTLS command first");
    }
  }
  io.release();
  const tls = await wrap(plain, { server: true, cert, key });
  const s = tlsLines(tls);
  for (;;) {
    const cmd = await s.readLine();
    console.log(`S <- ${cmd} (encrypted)`);
    if (/^EHLO /i.test(cmd)) await s.writeLine("250 localhost hello again, over TLS");
    else if (/^MAIL FROM:/i.test(cmd)) await s.writeLine("250 2.1.0 Ok");
    else if (/^QUIT$/i.test(cmd)) {
      await s.writeLine("221 2.0.0 Bye");
      break;
    } else await s.writeLine("502 5.5.2 Command not implemented");
  }
  await tls.close();
}

const sessions: Promise<void>[] = [];
const server = createServer((socket) => {
  sessions.push(smtpSession(socket).catch((e) => console.error("server:", e)));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as { port: number }).port;
console.log(`toy SMTP server on 127.0.0.1:${port}`);

// ---- the client ----
const socket = createConnection({ host: "127.0.0.1", port });
await new Promise<void>((resolve, reject) => {
  socket.once("connect", resolve);
  socket.once("error", reject);
});
const plain = duplexOf(socket);
const io = lines(plain);
const expect = async (code: string): Promise<string> => {
  const line = await io.readLine();
  console.log(`C <- ${line}`);
  if (!line.startsWith(code)) throw new Error(`expected ${code}, got: ${line}`);
  return line;
};
await expect("220");
await io.writeLine("EHLO client.example");
let ehlo = "";
while (!ehlo.startsWith("250 ")) ehlo = await expect("250");
if (!ehlo.includes("STARTTLS")) throw new Error("server does not offer STARTTLS");
await io.writeLine("STARTTLS");
await expect("220");
io.release();

const tls = await upgrade(plain, { serverName: "localhost", caCerts: [cert] });
console.log(
  `C: upgraded to ${tls.info.protocol} ${tls.info.cipher}, server ${tls.info.peerCertificate?.subject}`,
);
const c = tlsLines(tls);
for (const cmd of ["EHLO client.example", "MAIL FROM:<alice@example.com>", "QUIT"]) {
  await c.writeLine(cmd);
  console.log(`C <- ${await c.readLine()} (encrypted)`);
}
await tls.close();
await Promise.all(sessions);
server.close();
console.log("STARTTLS session complete");
