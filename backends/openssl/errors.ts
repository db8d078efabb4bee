/**
 * OpenSSL's per-thread error queue turned into {@link TlsError}s. Every
 * operation clears the queue first, so one connection's errors never show
 * up in another's.
 *
 * @module
 */

import { errReason, SSL_AD_REASON_OFFSET } from "../../ffi/openssl.ts";
import { readCString } from "../../ffi/runtime.ts";
import { TlsError, type TlsErrorCode } from "../../errors.ts";
import type { OpenSsl } from "./lib.ts";

const errText = new Uint8Array(new ArrayBuffer(256));
const decoder = new TextDecoder();

/** One drained error: its packed code and OpenSSL's text. */
export interface QueuedError {
  code: bigint;
  text: string;
}

/** Empties the error queue, returning what was in it, oldest first. */
export function drainErrors(o: OpenSsl): QueuedError[] {
  const out: QueuedError[] = [];
  for (let i = 0; i < 32; i++) {
    const code = o.crypto.ERR_get_error();
    if (code === 0n) break;
    o.crypto.ERR_error_string_n(code, errText, BigInt(errText.length));
    const end = errText.indexOf(0);
    out.push({ code, text: decoder.decode(errText.subarray(0, end < 0 ? errText.length : end)) });
  }
  o.crypto.ERR_clear_error(); // past 32 entries: drop the rest
  return out;
}

/**
 * Empties the error queue before an operation whose failure is read from it.
 * Peeking first costs a fifth of a clear (which wipes all 16 slots) and the
 * queue is nearly always empty already.
 */
export function clearErrors(o: OpenSsl): void {
  if (o.crypto.ERR_peek_error() !== 0) o.crypto.ERR_clear_error();
}

/** The texts of `errors`, joined for a `detail`. */
export function detailOf(errors: QueuedError[]): string | undefined {
  return errors.length ? errors.map((e) => e.text).join("; ") : undefined;
}

/** TLS 1.3 alerts that OpenSSL 3.0's `SSL_alert_desc_string_long` calls "unknown". */
const NEWER_ALERTS: Record<number, string> = {
  109: "missing extension",
  116: "certificate required",
  120: "no application protocol",
};

/** The alert the peer sent, if the queue says one arrived. */
export function receivedAlert(o: OpenSsl, errors: QueuedError[]): string | null {
  for (const e of errors) {
    const reason = errReason(e.code);
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      const alert = reason - SSL_AD_REASON_OFFSET;
      const text = readCString(o.ssl.SSL_alert_desc_string_long(alert));
      return text === "unknown" ? NEWER_ALERTS[alert] ?? `alert ${alert}` : text;
    }
  }
  return null;
}

/** `X509_verify_cert_error_string` of a verify result. */
export function verifyText(o: OpenSsl, result: bigint): string {
  return readCString(o.crypto.X509_verify_cert_error_string(result));
}

/**
 * Builds the error for a failed TLS operation from the drained queue and
 * the verify result: a rejected peer certificate is `CERT_VERIFY`, an alert
 * from the peer is `ALERT`, anything else `fallback`.
 */
export function tlsFailure(
  o: OpenSsl,
  what: string,
  fallback: TlsErrorCode,
  verifyResult: bigint,
  errors: QueuedError[],
): TlsError {
  const detail = detailOf(errors);
  if (verifyResult !== 0n && errors.some((e) => /certificate verify failed/.test(e.text))) {
    const text = verifyText(o, verifyResult);
    return new TlsError("CERT_VERIFY", `${what}: certificate verification failed: ${text}`, {
      verifyResult: text,
      detail,
    });
  }
  const alert = receivedAlert(o, errors);
  if (alert) {
    return new TlsError("ALERT", `${what}: the peer sent a fatal alert: ${alert}`, {
      alert,
      detail,
    });
  }
  return new TlsError(fallback, `${what} failed${detail ? `: ${detail}` : ""}`, { detail });
}
