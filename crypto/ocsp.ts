/**
 * OCSP responses (RFC 6960) read in pure TypeScript: the overall status,
 * and for each certificate its status, validity window and revocation time.
 * Used with the stapled response of a TLS connection (`conn.info.ocspResponse`).
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import {
  badFormat,
  children,
  contentOf,
  decodeOid,
  expectTlv,
  integerHex,
  readTlv,
  TAG,
  type Tlv,
} from "../backends/der.ts";
import { parseTime } from "../backends/x509_der.ts";
import { invalid } from "./_common.ts";

/** `OCSPResponseStatus` (RFC 6960 §4.2.1). */
export type OcspResponseStatus =
  | "successful"
  | "malformedRequest"
  | "internalError"
  | "tryLater"
  | "sigRequired"
  | "unauthorized";

/** A certificate's status in an OCSP response. */
export type OcspCertStatus = "good" | "revoked" | "unknown";

/** One `SingleResponse`: the status of one certificate. */
export interface OcspSingleResponse {
  /** The certificate's serial number, upper-case hex (as `CertInfo.serial`). */
  serial: string;
  /** Whether the certificate is good, revoked or unknown. */
  certStatus: OcspCertStatus;
  /** When the status was known to be correct. */
  thisUpdate: Date;
  /** When newer information will be available (null: at any time). */
  nextUpdate: Date | null;
  /** When the certificate was revoked (revoked only). */
  revokedAt?: Date;
  /** CRLReason code (revoked, when given): 0 unspecified, 1 keyCompromise, ... */
  revocationReason?: number;
}

/** A successful response: the first certificate's status, and all of them. */
export interface OcspSuccessfulResponse extends OcspSingleResponse {
  /** Always "successful". */
  status: "successful";
  /** When the responder signed the response. */
  producedAt: Date;
  /** Every `SingleResponse`, in order (the top-level fields repeat the first). */
  responses: OcspSingleResponse[];
}

/** A response that carries only an error status (no certificate status). */
export interface OcspErrorResponse {
  /** The responder's error status. */
  status: Exclude<OcspResponseStatus, "successful">;
}

/** What {@link parseOcspResponse} returns: narrow on `status`. */
export type OcspResponse = OcspSuccessfulResponse | OcspErrorResponse;

const STATUS: Record<number, OcspResponseStatus> = {
  0: "successful",
  1: "malformedRequest",
  2: "internalError",
  3: "tryLater",
  5: "sigRequired",
  6: "unauthorized",
};

const OID_BASIC = "1.3.6.1.5.5.7.48.1.1"; // id-pkix-ocsp-basic

/**
 * Parses a DER OCSP response (e.g. `conn.info.ocspResponse`). Synchronous.
 *
 * It reads the response; it does **not** check the responder's signature or
 * that the response is about the certificate you care about (compare `serial`
 * with the peer certificate's) or still current (`thisUpdate`/`nextUpdate`).
 *
 * Throws `CryptoError` INVALID_ARGUMENT for a non-`Uint8Array`, BAD_FORMAT for
 * malformed DER or an unknown response type.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * import { parseOcspResponse } from "@jsec/tls/crypto";
 * const conn = await connect({ hostname: "example.com", port: 443, requestOcsp: true });
 * const der = conn.info.ocspResponse;
 * if (der) {
 *   const r = parseOcspResponse(der);
 *   if (r.status === "successful") console.log(r.certStatus, r.nextUpdate);
 * }
 * ```
 */
export function parseOcspResponse(der: Uint8Array): OcspResponse {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    invalid("der", der, "the DER bytes of an OCSP response");
  }
  try {
    return parse(der);
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new CryptoError("BAD_FORMAT", `malformed OCSP response: ${(e as Error).message}`);
  }
}

function parse(b: Uint8Array): OcspResponse {
  const top = expectTlv(b, 0, b.length, TAG.SEQUENCE, "OCSPResponse");
  if (top.end !== b.length) badFormat("bytes after the OCSPResponse");
  const [statusTlv, bytesTlv] = children(b, top);
  if (!statusTlv || statusTlv.tag !== 0x0a) badFormat("OCSPResponse: no responseStatus");
  const code = contentOf(b, statusTlv);
  if (code.length !== 1 || !(code[0] in STATUS)) badFormat("unknown responseStatus");
  const status = STATUS[code[0]];
  if (status !== "successful") return { status };
  if (!bytesTlv || bytesTlv.tag !== 0xa0) badFormat("successful response without responseBytes");
  // responseBytes [0] EXPLICIT SEQUENCE { responseType OID, response OCTET STRING }
  const rb = expectTlv(b, bytesTlv.contentStart, bytesTlv.end, TAG.SEQUENCE, "ResponseBytes");
  const [typeTlv, respTlv] = children(b, rb);
  if (!typeTlv || typeTlv.tag !== TAG.OID) badFormat("ResponseBytes: no responseType");
  const type = decodeOid(contentOf(b, typeTlv));
  if (type !== OID_BASIC) badFormat(`responseType ${type} is not id-pkix-ocsp-basic`);
  if (!respTlv || respTlv.tag !== TAG.OCTET_STRING) badFormat("ResponseBytes: no response");
  const basic = contentOf(b, respTlv);
  // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature, certs }
  const basicSeq = expectTlv(basic, 0, basic.length, TAG.SEQUENCE, "BasicOCSPResponse");
  const [data] = children(basic, basicSeq);
  if (!data || data.tag !== TAG.SEQUENCE) badFormat("BasicOCSPResponse: no ResponseData");
  // ResponseData ::= SEQUENCE { [0] version OPTIONAL, responderID, producedAt, responses, [1] ext }
  let fields = children(basic, data);
  if (fields[0]?.tag === 0xa0) fields = fields.slice(1);
  const [responder, producedTlv, responsesTlv] = fields;
  if (!responder || (responder.tag !== 0xa1 && responder.tag !== 0xa2)) {
    badFormat("ResponseData: no responderID");
  }
  if (!producedTlv) badFormat("ResponseData: no producedAt");
  if (!responsesTlv || responsesTlv.tag !== TAG.SEQUENCE) badFormat("ResponseData: no responses");
  const responses = children(basic, responsesTlv).map((t) => single(basic, t));
  if (responses.length === 0) badFormat("ResponseData: empty responses");
  return {
    status,
    ...responses[0],
    producedAt: parseTime(basic, producedTlv),
    responses,
  };
}

function single(b: Uint8Array, t: Tlv): OcspSingleResponse {
  if (t.tag !== TAG.SEQUENCE) badFormat("SingleResponse is not a SEQUENCE");
  const [certId, statusTlv, thisTlv, ...rest] = children(b, t);
  if (!certId || certId.tag !== TAG.SEQUENCE) badFormat("SingleResponse: no CertID");
  // CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber }
  const idFields = children(b, certId);
  const serialTlv = idFields[3];
  if (!serialTlv || serialTlv.tag !== TAG.INTEGER) badFormat("CertID: no serialNumber");
  if (!statusTlv) badFormat("SingleResponse: no certStatus");
  if (!thisTlv) badFormat("SingleResponse: no thisUpdate");
  const out: OcspSingleResponse = {
    serial: integerHex(contentOf(b, serialTlv)),
    certStatus: "unknown",
    thisUpdate: parseTime(b, thisTlv),
    nextUpdate: null,
  };
  switch (statusTlv.tag) {
    case 0x80: // good [0] IMPLICIT NULL
      out.certStatus = "good";
      break;
    case 0xa1: { // revoked [1] IMPLICIT RevokedInfo { revocationTime, [0] EXPLICIT CRLReason }
      out.certStatus = "revoked";
      const [when, reason] = children(b, statusTlv);
      if (!when) badFormat("RevokedInfo: no revocationTime");
      out.revokedAt = parseTime(b, when);
      if (reason?.tag === 0xa0) {
        const e = readTlv(b, reason.contentStart, reason.end);
        const c = contentOf(b, e);
        if (e.tag !== 0x0a || c.length !== 1) badFormat("RevokedInfo: bad revocationReason");
        out.revocationReason = c[0];
      }
      break;
    }
    case 0x82: // unknown [2] IMPLICIT NULL
      out.certStatus = "unknown";
      break;
    default:
      badFormat(`unknown certStatus tag 0x${statusTlv.tag.toString(16)}`);
  }
  const next = rest.find((r) => r.tag === 0xa0);
  if (next) out.nextUpdate = parseTime(b, readTlv(b, next.contentStart, next.end));
  return out;
}
