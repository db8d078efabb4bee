/**
 * The error classes every layer of jsec throws. A leaf module: it imports nothing.
 *
 * @module
 */

/** The kinds of TLS failure, as `TlsError.code`. */
export type TlsErrorCode =
  | "CERT_VERIFY"
  | "HANDSHAKE"
  | "ALERT"
  | "CLOSED"
  | "TIMEOUT"
  | "ABORTED"
  | "BACKEND_UNAVAILABLE"
  | "UNSUPPORTED"
  | "INVALID_OPTION"
  | "PROTOCOL";

/** Extra fields a {@link TlsError} may carry. */
export interface TlsErrorInit {
  /** The backend's own error text (OpenSSL's error queue, mbedTLS's code). */
  detail?: string;
  /** For `CERT_VERIFY`: why the peer was rejected, e.g. "certificate has expired". */
  verifyResult?: string;
  /** For `ALERT`: the alert's description, e.g. "handshake failure". */
  alert?: string;
  /** For `INVALID_OPTION`: the option at fault. */
  option?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A TLS or DTLS failure, with a machine-readable `code`.
 *
 * @example
 * ```ts
 * import { connect, TlsError } from "@jsec/tls";
 * try {
 *   await connect({ hostname: "localhost", port: 8443 });
 * } catch (e) {
 *   if (e instanceof TlsError && e.code === "CERT_VERIFY") console.log(e.verifyResult);
 * }
 * ```
 */
export class TlsError extends Error {
  /** What kind of failure this is. */
  readonly code: TlsErrorCode;
  /** The backend's own error text, when there is one. */
  readonly detail?: string;
  /** For `CERT_VERIFY`: the verifier's reason. */
  readonly verifyResult?: string;
  /** For `ALERT`: the alert description. */
  readonly alert?: string;
  /** For `INVALID_OPTION`: the option at fault. */
  readonly option?: string;

  /** Creates a TLS error with a code, a message and optional extra fields. */
  constructor(code: TlsErrorCode, message: string, init: TlsErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "TlsError";
    this.code = code;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.verifyResult !== undefined) this.verifyResult = init.verifyResult;
    if (init.alert !== undefined) this.alert = init.alert;
    if (init.option !== undefined) this.option = init.option;
  }
}

/** The kinds of crypto failure, as `CryptoError.code`. */
export type CryptoErrorCode =
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED"
  | "BAD_DECRYPT"
  | "BAD_FORMAT"
  | "BAD_PASSWORD"
  | "VERIFY_FAILED"
  | "BACKEND_UNAVAILABLE"
  | "INTERNAL";

/**
 * A failure in the crypto toolbox, with a machine-readable `code`.
 *
 * @example
 * ```ts
 * import { decrypt, CryptoError } from "@jsec/tls/crypto";
 * try {
 *   decrypt("aes-128-gcm", key, nonce, ciphertext, tag);
 * } catch (e) {
 *   if (e instanceof CryptoError && e.code === "BAD_DECRYPT") console.log("tampered");
 * }
 * ```
 */
export class CryptoError extends Error {
  /** What kind of failure this is. */
  readonly code: CryptoErrorCode;
  /** The backend's own error text, when there is one. */
  readonly detail?: string;

  /** Creates a crypto error with a code, a message and optional detail and cause. */
  constructor(
    code: CryptoErrorCode,
    message: string,
    init: { detail?: string; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "CryptoError";
    this.code = code;
    if (init.detail !== undefined) this.detail = init.detail;
  }
}

/** Throws `TlsError("INVALID_OPTION")` naming the option and the bad value. */
export function invalidOption(option: string, value: unknown, expected: string): never {
  let shown: string;
  try {
    shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  if (shown.length > 80) shown = shown.slice(0, 77) + "...";
  throw new TlsError(
    "INVALID_OPTION",
    `invalid option ${option}: ${shown} (expected ${expected})`,
    {
      option,
    },
  );
}
