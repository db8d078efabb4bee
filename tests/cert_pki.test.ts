// Certificates, CSRs, PKCS#12 and CMS, checked with the openssl CLI; the DER parser on garbage.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as nodeCrypto from "node:crypto";
import {
  generateSelfSigned,
  issueCertificate,
  parseCertificate,
  parseCertificates,
  selfSignedFromKey,
  verifyCertificateSignature,
} from "../crypto/cert.ts";
import {
  cmsCertsOnly,
  cmsDecrypt,
  cmsEncrypt,
  cmsGetCerts,
  cmsSign,
  cmsVerify,
  convertCert,
  createPkcs12,
  CryptoError,
  generateCsr,
  generateKey,
  parseCsr,
  parsePkcs12,
} from "../crypto/mod.ts";
import { parseCertificateDer } from "../backends/x509_der.ts";
import { getBackend } from "../backends/registry.ts";
import type { BackendName } from "../backends/backend.ts";

let dir = "";
let hasCli = true;
try {
  execFileSync("openssl", ["version"]);
} catch {
  hasCli = false;
}
const NO_CLI = hasCli ? false : "the openssl CLI is not installed";

function ossl(...args: string[]): string {
  return execFileSync("openssl", args, {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}
function file(name: string, data: string | Uint8Array): string {
  writeFileSync(join(dir, name), data);
  return name;
}
async function rejects(fn: () => unknown, code: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof CryptoError, `expected CryptoError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return;
  }
  assert.fail(`expected CryptoError ${code}`);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "jsec-cert-"));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("DER parser", () => {
  const sha = (d: Uint8Array) => new Uint8Array(nodeCrypto.createHash("sha256").update(d).digest());
  it("throws only BAD_FORMAT on garbage and truncations", async () => {
    const { cert } = await generateSelfSigned({ backend: "openssl" });
    const der = convertCert(cert, "der");
    for (let n = 0; n < der.length; n += 7) {
      assert.throws(
        () => parseCertificateDer(der.subarray(0, n), sha),
        (e) => e instanceof CryptoError && e.code === "BAD_FORMAT",
      );
    }
    for (let i = 0; i < 300; i++) {
      const junk = der.slice();
      junk[Math.floor(Math.random() * junk.length)] ^= 1 << Math.floor(Math.random() * 8);
      try {
        parseCertificateDer(junk, sha);
      } catch (e) {
        assert.ok(e instanceof CryptoError && e.code === "BAD_FORMAT", String(e));
      }
    }
    assert.throws(
      () => parseCertificate("hello"),
      (e) => e instanceof CryptoError && e.code === "BAD_FORMAT",
    );
  });
  it("agrees with node:crypto X509Certificate", async () => {
    const { cert } = await generateSelfSigned({
      backend: "openssl",
      commonName: "x.example",
      organization: "A, B+C",
      san: [
        "DNS:x.example",
        "IP:10.0.0.1",
        "IP:2001:db8::7",
        "email:a@b.c",
        "URI:https://x.example/",
      ],
    });
    const info = parseCertificate(cert);
    const x = new nodeCrypto.X509Certificate(cert);
    assert.equal(info.fingerprint256, x.fingerprint256);
    assert.equal(info.serial, x.serialNumber.toUpperCase());
    assert.equal(info.subject, "CN=x.example,O=A\\, B\\+C");
    assert.deepEqual(info.san, [
      "DNS:x.example",
      "IP:10.0.0.1",
      "IP:2001:db8::7",
      "email:a@b.c",
      "URI:https://x.example/",
    ]);
    assert.equal(info.notAfter.getTime(), new Date(x.validTo).getTime());
  });
});

for (const backend of ["openssl", "mbedtls"] as BackendName[]) {
  let why: string | false = NO_CLI;
  try {
    getBackend(backend);
  } catch (e) {
    why = `backend ${backend} unavailable: ${(e as Error).message.split("\n")[0]}`;
  }
  const o = { backend };
  const has = (fn: string) =>
    !why &&
    typeof (getBackend(backend).crypto as unknown as Record<string, unknown>)[fn] === "function";

  describe(`certificates (${backend})`, { skip: why }, () => {
    it("self-signed, CA chain, expired: openssl verify agrees", async () => {
      if (!has("createCertificate")) return rejects(() => generateSelfSigned(o), "UNSUPPORTED");
      const ca = await generateSelfSigned({
        commonName: "jsec Test CA",
        isCa: true,
        keyType: "p384",
        ...o,
      });
      const inter = await generateKey("p256", o);
      const interCert = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        publicKey: inter.publicKey,
        commonName: "jsec Intermediate",
        isCa: true,
        ...o,
      });
      // mbedTLS 2.28 has no Ed25519: node makes the key, and mbedTLS certifies its SPKI as is.
      const leafKey = backend === "mbedtls"
        ? nodeCrypto.generateKeyPairSync("ed25519", {
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
        })
        : await generateKey("ed25519", o);
      const leaf = await issueCertificate({
        caCert: interCert,
        caKey: inter.privateKey,
        publicKey: backend === "mbedtls" ? leafKey.publicKey : leafKey.privateKey,
        commonName: "localhost",
        san: ["DNS:localhost", "IP:127.0.0.1"],
        ...o,
      });
      const expired = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        publicKey: leafKey.publicKey,
        commonName: "old",
        notBefore: new Date("2020-01-01"),
        notAfter: new Date("2020-06-01"),
        ...o,
      });
      file("ca.pem", ca.cert);
      file("inter.pem", interCert);
      file("leaf.pem", leaf);
      file("expired.pem", expired);
      assert.match(
        ossl(
          "verify",
          "-CAfile",
          "ca.pem",
          "-untrusted",
          "inter.pem",
          "-verify_hostname",
          "localhost",
          "leaf.pem",
        ),
        /leaf.pem: OK/,
      );
      assert.throws(() => ossl("verify", "-CAfile", "ca.pem", "expired.pem"), /expired/);
      assert.throws(() => ossl("verify", "-CAfile", "ca.pem", "leaf.pem"));
      const info = parseCertificate(leaf, o);
      assert.equal(info.issuer, "CN=jsec Intermediate");
      assert.equal(info.isCa, false);
      assert.equal(info.publicKeyType, "ed25519");
      assert.ok(parseCertificate(interCert, o).isCa);
      assert.equal(parseCertificates(ca.cert + interCert + leaf, o).length, 3);
      assert.ok(verifyCertificateSignature(leaf, interCert, o));
      assert.ok(!verifyCertificateSignature(leaf, ca.cert, o));
      const rsa = await generateSelfSigned({
        keyType: "rsa",
        bits: 2048,
        commonName: "rsa.test",
        country: "DE",
        ...o,
      });
      assert.equal(parseCertificate(rsa.cert).subject, "CN=rsa.test,C=DE");
      const again = await selfSignedFromKey(rsa.key, { commonName: "again", days: 2, ...o });
      assert.equal(parseCertificate(again).publicKeyBits, 2048);
      await rejects(
        () =>
          issueCertificate({
            caCert: ca.cert,
            caKey: inter.privateKey,
            publicKey: leafKey.publicKey,
            commonName: "x",
            ...o,
          }),
        "INVALID_ARGUMENT",
      );
      await rejects(() => generateSelfSigned({ san: ["DNS:a,b"], ...o }), "INVALID_ARGUMENT");
      await rejects(
        () => generateSelfSigned({ keyType: "dsa" as "rsa", ...o }),
        "INVALID_ARGUMENT",
      );
      await rejects(() => generateSelfSigned({ days: 0, ...o }), "INVALID_ARGUMENT");
    });

    it("names, extensions and dates: openssl x509 reads them back", async () => {
      if (!has("createCertificate")) return;
      const ca = await generateSelfSigned({ commonName: "Ext CA", isCa: true, ...o });
      const odd = 'A, B+C \\ "q" é';
      const rsa = await generateSelfSigned({
        keyType: "rsa",
        commonName: "names.test",
        organization: odd,
        organizationalUnit: "Unit",
        locality: "Zürich",
        state: "ZH",
        country: "CH",
        san: ["DNS:names.test", "DNS:*.names.test", "IP:2001:db8::7", "IP:::ffff:10.0.0.1"],
        notBefore: new Date("2049-12-31T23:59:59Z"),
        notAfter: new Date("2050-01-01T00:00:01Z"),
        ...o,
      });
      const info = parseCertificate(rsa.cert, o);
      const node = new nodeCrypto.X509Certificate(rsa.cert);
      assert.equal(info.fingerprint256, node.fingerprint256);
      assert.equal(info.notAfter.toISOString(), "2050-01-01T00:00:01.000Z"); // GeneralizedTime
      assert.equal(info.notBefore.toISOString(), "2049-12-31T23:59:59.000Z"); // UTCTime
      const subject = 'CN=names.test,OU=Unit,O=A\\, B\\+C \\\\ \\"q\\" é,L=Zürich,ST=ZH,C=CH';
      assert.equal(info.subject, subject);
      assert.deepEqual(info.san, [
        "DNS:names.test",
        "DNS:*.names.test",
        "IP:2001:db8::7",
        "IP:::ffff:a00:1",
      ]);
      file("names.pem", rsa.cert);
      const nameopt = ["-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"];
      assert.equal(ossl("x509", "-in", "names.pem", ...nameopt).trim(), `subject=${subject}`);
      const text = ossl("x509", "-in", "names.pem", "-noout", "-text");
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, /Subject Key Identifier/);
      assert.match(text, /sha256WithRSAEncryption/);
      // AKI of an issued certificate = the CA's SKI
      const k = await generateKey("p384", o);
      const leaf = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        publicKey: k.publicKey,
        commonName: "aki.test",
        ...o,
      });
      const caX = new nodeCrypto.X509Certificate(ca.cert);
      const leafX = new nodeCrypto.X509Certificate(leaf);
      assert.ok(leafX.checkIssued(caX));
      assert.ok(leafX.verify(caX.publicKey));
      file("aki-ca.pem", ca.cert);
      file("aki.pem", leaf);
      const caText = ossl("x509", "-in", "aki-ca.pem", "-noout", "-text");
      const ski = caText.match(/Subject Key Identifier:\s+([0-9A-F:]+)/)![1];
      assert.match(ossl("x509", "-in", "aki.pem", "-noout", "-text"), new RegExp(ski));
      assert.match(caText, /Certificate Sign, CRL Sign/);
      // certificates of the other backend verify here, and ours there
      const other: BackendName = backend === "openssl" ? "mbedtls" : "openssl";
      let otherOk = true;
      try {
        getBackend(other);
      } catch {
        otherOk = false;
      }
      if (otherOk) {
        const theirs = await generateSelfSigned({ commonName: "x", isCa: true, backend: other });
        assert.ok(verifyCertificateSignature(theirs.cert, theirs.cert, o));
        assert.ok(verifyCertificateSignature(leaf, ca.cert, { backend: other }));
        assert.ok(!verifyCertificateSignature(theirs.cert, ca.cert, o));
      }
    });

    it("a certificate that is not a CA cannot issue", async () => {
      if (!has("createCertificate")) return;
      const leaf = await generateSelfSigned({ commonName: "leaf.example", ...o });
      const k = await generateKey("p256", o);
      await rejects(
        () =>
          issueCertificate({
            caCert: leaf.cert,
            caKey: leaf.key,
            publicKey: k.publicKey,
            commonName: "child.example",
            ...o,
          }),
        "INVALID_ARGUMENT",
      );
    });

    it("a NUL inside a subject name is refused before anything is signed", async () => {
      const k = await generateKey("p256", o);
      const nul = "evil.example\0.good.example";
      await rejects(() => generateSelfSigned({ commonName: nul, ...o }), "INVALID_ARGUMENT");
      await rejects(
        () => generateCsr(k.privateKey, { commonName: "x", organization: nul, ...o }),
        "INVALID_ARGUMENT",
      );
    });

    it("CSR: openssl req -verify, issue from CSR", async () => {
      if (!has("generateCsr")) {
        return rejects(
          async () =>
            generateCsr((await generateKey("p256", o)).privateKey, { commonName: "x", ...o }),
          "UNSUPPORTED",
        );
      }
      const k = await generateKey("p256", o);
      const csr = await generateCsr(k.privateKey, {
        commonName: "api.example.com",
        organization: "Acme",
        country: "US",
        san: ["DNS:api.example.com", "IP:192.0.2.1"],
        ...o,
      });
      file("req.pem", csr);
      ossl("req", "-in", "req.pem", "-verify", "-noout"); // exits non-zero when the signature is bad
      const parsed = parseCsr(csr, o);
      assert.equal(parsed.subject, "CN=api.example.com,O=Acme,C=US");
      assert.deepEqual(parsed.san, ["DNS:api.example.com", "IP:192.0.2.1"]);
      assert.equal(parsed.signatureValid, true);
      const ca = await generateSelfSigned({ commonName: "CSR CA", isCa: true, ...o });
      const cert = await issueCertificate({ caCert: ca.cert, caKey: ca.key, csr, ...o });
      assert.deepEqual(parseCertificate(cert).san, parsed.san);
      file("ca2.pem", ca.cert);
      file("fromcsr.pem", cert);
      assert.match(ossl("verify", "-CAfile", "ca2.pem", "fromcsr.pem"), /OK/);
      // an openssl-made CSR works too
      ossl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "ossl.csr",
        "-subj",
        "/CN=cli.example",
      );
      const fromCli = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        csr: readFileSync(join(dir, "ossl.csr"), "utf8"),
        ...o,
      });
      assert.equal(parseCertificate(fromCli).commonName, "cli.example");
      // RSA-PSS and SHA-384 signatures on CSRs
      ossl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-sha384",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-nodes",
        "-keyout",
        "pss.key",
        "-out",
        "pss.csr",
        "-subj",
        "/CN=pss.example",
      );
      const pss = readFileSync(join(dir, "pss.csr"), "utf8");
      assert.equal(parseCsr(pss, o).signatureValid, true);
      const badPss = parseCsr(pss, o).der;
      badPss[badPss.length - 3] ^= 1;
      assert.equal(parseCsr(badPss, o).signatureValid, false);
      const tampered = parsed.der.slice();
      tampered[tampered.length - 5] ^= 1;
      await rejects(
        () => issueCertificate({ caCert: ca.cert, caKey: ca.key, csr: tampered, ...o }),
        "VERIFY_FAILED",
      );
    });

    it("PKCS#12: openssl pkcs12 reads ours, we read openssl's", async () => {
      if (!has("createPkcs12")) {
        return rejects(() =>
          createPkcs12({
            key: "-----BEGIN x-----",
            cert: "-----BEGIN x-----",
            password: "p",
            ...o,
          }), "UNSUPPORTED");
      }
      const ca = await generateSelfSigned({ commonName: "P12 CA", isCa: true, ...o });
      const leaf = await generateSelfSigned({ commonName: "p12.test", ...o });
      const p12 = await createPkcs12({
        key: leaf.key,
        cert: leaf.cert,
        ca: [ca.cert],
        password: "s3cret",
        friendlyName: "my server",
        ...o,
      });
      file("a.p12", p12);
      const out = ossl("pkcs12", "-in", "a.p12", "-info", "-nodes", "-passin", "pass:s3cret");
      assert.match(out, /friendlyName: my server/);
      assert.match(out, /subject=CN = P12 CA/);
      const back = await parsePkcs12(p12, "s3cret", o);
      assert.equal(back.friendlyName, "my server");
      assert.equal(back.key, leaf.key);
      assert.equal(back.ca.length, 1);
      assert.equal(parseCertificate(back.cert!).commonName, "p12.test");
      await rejects(() => parsePkcs12(p12, "wrong", o), "BAD_PASSWORD");
      await rejects(() => parsePkcs12(new Uint8Array([1, 2, 3]), "x", o), "BAD_FORMAT");
      file("leaf.key", leaf.key);
      file("leaf.crt", leaf.cert);
      ossl(
        "pkcs12",
        "-export",
        "-inkey",
        "leaf.key",
        "-in",
        "leaf.crt",
        "-out",
        "b.p12",
        "-passout",
        "pass:pw",
        "-name",
        "cli",
      );
      const cli = await parsePkcs12(new Uint8Array(readFileSync(join(dir, "b.p12"))), "pw", o);
      assert.equal(cli.friendlyName, "cli");
      assert.equal(cli.key, leaf.key);
    });

    it("CMS: openssl cms -verify / -decrypt interoperate", async () => {
      if (!has("cmsSign")) {
        return rejects(() => cmsGetCerts(new Uint8Array([0x30, 0]), o), "UNSUPPORTED");
      }
      const ca = await generateSelfSigned({ commonName: "CMS CA", isCa: true, ...o });
      const k = await generateKey("p256", o);
      const signer = await issueCertificate({
        caCert: ca.cert,
        caKey: ca.key,
        publicKey: k.publicKey,
        commonName: "signer",
        ...o,
      });
      const signed = await cmsSign("hello cms", {
        cert: signer,
        key: k.privateKey,
        chain: [ca.cert],
        ...o,
      });
      file("cmsca.pem", ca.cert);
      file("signed.der", signed);
      const out = ossl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "signed.der",
        "-CAfile",
        "cmsca.pem",
        "-purpose",
        "any",
      );
      assert.equal(out, "hello cms");
      const v = await cmsVerify(signed, { caCerts: [ca.cert], ...o });
      assert.deepEqual([v.valid, new TextDecoder().decode(v.content!)], [true, "hello cms"]);
      const other = await generateSelfSigned({ commonName: "other CA", isCa: true, ...o });
      assert.equal((await cmsVerify(signed, { caCerts: [other.cert], ...o })).valid, false);
      const detached = await cmsSign("payload", {
        cert: signer,
        key: k.privateKey,
        detached: true,
        ...o,
      });
      assert.ok((await cmsVerify(detached, { caCerts: [ca.cert], data: "payload", ...o })).valid);
      assert.ok(!(await cmsVerify(detached, { caCerts: [ca.cert], data: "pAyload", ...o })).valid);

      const rsa = await generateSelfSigned({ keyType: "rsa", commonName: "recipient", ...o });
      const env = await cmsEncrypt("for your eyes", [rsa.cert], o);
      file("env.der", env);
      file("rk.pem", rsa.key);
      assert.equal(
        ossl("cms", "-decrypt", "-binary", "-inform", "DER", "-in", "env.der", "-inkey", "rk.pem"),
        "for your eyes",
      );
      assert.equal(
        new TextDecoder().decode(await cmsDecrypt(env, { key: rsa.key, cert: rsa.cert, ...o })),
        "for your eyes",
      );
      await rejects(() => cmsDecrypt(env, { key: k.privateKey, ...o }), "BAD_DECRYPT");
      file("plain.txt", "from the cli");
      file("rc.pem", rsa.cert);
      ossl(
        "cms",
        "-encrypt",
        "-binary",
        "-aes256",
        "-in",
        "plain.txt",
        "-outform",
        "DER",
        "-out",
        "cli.der",
        "rc.pem",
      );
      const fromCli = new Uint8Array(readFileSync(join(dir, "cli.der")));
      assert.equal(
        new TextDecoder().decode(await cmsDecrypt(fromCli, { key: rsa.key, ...o })),
        "from the cli",
      );

      const p7b = await cmsCertsOnly([ca.cert, signer], o);
      assert.equal(cmsGetCerts(p7b, o).length, 2);
      // A certificate given twice goes in once.
      assert.equal(cmsGetCerts(await cmsCertsOnly([ca.cert, signer, ca.cert], o), o).length, 2);
      assert.equal(cmsGetCerts(signed, o).length, 2);
      await rejects(() => cmsGetCerts(new Uint8Array([1, 2]), o), "BAD_FORMAT");
    });
  });
}
