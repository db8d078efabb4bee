// Key and certificate formats: PKCS#8, SEC1, DER, encrypted PKCS#8, PEM<->DER certificates.
// Run: deno run -A examples/format_conversion.ts   |   bun examples/format_conversion.ts
import {
  convertCert,
  convertKey,
  detectFormat,
  exportKey,
  generateKey,
  keyInfo,
  loadKey,
} from "../crypto/mod.ts";
import { generateSelfSigned } from "../crypto/cert.ts";
import { exitIfUnsupported } from "./_unsupported.ts";

exitIfUnsupported(); // on a backend that lacks an operation: print UNSUPPORTED, exit 0

const { privateKey } = await generateKey("p256");
const der = convertKey(privateKey, "pkcs8-der");
const sec1 = convertKey(privateKey, "pem");
console.log(
  "PKCS#8 PEM ->",
  detectFormat(privateKey),
  "| DER ->",
  detectFormat(der),
  `(${der.length} bytes)`,
);
console.log("SEC1 header:", sec1.split("\n")[0]);
const locked = exportKey(privateKey, { outputPassword: "hunter2" }) as string;
console.log(
  "encrypted:",
  locked.split("\n")[0],
  "-> reopened equal:",
  loadKey(locked, { password: "hunter2" }) === privateKey,
);
console.log("key info:", { ...keyInfo(der), publicKey: "..." });
const { cert } = await generateSelfSigned({ commonName: "formats.test" });
const certDer = convertCert(cert, "der");
console.log(
  `certificate: ${certDer.length} bytes DER, back to PEM equal: ${
    convertCert(certDer, "pem") === cert
  }`,
);
