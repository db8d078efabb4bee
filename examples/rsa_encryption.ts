// RSA-OAEP (SHA-256) encryption of a small secret, e.g. a symmetric key.
// Run: deno run -A examples/rsa_encryption.ts   |   bun examples/rsa_encryption.ts
import {
  generateKey,
  randomBytes,
  rsaDecrypt,
  rsaEncrypt,
  rsaMaxPlaintext,
} from "../crypto/mod.ts";

const { privateKey, publicKey } = await generateKey("rsa", { bits: 2048 });
console.log(`OAEP-SHA256 fits at most ${rsaMaxPlaintext(publicKey)} bytes with this key`);
const sessionKey = randomBytes(32);
const wrapped = rsaEncrypt(publicKey, sessionKey);
const unwrapped = rsaDecrypt(privateKey, wrapped);
console.log(
  `wrapped ${sessionKey.length} bytes into ${wrapped.length}; round trip ok: ${
    unwrapped.every((b, i) => b === sessionKey[i])
  }`,
);
