// Raw elliptic-curve arithmetic: a Diffie-Hellman exchange by hand, and point checks.
// Run: deno run -A examples/ec_point_operations.ts   |   bun examples/ec_point_operations.ts
import {
  base64urlEncode,
  CryptoError,
  ecGenerateScalar,
  ecPointAdd,
  ecPointFromBytes,
  ecPointMul,
  ecPointToBytes,
} from "../crypto/mod.ts";
import { exitIfUnsupported } from "./_unsupported.ts";

exitIfUnsupported(); // on a backend that lacks an operation: print UNSUPPORTED, exit 0

for (const curve of ["P-256", "secp256k1"] as const) {
  const a = ecGenerateScalar(curve), b = ecGenerateScalar(curve);
  const A = ecPointMul(curve, a), B = ecPointMul(curve, b);
  const k1 = ecPointMul(curve, a, B), k2 = ecPointMul(curve, b, A);
  console.log(`${curve}: shared point agrees: ${base64urlEncode(k1) === base64urlEncode(k2)}`);
  const compressed = ecPointToBytes(curve, A, { compressed: true });
  console.log(
    `  A is ${A.length} bytes, ${compressed.length} compressed; A+B = ${
      base64urlEncode(ecPointAdd(curve, A, B)).slice(0, 24)
    }...`,
  );
  const bad = A.slice();
  bad[bad.length - 1] ^= 1;
  try {
    ecPointFromBytes(curve, bad);
  } catch (e) {
    if (e instanceof CryptoError) console.log(`  off-curve point rejected: ${e.code}`);
  }
}
