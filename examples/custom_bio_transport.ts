/**
 * TLS over a transport of your own, with the sans-IO engine (`createEngine`)
 * and memory BIOs. The engines never touch a socket: the client's ciphertext
 * goes into one MemoryBio, a toy "network" carries it as numbered messages
 * (it could be a message queue, a WebSocket, a serial line...), and the other
 * side's MemoryBio collects it for its engine.
 *
 *   deno run -A --unstable-net examples/custom_bio_transport.ts
 *   JSEC_BACKEND=mbedtls bun examples/custom_bio_transport.ts
 */

import { createEngine, type TlsEngine } from "../mod.ts";
import { MemoryBio } from "../backends/bio.ts"; // "@jsec/tls/bio"
import { generateSelfSigned } from "../crypto/cert.ts";

/** A toy message channel: an ordered list of framed messages in flight. */
class ToyChannel {
  readonly inFlight: { seq: number; payload: Uint8Array }[] = [];
  #seq = 0;
  messages = 0;
  bytes = 0;
  send(payload: Uint8Array): void {
    this.inFlight.push({ seq: this.#seq++, payload });
    this.messages++;
    this.bytes += payload.length;
  }
  receive(): Uint8Array | null {
    return this.inFlight.shift()?.payload ?? null;
  }
}

/** One end: an engine, its outgoing and incoming BIOs, and the channel it sends on. */
class Endpoint {
  readonly out = MemoryBio.newMem(); // ciphertext the engine produced, not yet sent
  readonly in = MemoryBio.newMem(); // ciphertext received, not yet fed to the engine
  constructor(readonly name: string, readonly engine: TlsEngine, readonly link: ToyChannel) {}

  /** Engine → out BIO → channel, in messages of at most 512 bytes. */
  flush(): void {
    for (let d; (d = this.engine.pull());) this.out.write(d);
    while (this.out.pending > 0) this.link.send(this.out.read(512));
  }

  /** Channel → in BIO → engine. */
  receiveFrom(link: ToyChannel): void {
    for (let m; (m = link.receive());) this.in.write(m);
    if (this.in.pending > 0) this.engine.feed(this.in.read());
  }

  close(): void {
    this.out.close();
    this.in.close();
    this.engine.free();
  }
}

// OpenSSL makes the certificate (jsec cannot sign with mbedTLS 2.28).
const { cert, key } = await generateSelfSigned({ commonName: "localhost", backend: "openssl" });
const toServer = new ToyChannel();
const toClient = new ToyChannel();
const client = new Endpoint(
  "client",
  createEngine({ serverName: "localhost", caCerts: [cert], alpnProtocols: ["toy/1"] }),
  toServer,
);
const server = new Endpoint(
  "server",
  createEngine({ server: true, cert, key, alpnProtocols: ["toy/1"] }),
  toClient,
);
console.log(`engines on ${client.engine.backend}; the handshake over the toy channel:`);

for (let flight = 1;; flight++) {
  const c = client.engine.handshake();
  client.flush();
  server.receiveFrom(toServer);
  const s = server.engine.handshake();
  server.flush();
  client.receiveFrom(toClient);
  console.log(
    `  flight ${flight}: client ${c}, server ${s}; ${toServer.messages} messages up, ${toClient.messages} down`,
  );
  if (c === "done" && s === "done") break;
  if (flight > 10) throw new Error("handshake did not finish");
}
const info = client.engine.info();
console.log(
  `handshake: ${info.protocol} ${info.cipher}, ALPN ${info.alpnProtocol}, server ${info.peerCertificate?.subject}`,
);

// A round trip of application data.
const enc = new TextEncoder();
const dec = new TextDecoder();
function deliver(from: Endpoint, to: Endpoint): string {
  from.flush();
  to.receiveFrom(from.link);
  const buf = new Uint8Array(4096);
  let text = "";
  for (let n; (n = to.engine.read(buf)) !== null && n > 0;) text += dec.decode(buf.subarray(0, n));
  return text;
}
client.engine.write(enc.encode("hello through a custom transport"));
const request = deliver(client, server);
console.log(`server got: ${request}`);
server.engine.write(enc.encode(request.toUpperCase()));
console.log(`client got: ${deliver(server, client)}`);

client.engine.shutdown(); // queues close_notify
client.flush();
server.receiveFrom(toServer);
console.log(`server saw close_notify: ${server.engine.read(new Uint8Array(16)) === null}`);
console.log(
  `channel totals: ${toServer.messages + toClient.messages} messages, ${
    toServer.bytes + toClient.bytes
  } bytes of ciphertext`,
);
client.close();
server.close();
