/**
 * mbedTLS error codes turned into {@link TlsError}s: a rejected certificate is
 * `CERT_VERIFY` (with OpenSSL's wording in `verifyResult`), a fatal alert from
 * the peer is `ALERT`, a DTLS give-up is `TIMEOUT`, anything else the
 * caller's fallback; `mbedtls_strerror` goes into `detail`.
 *
 * @module
 */

import { ALERTS, ERR } from "../../ffi/mbedtls.ts";
import { TlsError, type TlsErrorCode } from "../../errors.ts";
import { type MbedTls, strerror } from "./lib.ts";
import { verifyInfo, verifyResultText } from "./verify.ts";

/** What the error mapping may ask the failed engine. */
export interface FailureSource {
  /** `mbedtls_ssl_get_verify_result`. */
  verifyFlags(): number;
  /** The peer's chain as DER, leaf first (empty if none was received). */
  peerChainDer(): Uint8Array[];
  /** The description byte of the alert just received, when readable. */
  receivedAlert(): number | null;
}

/** The TlsError for mbedTLS return code `rc` from operation `what`. */
export function tlsFailure(
  m: MbedTls,
  what: string,
  rc: number,
  fallback: TlsErrorCode,
  src: FailureSource,
): TlsError {
  const detail = strerror(m, rc);
  switch (rc) {
    case ERR.X509_CERT_VERIFY_FAILED: {
      const flags = src.verifyFlags();
      const text = verifyResultText(flags, src.peerChainDer());
      const info = verifyInfo(m, flags);
      return new TlsError("CERT_VERIFY", `${what}: certificate verification failed: ${text}`, {
        verifyResult: text,
        detail: info ? `${info}; ${detail}` : detail,
      });
    }
    case -0x7680: // CA_CHAIN_REQUIRED: verifying with no trust anchors at all
      return new TlsError(
        "CERT_VERIFY",
        `${what}: certificate verification failed: unable to get local issuer certificate (no CA certificates configured)`,
        { verifyResult: "unable to get local issuer certificate", detail },
      );
    case ERR.NO_CLIENT_CERTIFICATE:
    case -0x7580: // CERTIFICATE_REQUIRED
      return new TlsError("CERT_VERIFY", `${what}: the peer did not return a certificate`, {
        verifyResult: "peer did not return a certificate",
        detail,
      });
    case ERR.FATAL_ALERT_MESSAGE: {
      const code = src.receivedAlert();
      const alert = code === null ? "alert" : ALERTS[code] ?? `alert ${code}`;
      return new TlsError("ALERT", `${what}: the peer sent a fatal alert: ${alert}`, {
        alert,
        detail,
      });
    }
    case ERR.TIMEOUT:
      return new TlsError(
        "TIMEOUT",
        `${what}: the peer stopped answering (DTLS retransmissions exhausted)`,
        {
          detail,
        },
      );
    default:
      return new TlsError(fallback, `${what} failed: ${detail}`, { detail });
  }
}
