// Authenticated encryption with AES-256-GCM and ChaCha20-Poly1305, and a key from a password.
// Run: deno run -A examples/symmetric_encryption.ts   |   bun examples/symmetric_encryption.ts
import {
  CryptoError,
  decrypt,
  encrypt,
  generateNonce,
  pbkdf2,
  randomBytes,
} from "../crypto/mod.ts";

const salt = randomBytes(16);
const key = await pbkdf2("sha256", "correct horse battery staple", salt, 100_000, 32);
for (const algo of ["aes-256-gcm", "chacha20-poly1305"] as const) {
  const nonce = generateNonce(algo);
  const { ciphertext, tag } = encrypt(algo, key, nonce, "meet at noon", "header v1");
  const plain = decrypt(algo, key, nonce, ciphertext, tag, "header v1");
  console.log(
    `${algo}: ${ciphertext.length}-byte ciphertext, ${tag.length}-byte tag -> "${
      new TextDecoder().decode(plain)
    }"`,
  );
  try {
    decrypt(algo, key, nonce, ciphertext, tag, "header v2");
  } catch (e) {
    if (e instanceof CryptoError) console.log(`  wrong AAD rejected: ${e.code}`);
  }
}
