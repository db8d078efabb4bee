/**
 * Base64 and base64url, in pure TypeScript (no backend involved).
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import { decodeBase64, encodeBase64 } from "../backends/pem.ts";
import { bytes, show } from "./_common.ts";

/**
 * Standard base64 (RFC 4648 §4) with padding. Strings are encoded as UTF-8 first.
 * Synchronous.
 *
 * @example
 * ```ts
 * import { base64Encode } from "@jsec/tls/crypto";
 * base64Encode("hi"); // "aGk="
 * ```
 */
export function base64Encode(data: Uint8Array | string): string {
  return encodeBase64(bytes("data", data));
}

/**
 * Decodes standard base64; whitespace is ignored and padding optional.
 * Throws `CryptoError("BAD_FORMAT")` on characters outside the alphabet.
 */
export function base64Decode(text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new CryptoError("INVALID_ARGUMENT", `invalid text: ${show(text)} (expected a string)`);
  }
  if (/[-_]/.test(text)) {
    throw new CryptoError("BAD_FORMAT", "invalid base64: '-' or '_' (base64url?)");
  }
  const out = decodeBase64(text);
  if (!out) throw new CryptoError("BAD_FORMAT", "invalid base64");
  return out;
}

/**
 * base64url (RFC 4648 §5) without padding, as used by JWTs and WebAuthn. Synchronous.
 *
 * @example
 * ```ts
 * import { base64urlEncode } from "@jsec/tls/crypto";
 * base64urlEncode(new Uint8Array([251, 255])); // "-_8"
 * ```
 */
export function base64urlEncode(data: Uint8Array | string): string {
  return encodeBase64(bytes("data", data)).replace(/=+$/, "").replace(/\+/g, "-").replace(
    /\//g,
    "_",
  );
}

/** Decodes base64url (padding optional). Throws `CryptoError("BAD_FORMAT")` on bad input. */
export function base64urlDecode(text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new CryptoError("INVALID_ARGUMENT", `invalid text: ${show(text)} (expected a string)`);
  }
  if (/[+/]/.test(text)) throw new CryptoError("BAD_FORMAT", "invalid base64url: '+' or '/'");
  const out = decodeBase64(text);
  if (!out) throw new CryptoError("BAD_FORMAT", "invalid base64url");
  return out;
}
