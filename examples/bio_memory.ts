/**
 * `@jsec/tls/bio`: a memory BIO, a FIFO of bytes. On OpenSSL it is a real
 * `BIO_s_mem`; on mbedTLS (which has no BIO) a JS byte queue that behaves the
 * same. Write bytes or text in, read them out in order, check what is
 * pending, drain it as text; close it (or `using`) to free it at once.
 *
 *   deno run -A --unstable-net examples/bio_memory.ts
 *   JSEC_BACKEND=mbedtls bun examples/bio_memory.ts
 */

import { createMemoryBio, MemoryBio } from "../backends/bio.ts"; // "@jsec/tls/bio"
import { TlsError } from "../mod.ts";

using bio = MemoryBio.newMem(); // the backend from JSEC_BACKEND (default openssl)
console.log(`backend: ${bio.backend}`);

console.log(`write("Hello, ") -> ${bio.write("Hello, ")} bytes`);
console.log(
  `write(bytes "BIO world") -> ${bio.write(new TextEncoder().encode("BIO world"))} bytes`,
);
console.log(`pending: ${bio.pending}`);

const head = bio.read(5); // at most 5 bytes
console.log(`read(5): [${head.join(", ")}] = "${new TextDecoder().decode(head)}"`);
console.log(`pending: ${bio.pending}`);
console.log(`toString(): "${bio.toString()}" (drains)`);
console.log(`pending after toString: ${bio.pending}`);

// Zero-copy-out reads into a buffer you own, e.g. a reused scratch buffer.
bio.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
const scratch = new Uint8Array(4);
for (let n; (n = bio.readInto(scratch)) > 0;) {
  console.log(`readInto: ${n} bytes [${scratch.subarray(0, n).join(", ")}]`);
}

// Like Python's ssl.MemoryBIO: mark the end, then `eof` once drained.
bio.write("last words");
bio.writeEof();
console.log(`after writeEof: eof=${bio.eof}, pending=${bio.pending}`);
bio.read();
console.log(`drained: eof=${bio.eof}`);

// Errors are typed: bad arguments and use after close.
try {
  bio.read(-1);
} catch (e) {
  console.log(`read(-1): ${(e as TlsError).code}: ${(e as Error).message}`);
}
const other = createMemoryBio({ backend: bio.backend });
other.close();
other.close(); // idempotent
try {
  other.write("x");
} catch (e) {
  if (e instanceof TlsError) console.log(`write after close: ${e.code}: ${e.message}`);
}
