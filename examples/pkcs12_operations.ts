// Bundle a key, certificate and CA into a PKCS#12 (.p12) file and open it again.
// Run: deno run -A examples/pkcs12_operations.ts   |   bun examples/pkcs12_operations.ts
import { createPkcs12, CryptoError, parsePkcs12 } from "../crypto/mod.ts";
import { generateSelfSigned, issueCertificate, parseCertificate } from "../crypto/cert.ts";
import { generateKey } from "../crypto/mod.ts";
import { exitIfUnsupported } from "./_unsupported.ts";

exitIfUnsupported(); // on a backend that lacks an operation: print UNSUPPORTED, exit 0

const ca = await generateSelfSigned({ commonName: "Example CA", isCa: true });
const { privateKey, publicKey } = await generateKey("p256");
const cert = await issueCertificate({
  caCert: ca.cert,
  caKey: ca.key,
  publicKey,
  commonName: "server.example",
});
const p12 = await createPkcs12({
  key: privateKey,
  cert,
  ca: [ca.cert],
  password: "changeit",
  friendlyName: "server",
});
console.log(`PKCS#12: ${p12.length} bytes`);
const opened = await parsePkcs12(p12, "changeit");
console.log(
  `friendly name: ${opened.friendlyName}; cert: ${
    parseCertificate(opened.cert!).subject
  }; chain: ${opened.ca.length}`,
);
try {
  await parsePkcs12(p12, "wrong");
} catch (e) {
  if (e instanceof CryptoError) console.log(`wrong password -> ${e.code}`);
}
