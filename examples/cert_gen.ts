// A CA, an intermediate and a TLS leaf, plus an expired certificate for tests.
// Run: deno run -A examples/cert_gen.ts   |   bun examples/cert_gen.ts
import { generateSelfSigned, issueCertificate, parseCertificate } from "../crypto/cert.ts";
import { generateCsr, generateKey } from "../crypto/mod.ts";
import { exitIfUnsupported } from "./_unsupported.ts";

exitIfUnsupported(); // on a backend that lacks an operation: print UNSUPPORTED, exit 0

const root = await generateSelfSigned({
  commonName: "Example Root CA",
  organization: "Example",
  isCa: true,
  keyType: "p384",
  days: 3650,
});
const inter = await generateKey("p256");
const interCert = await issueCertificate({
  caCert: root.cert,
  caKey: root.key,
  publicKey: inter.publicKey,
  commonName: "Example Issuing CA",
  isCa: true,
});
const leafKey = await generateKey("p256");
const csr = await generateCsr(leafKey.privateKey, {
  commonName: "localhost",
  san: ["DNS:localhost", "IP:127.0.0.1"],
});
const leaf = await issueCertificate({ caCert: interCert, caKey: inter.privateKey, csr, days: 90 });
const expired = await issueCertificate({
  caCert: root.cert,
  caKey: root.key,
  publicKey: leafKey.publicKey,
  commonName: "expired.test",
  notBefore: new Date("2020-01-01"),
  notAfter: new Date("2020-12-31"),
});
for (
  const [name, pem] of [["root", root.cert], ["intermediate", interCert], ["leaf", leaf], [
    "expired",
    expired,
  ]]
) {
  const c = parseCertificate(pem);
  console.log(
    `${name.padEnd(12)} ${c.subject} <- ${c.issuer}; CA=${c.isCa}; ${
      c.san.join(" ") || "-"
    }; until ${c.notAfter.toISOString().slice(0, 10)}`,
  );
}
