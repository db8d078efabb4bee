// Sign and verify with Ed25519, ECDSA P-256 and RSA-PSS.
// Run: deno run -A examples/crypto_signing.ts   |   bun examples/crypto_signing.ts
import { base64Encode, generateKey, sign, verify } from "../crypto/mod.ts";
import { exitIfUnsupported } from "./_unsupported.ts";

exitIfUnsupported(); // on a backend that lacks an operation: print UNSUPPORTED, exit 0

const message = "transfer 100 coins to alice";
for (const type of ["ed25519", "p256", "rsa"] as const) {
  const { privateKey, publicKey } = await generateKey(type);
  const options = type === "rsa" ? { padding: "pss" as const } : {};
  const signature = sign(privateKey, message, options);
  console.log(
    `${type.padEnd(8)} signature (${signature.length} bytes): ${
      base64Encode(signature).slice(0, 40)
    }...`,
  );
  console.log(
    `         valid: ${verify(publicKey, message, signature, options)}, tampered: ${
      verify(publicKey, message + "!", signature, options)
    }`,
  );
}
