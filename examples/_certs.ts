/**
 * For the DTLS examples: a throwaway self-signed certificate for "localhost"
 * (P-256, SAN DNS:localhost and IP:127.0.0.1, valid one day), made by the
 * openssl CLI in a temporary directory that is removed again.
 *
 * Not an example itself (files starting with "_" are helpers).
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM certificate and key for "localhost", made by `openssl req -x509`. */
export function localhostCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "jsec-dtls-"));
  try {
    execFileSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return {
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true });
  }
}
