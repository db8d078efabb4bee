// Crypto primitives on each backend, cross-checked against node:crypto and WebCrypto.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import {
  base64Decode,
  base64Encode,
  base64urlDecode,
  base64urlEncode,
  cipherInfo,
  convertKey,
  CryptoError,
  decrypt,
  deriveSharedSecret,
  detectFormat,
  digest,
  ecGenerateScalar,
  ecPointAdd,
  ecPointFromBytes,
  ecPointMul,
  ecPointToBytes,
  encrypt,
  exportKey,
  exportPublicKey,
  generateChallenge,
  generateKey,
  generateNonce,
  hkdf,
  hmac,
  importRawPrivateKey,
  importRawPublicKey,
  keyInfo,
  loadKey,
  pbkdf2,
  randomBytes,
  rsaDecrypt,
  rsaEncrypt,
  rsaMaxPlaintext,
  sign,
  verify,
} from "../crypto/mod.ts";
import { getBackend } from "../backends/registry.ts";
import type { BackendName } from "../backends/backend.ts";

const BACKENDS: BackendName[] = ["openssl", "mbedtls"];

function available(name: BackendName): string | null {
  try {
    getBackend(name);
    return null;
  } catch (e) {
    return `backend ${name} unavailable: ${(e as Error).message.split("\n")[0]}`;
  }
}

function supported(name: BackendName, fn: keyof ReturnType<typeof getBackend>["crypto"]): boolean {
  return typeof getBackend(name).crypto[fn] === "function";
}

/** Asserts `fn` throws a CryptoError with `code`. */
async function rejects(fn: () => unknown, code: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof CryptoError, `expected CryptoError, got ${e}`);
    assert.equal((e as CryptoError).code, code, (e as Error).message);
    return;
  }
  assert.fail(`expected CryptoError ${code}`);
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const te = new TextEncoder();

describe("base64 (pure TS)", () => {
  it("round-trips and matches Buffer", () => {
    for (let n = 0; n < 40; n++) {
      const b = nodeCrypto.randomBytes(n);
      const u = new Uint8Array(b);
      assert.equal(base64Encode(u), b.toString("base64"));
      assert.equal(base64urlEncode(u), b.toString("base64url"));
      assert.deepEqual(base64Decode(base64Encode(u)), u);
      assert.deepEqual(base64urlDecode(base64urlEncode(u)), u);
    }
  });
  it("rejects garbage with BAD_FORMAT", async () => {
    await rejects(() => base64Decode("ab$d"), "BAD_FORMAT");
    await rejects(() => base64urlDecode("ab+/"), "BAD_FORMAT");
    await rejects(() => base64Decode(42 as unknown as string), "INVALID_ARGUMENT");
  });
});

for (const backend of BACKENDS) {
  const skip = available(backend);
  const o = { backend };
  describe(`crypto primitives (${backend})`, { skip: skip ?? false }, () => {
    const has = (fn: Parameters<typeof supported>[1]) => !skip && supported(backend, fn);

    it("digest and hmac match node:crypto", async () => {
      if (!has("digest")) return rejects(() => digest("sha256", "x", o), "UNSUPPORTED");
      for (const a of ["sha1", "sha256", "sha384", "sha512"] as const) {
        const data = nodeCrypto.randomBytes(100);
        assert.equal(
          hex(digest(a, new Uint8Array(data), o)),
          nodeCrypto.createHash(a).update(data).digest("hex"),
        );
        assert.equal(
          hex(hmac(a, "key", new Uint8Array(data), o)),
          nodeCrypto.createHmac(a, "key").update(data).digest("hex"),
        );
      }
      assert.equal(hex(digest("sha256", "", o)), nodeCrypto.createHash("sha256").digest("hex"));
      assert.equal(
        hex(hmac("sha256", "", "", o)),
        nodeCrypto.createHmac("sha256", "").digest("hex"),
      );
      await rejects(() => digest("md4" as "sha1", "x", o), "INVALID_ARGUMENT");
    });

    it("hkdf and pbkdf2 match node:crypto", async () => {
      if (!has("hkdf")) await rejects(() => hkdf("sha256", "k", "s", "i", 32, o), "UNSUPPORTED");
      else {
        const expect = new Uint8Array(nodeCrypto.hkdfSync("sha256", "ikm", "salt", "info", 42));
        assert.deepEqual(hkdf("sha256", "ikm", "salt", "info", 42, o), expect);
        const noSalt = new Uint8Array(nodeCrypto.hkdfSync("sha512", "ikm", "", "", 64));
        assert.deepEqual(hkdf("sha512", "ikm", undefined, undefined, 64, o), noSalt);
        await rejects(() => hkdf("sha256", "k", "", "", 255 * 32 + 1, o), "INVALID_ARGUMENT");
      }
      if (!has("pbkdf2")) return rejects(() => pbkdf2("sha256", "p", "s", 1, 32, o), "UNSUPPORTED");
      const want = new Uint8Array(nodeCrypto.pbkdf2Sync("pw", "salt", 1000, 48, "sha256"));
      assert.deepEqual(await pbkdf2("sha256", "pw", "salt", 1000, 48, o), want);
      await rejects(() => pbkdf2("sha256", "pw", "salt", 0, 48, o), "INVALID_ARGUMENT");
    });

    it("randomBytes, generateChallenge, generateNonce", async () => {
      if (!has("randomBytes")) return rejects(() => randomBytes(8, o), "UNSUPPORTED");
      const a = randomBytes(32, o), b = randomBytes(32, o);
      assert.equal(a.length, 32);
      assert.notDeepEqual(a, b);
      assert.equal(randomBytes(0, o).length, 0);
      assert.equal(generateChallenge(32, o).length, 43);
      assert.equal(generateNonce("aes-256-gcm", o).length, 12);
      assert.equal(generateNonce("aes-128-cbc", o).length, 16);
      await rejects(() => randomBytes(-1, o), "INVALID_ARGUMENT");
    });

    it("AEAD and CBC round-trip and match node:crypto", async () => {
      if (!has("encrypt")) {
        return rejects(
          () => encrypt("aes-128-gcm", new Uint8Array(16), new Uint8Array(12), "x", undefined, o),
          "UNSUPPORTED",
        );
      }
      for (const algo of ["aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"] as const) {
        const info = cipherInfo(algo);
        const key = new Uint8Array(nodeCrypto.randomBytes(info.keyLength));
        const nonce = new Uint8Array(nodeCrypto.randomBytes(12));
        const pt = new Uint8Array(nodeCrypto.randomBytes(77));
        const { ciphertext, tag } = encrypt(algo, key, nonce, pt, "aad", o);
        let c: nodeCrypto.CipherGCM | null = null;
        try {
          c = nodeCrypto.createCipheriv(
            algo,
            key,
            nonce,
            { authTagLength: 16 } as nodeCrypto.CipherGCMOptions,
          ) as nodeCrypto.CipherGCM;
        } catch {
          // Bun's node:crypto (BoringSSL) has no chacha20-poly1305; Wycheproof covers it.
        }
        if (c) {
          c.setAAD(te.encode("aad"));
          const want = Buffer.concat([c.update(pt), c.final()]);
          assert.equal(hex(ciphertext), want.toString("hex"), algo);
          assert.equal(hex(tag), c.getAuthTag().toString("hex"), algo);
        }
        assert.deepEqual(decrypt(algo, key, nonce, ciphertext, tag, "aad", o), pt);
        const bad = tag.slice();
        bad[0] ^= 1;
        await rejects(() => decrypt(algo, key, nonce, ciphertext, bad, "aad", o), "BAD_DECRYPT");
        await rejects(() => decrypt(algo, key, nonce, ciphertext, tag, "other", o), "BAD_DECRYPT");
      }
      for (const algo of ["aes-128-cbc", "aes-256-cbc"] as const) {
        const info = cipherInfo(algo);
        const key = new Uint8Array(nodeCrypto.randomBytes(info.keyLength));
        const iv = new Uint8Array(nodeCrypto.randomBytes(16));
        for (const n of [0, 15, 16, 33]) {
          const pt = new Uint8Array(nodeCrypto.randomBytes(n));
          const { ciphertext, tag } = encrypt(algo, key, iv, pt, undefined, o);
          assert.equal(tag.length, 0);
          const c = nodeCrypto.createCipheriv(algo, key, iv);
          assert.equal(hex(ciphertext), Buffer.concat([c.update(pt), c.final()]).toString("hex"));
          assert.deepEqual(decrypt(algo, key, iv, ciphertext, tag, undefined, o), pt);
        }
      }
      const k = new Uint8Array(16), n = new Uint8Array(12);
      await rejects(() => encrypt("aes-256-gcm", k, n, "x", undefined, o), "INVALID_ARGUMENT");
      await rejects(
        () => encrypt("aes-128-gcm", k, new Uint8Array(0), "x", undefined, o),
        "INVALID_ARGUMENT",
      );
      await rejects(
        () => encrypt("rot13" as "aes-128-gcm", k, n, "x", undefined, o),
        "INVALID_ARGUMENT",
      );
      await rejects(
        () => decrypt("aes-128-gcm", k, n, new Uint8Array(4), new Uint8Array(3), undefined, o),
        "INVALID_ARGUMENT",
      );
    });

    it("WebCrypto decrypts our AES-GCM", async () => {
      if (!has("encrypt")) return;
      const key = new Uint8Array(nodeCrypto.randomBytes(32));
      const nonce = generateNonce("aes-256-gcm", has("randomBytes") ? o : {});
      const { ciphertext, tag } = encrypt("aes-256-gcm", key, nonce, "webcrypto", "hdr", o);
      const k = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
      const both = new Uint8Array([...ciphertext, ...tag]);
      const pt = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce as BufferSource, additionalData: te.encode("hdr") },
        k,
        both,
      );
      assert.equal(new TextDecoder().decode(pt), "webcrypto");
    });
  });

  describe(`keys and signatures (${backend})`, { skip: skip ?? false }, () => {
    const has = (fn: Parameters<typeof supported>[1]) => !skip && supported(backend, fn);
    let rsa: { privateKey: string; publicKey: string } | undefined;
    const getRsa = async () => rsa ??= await generateKey("rsa", { bits: 2048, ...o });

    it("generateKey + keyInfo for every type", async () => {
      if (!has("generateKey")) return rejects(() => generateKey("p256", o), "UNSUPPORTED");
      const cases = [
        ["p256", "ec", 256, "P-256"],
        ["ec-p384", "ec", 384, "P-384"],
        ["p521", "ec", 521, "P-521"],
        ["ed25519", "ed25519", 256, null],
        ["x25519", "x25519", 253, null],
      ] as const;
      for (const [t, type, bits, curve] of cases) {
        if (backend === "mbedtls" && t === "ed25519") {
          await rejects(() => generateKey(t, o), "UNSUPPORTED");
          const node = nodeCrypto.generateKeyPairSync(t as "ed25519").publicKey.export({
            type: "spki",
            format: "pem",
          });
          await rejects(() => keyInfo(node as string, o), "UNSUPPORTED");
          continue;
        }
        const kp = await generateKey(t, o);
        assert.match(kp.privateKey, /BEGIN PRIVATE KEY/);
        assert.match(kp.publicKey, /BEGIN PUBLIC KEY/);
        const info = keyInfo(kp.privateKey, o);
        assert.deepEqual([info.type, info.bits, info.curve, info.isPrivate], [
          type,
          bits,
          curve,
          true,
        ]);
        assert.equal(exportPublicKey(kp.privateKey, o), kp.publicKey);
        // node:crypto reads what we wrote
        assert.equal(
          nodeCrypto.createPublicKey(kp.publicKey).asymmetricKeyType,
          type === "ec" ? "ec" : type,
        );
      }
      const r = await getRsa();
      assert.equal(keyInfo(r.publicKey, o).bits, 2048);
      assert.equal(keyInfo(r.publicKey, o).isPrivate, false);
      await rejects(() => generateKey("dsa" as "rsa", o), "INVALID_ARGUMENT");
      await rejects(() => generateKey("rsa", { bits: 512, ...o }), "INVALID_ARGUMENT");
    });

    it("sign/verify interoperate with node:crypto", async () => {
      if (!has("sign")) return;
      const types = backend === "mbedtls"
        ? ["p256", "p384"] as const
        : ["p256", "p384", "p521", "ed25519"] as const;
      for (const t of types) {
        const kp = await generateKey(t, o);
        const sig = sign(kp.privateKey, "payload", o);
        assert.ok(verify(kp.publicKey, "payload", sig, o), t);
        assert.ok(!verify(kp.publicKey, "payloaD", sig, o), t);
        const nodeAlg = t === "ed25519"
          ? null
          : t === "p256"
          ? "sha256"
          : t === "p384"
          ? "sha384"
          : "sha512";
        assert.ok(
          nodeCrypto.verify(nodeAlg, te.encode("payload"), kp.publicKey, sig),
          `node verifies ${t}`,
        );
        const nsig = nodeCrypto.sign(nodeAlg, te.encode("payload"), kp.privateKey);
        assert.ok(
          verify(kp.publicKey, "payload", new Uint8Array(nsig), o),
          `we verify node's ${t}`,
        );
      }
      const r = await getRsa();
      const s1 = sign(r.privateKey, "m", o);
      assert.ok(nodeCrypto.verify("sha256", te.encode("m"), r.publicKey, s1));
      const s2 = sign(r.privateKey, "m", { padding: "pss", hash: "sha384", ...o });
      assert.ok(verify(r.publicKey, "m", s2, { padding: "pss", hash: "sha384", ...o }));
      assert.ok(nodeCrypto.verify("sha384", te.encode("m"), {
        key: r.publicKey,
        padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      }, s2));
      assert.ok(!verify(r.publicKey, "m", s2, o), "PSS signature is not PKCS#1");
      await rejects(() => sign(r.publicKey, "m", o), "INVALID_ARGUMENT");
      await rejects(() => sign("not a key", "m", o), "INVALID_ARGUMENT");
      await rejects(() => sign(new Uint8Array([1, 2, 3]), "m", o), "BAD_FORMAT");
    });

    it("ECDSA P1363 interoperates with WebCrypto", async () => {
      if (!has("sign")) return;
      const kp = await generateKey("p256", o);
      const sig = sign(kp.privateKey, "web", { signatureFormat: "ieee-p1363", ...o });
      assert.equal(sig.length, 64);
      const der = nodeCrypto.createPublicKey(kp.publicKey).export({ format: "der", type: "spki" });
      const k = await crypto.subtle.importKey(
        "spki",
        new Uint8Array(der),
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      assert.ok(
        await crypto.subtle.verify(
          { name: "ECDSA", hash: "SHA-256" },
          k,
          sig as BufferSource,
          te.encode("web"),
        ),
      );
      assert.ok(verify(kp.publicKey, "web", sig, { signatureFormat: "ieee-p1363", ...o }));
    });

    it("RSA encryption (OAEP and PKCS#1) interoperates with node:crypto", async () => {
      if (!has("rsaEncrypt")) return;
      const r = await getRsa();
      assert.equal(rsaMaxPlaintext(r.publicKey, o), 256 - 66);
      assert.equal(rsaMaxPlaintext(r.publicKey, { padding: "pkcs1", ...o }), 245);
      const c = rsaEncrypt(r.publicKey, "secret", o);
      assert.equal(new TextDecoder().decode(rsaDecrypt(r.privateKey, c, o)), "secret");
      const nd = nodeCrypto.privateDecrypt({ key: r.privateKey, oaepHash: "sha256" }, c);
      assert.equal(nd.toString(), "secret");
      const nc = nodeCrypto.publicEncrypt({ key: r.publicKey, oaepHash: "sha1" }, te.encode("x"));
      assert.equal(
        new TextDecoder().decode(
          rsaDecrypt(r.privateKey, new Uint8Array(nc), { padding: "oaep-sha1", ...o }),
        ),
        "x",
      );
      const p1 = rsaEncrypt(r.publicKey, "p", { padding: "pkcs1", ...o });
      assert.equal(
        new TextDecoder().decode(rsaDecrypt(r.privateKey, p1, { padding: "pkcs1", ...o })),
        "p",
      );
      await rejects(() => rsaEncrypt(r.publicKey, new Uint8Array(191), o), "INVALID_ARGUMENT");
      const bad = c.slice();
      bad[5] ^= 1;
      await rejects(() => rsaDecrypt(r.privateKey, bad, o), "BAD_DECRYPT");
    });

    it("ECDH and X25519 agree with node:crypto", async () => {
      if (!has("deriveSharedSecret")) {
        const k = nodeCrypto.generateKeyPairSync("x25519", {
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
        });
        return rejects(() => deriveSharedSecret(k.privateKey, k.publicKey, o), "UNSUPPORTED");
      }
      const curves = { p256: "P-256", p384: "P-384", p521: "P-521" } as const;
      for (const t of ["p256", "p384", "p521", "x25519"] as const) {
        const a = await generateKey(t, o);
        const gen = nodeCrypto.generateKeyPairSync as (t: string, o: unknown) => unknown;
        const b = gen(t === "x25519" ? "x25519" : "ec", {
          namedCurve: t === "x25519" ? undefined : curves[t],
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
        }) as unknown as { publicKey: string; privateKey: string };
        const ours = deriveSharedSecret(a.privateKey, b.publicKey, o);
        const theirs = nodeCrypto.diffieHellman({
          privateKey: nodeCrypto.createPrivateKey(b.privateKey),
          publicKey: nodeCrypto.createPublicKey(a.publicKey),
        });
        assert.equal(hex(ours), theirs.toString("hex"), t);
        // the other way round, with node's private key
        assert.equal(hex(deriveSharedSecret(b.privateKey, a.publicKey, o)), hex(ours), t);
      }
      // raw keys against node's ECDH class (secp256k1 too)
      for (const [t, name] of [["p256", "prime256v1"], ["secp256k1", "secp256k1"]] as const) {
        let x: nodeCrypto.ECDH, y: nodeCrypto.ECDH;
        try {
          x = nodeCrypto.createECDH(name);
          y = nodeCrypto.createECDH(name);
        } catch {
          continue; // Bun's node:crypto (BoringSSL) has no secp256k1
        }
        x.generateKeys();
        y.generateKeys();
        const s = deriveSharedSecret(
          importRawPrivateKey(t, new Uint8Array(x.getPrivateKey())),
          importRawPublicKey(t, new Uint8Array(y.getPublicKey())),
          o,
        );
        assert.equal(hex(s), x.computeSecret(y.getPublicKey()).toString("hex"), t);
      }
      const p = await generateKey("p256", o), q = await generateKey("p384", o);
      const x = await generateKey("x25519", o);
      await rejects(() => deriveSharedSecret(p.privateKey, q.publicKey, o), "INVALID_ARGUMENT");
      await rejects(() => deriveSharedSecret(p.privateKey, x.publicKey, o), "INVALID_ARGUMENT");
      await rejects(() => deriveSharedSecret(x.privateKey, p.publicKey, o), "INVALID_ARGUMENT");
      // a low-order X25519 point gives the all-zero secret: refused
      const zero = importRawPublicKey("x25519", new Uint8Array(32));
      await rejects(() => deriveSharedSecret(x.privateKey, zero, o), "INVALID_ARGUMENT");
    });

    it("key formats: PKCS#8, traditional, encrypted", async () => {
      if (!has("exportKey")) return;
      const kp = await generateKey("p256", o);
      assert.equal(detectFormat(kp.privateKey), "pkcs8-pem");
      const der = convertKey(kp.privateKey, "pkcs8-der", o);
      assert.equal(detectFormat(der), "pkcs8-der");
      const sec1 = convertKey(der, "pem", o);
      assert.match(sec1, /BEGIN EC PRIVATE KEY/);
      assert.equal(detectFormat(sec1), "pem");
      assert.equal(loadKey(sec1, o), kp.privateKey);
      const pubDer = convertKey(kp.publicKey, "der", o);
      assert.equal(detectFormat(pubDer), "der");
      const locked = exportKey(kp.privateKey, { outputPassword: "pw", ...o }) as string;
      assert.match(locked, /ENCRYPTED PRIVATE KEY/);
      assert.equal(loadKey(locked, { password: "pw", ...o }), kp.privateKey);
      // node reads our encrypted PKCS#8 (PBES2, AES-256-CBC) and finds the same key
      const back = nodeCrypto.createPrivateKey({ key: locked, passphrase: "pw" });
      assert.equal(
        nodeCrypto.createPublicKey(back).export({ type: "spki", format: "pem" }),
        kp.publicKey,
      );
      assert.equal(
        loadKey(back.export({ type: "pkcs8", format: "pem" }) as string, o),
        kp.privateKey,
      );
      // and we read node's (AES-128-CBC / AES-256-CBC, and DER)
      for (const cipher of ["aes-128-cbc", "aes-256-cbc"]) {
        const theirs = back.export({ type: "pkcs8", format: "pem", cipher, passphrase: "pw2" });
        assert.equal(loadKey(theirs as string, { password: "pw2", ...o }), kp.privateKey, cipher);
        await rejects(() => loadKey(theirs as string, { password: "pw", ...o }), "BAD_PASSWORD");
      }
      const lockedDer = exportKey(kp.privateKey, { outputPassword: "pw", format: "der", ...o });
      assert.equal(detectFormat(lockedDer), "pkcs8-der");
      assert.equal(loadKey(lockedDer, { password: "pw", ...o }), kp.privateKey);
      const x = await generateKey("x25519", o);
      const lockedX = exportKey(x.privateKey, { outputPassword: "pw", ...o }) as string;
      assert.equal(keyInfo(lockedX, { password: "pw", ...o }).publicKey, x.publicKey);
      await rejects(() => loadKey(locked, { password: "wrong", ...o }), "BAD_PASSWORD");
      await rejects(() => loadKey(locked, o), "BAD_PASSWORD");
      assert.equal(detectFormat(new Uint8Array([1, 2, 3])), "unknown");
    });

    it("EC point arithmetic", async () => {
      if (!has("ecPointMul")) return rejects(() => ecGenerateScalar("P-256", o), "UNSUPPORTED");
      const other: BackendName = backend === "openssl" ? "mbedtls" : "openssl";
      for (const c of ["P-256", "P-384", "P-521", "secp256k1"] as const) {
        const a = ecGenerateScalar(c, o), b = ecGenerateScalar(c, o);
        const A = ecPointMul(c, a, undefined, o), B = ecPointMul(c, b, undefined, o);
        assert.deepEqual(ecPointMul(c, b, A, o), ecPointMul(c, a, B, o), c);
        const comp = ecPointToBytes(c, A, { compressed: true, ...o });
        assert.equal(comp.length, A.length >> 1 | 0 ? (A.length - 1) / 2 + 1 : 0);
        assert.deepEqual(ecPointFromBytes(c, comp, o), A);
        // (a+b)G via addition equals A+B
        const sum = ecPointAdd(c, A, B, o);
        assert.equal(sum.length, A.length);
        const bad = A.slice();
        bad[bad.length - 1] ^= 1;
        await rejects(() => ecPointFromBytes(c, bad, o), "INVALID_ARGUMENT");
        await rejects(() => ecPointAdd(c, A, bad, o), "INVALID_ARGUMENT");
        await rejects(() => ecPointMul(c, a, bad, o), "INVALID_ARGUMENT");
        // A + (−A) is the point at infinity
        const negA = Uint8Array.of(A[A.length - 1] & 1 ? 2 : 3, ...A.subarray(1, comp.length));
        await rejects(() => ecPointAdd(c, A, negA, o), "INVALID_ARGUMENT");
        assert.deepEqual(ecPointAdd(c, A, A, o), ecPointMul(c, Uint8Array.of(2), A, o), `2A ${c}`);
        await rejects(
          () => ecPointMul(c, new Uint8Array(comp.length - 1).fill(0xff), undefined, o),
          "INVALID_ARGUMENT",
        );
        // both backends compute the same points
        if (other && !available(other)) {
          const oo = { backend: other };
          assert.deepEqual(sum, ecPointAdd(c, A, B, oo), `A+B ${c} vs ${other}`);
          assert.deepEqual(ecPointMul(c, a, B, o), ecPointMul(c, a, B, oo), `aB ${c} vs ${other}`);
          assert.deepEqual(comp, ecPointToBytes(c, A, { compressed: true, ...oo }));
        }
      }
      // matches node's ECDH public key derivation
      const ecdh = nodeCrypto.createECDH("prime256v1");
      ecdh.generateKeys();
      assert.equal(
        hex(ecPointMul("P-256", new Uint8Array(ecdh.getPrivateKey()), undefined, o)),
        ecdh.getPublicKey("hex"),
      );
      await rejects(
        () => ecPointMul("P-256", new Uint8Array(32), undefined, o),
        "INVALID_ARGUMENT",
      );
      await rejects(
        () => ecPointMul("P-224" as "P-256", new Uint8Array(32), undefined, o),
        "INVALID_ARGUMENT",
      );
    });
  });
}

describe("passwords for C", () => {
  it("a NUL in a password is refused, never silently cut short", async () => {
    const { privateKey } = await generateKey("p256");
    const nul = "strong\0password";
    assert.throws(
      () => exportKey(privateKey, { outputPassword: nul }),
      (e: unknown) =>
        e instanceof CryptoError && e.code === "INVALID_ARGUMENT" && !e.message.includes("strong"),
    );
    assert.throws(
      () => loadKey(privateKey, { password: nul }),
      (e: unknown) => e instanceof CryptoError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("bytes that change under us never reach C", () => {
  for (const backend of BACKENDS) {
    const skip = available(backend) ?? false;
    it(`${backend}: a Uint8Array whose length lies is hashed at its real length`, { skip }, () => {
      const d = new Uint8Array(16).fill(7);
      Object.defineProperty(d, "length", { value: 1 << 30 });
      const liar = class extends Uint8Array {
        override get length() {
          return 1 << 30;
        }
      };
      const want = digest("sha256", new Uint8Array(16).fill(7), { backend });
      assert.deepEqual(digest("sha256", d, { backend }), want);
      assert.deepEqual(digest("sha256", new liar(16).fill(7), { backend }), want);
      // An own `constructor` whose species makes slice() return a liar.
      const species = new Uint8Array(16).fill(7);
      Object.defineProperty(species, "constructor", {
        value: {
          [Symbol.species]: (n: number) =>
            Object.defineProperty(new Uint8Array(n), "length", { value: 1 << 28 }),
        },
      });
      assert.deepEqual(digest("sha256", species, { backend }), want);
    });

    it(
      `${backend}: an options getter that detaches or shrinks a checked key or nonce changes nothing`,
      {
        skip,
      },
      () => {
        for (const algo of ["aes-128-gcm", "chacha20-poly1305", "aes-128-cbc"] as const) {
          const info = cipherInfo(algo);
          const want = encrypt(
            algo,
            new Uint8Array(info.keyLength).fill(1),
            new Uint8Array(info.nonceLength).fill(2),
            "hello",
            undefined,
            { backend },
          );
          const key = new Uint8Array(info.keyLength).fill(1);
          const nonceBuf = new ArrayBuffer(info.nonceLength, { maxByteLength: 64 });
          const nonce = new Uint8Array(nonceBuf).fill(2);
          const options = {
            backend,
            get tagLength() {
              key.buffer.transfer(); // detached: key.length is 0 now
              nonceBuf.resize(0);
              return undefined;
            },
          };
          assert.deepEqual(encrypt(algo, key, nonce, "hello", undefined, options), want, algo);
        }
      },
    );
  }

  it("importRawPrivateKey refuses EC scalars of 0 and of the group order or more", () => {
    const order = Uint8Array.from(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551".match(/../g)!,
      (h) => parseInt(h, 16),
    );
    for (const bad of [new Uint8Array(32), order, new Uint8Array(32).fill(0xff)]) {
      assert.throws(
        () => importRawPrivateKey("p256", bad),
        (e: unknown) => e instanceof CryptoError && e.code === "INVALID_ARGUMENT",
      );
    }
    const below = order.slice();
    below[31]--;
    assert.match(importRawPrivateKey("p256", below), /BEGIN PRIVATE KEY/);
  });
});

describe("private keys out of range", () => {
  for (const backend of BACKENDS) {
    it(`${backend}: a PKCS#8 P-256 key whose scalar is 0 is refused, never used to sign`, {
      skip: available(backend) ?? false,
    }, async () => {
      const der = Uint8Array.from(
        ("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420" + "00".repeat(32))
          .match(/../g)!,
        (h) => parseInt(h, 16),
      );
      await rejects(() => sign(der, "hello", { backend }), "BAD_FORMAT");
      await rejects(() => keyInfo(der, { backend }), "BAD_FORMAT");
    });
  }
});
