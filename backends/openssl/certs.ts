/**
 * Loading certificates and private keys (PEM or DER) into OpenSSL objects.
 * The caller owns what these return and frees it with X509_free/EVP_PKEY_free.
 *
 * @module
 */

import { copyFrom, cstr, isNull, keepAlive, type Ptr, readPtrFrom } from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import { looksLikePem } from "../pem.ts";
import { d2i, i2dBytes } from "./crypto_lib.ts";
import { detailOf, drainErrors } from "./errors.ts";
import type { OpenSsl } from "./lib.ts";

function withMemBio<T>(o: OpenSsl, data: Uint8Array, fn: (bio: Ptr) => T): T {
  if (data.length === 0 || data.length > 0x7fffffff) throw new RangeError("bad length");
  const bio = o.crypto.BIO_new_mem_buf(data, data.length); // no copy: the BIO reads `data`
  if (isNull(bio)) throw new Error("BIO_new_mem_buf failed");
  try {
    return fn(bio);
  } finally {
    o.crypto.BIO_free(bio);
    keepAlive(data);
  }
}

/**
 * Parses every certificate in `data` (a PEM bundle or one DER certificate).
 * Throws `TlsError("INVALID_OPTION")` naming `option` when there is none or one is bad.
 */
export function loadCertificates(o: OpenSsl, data: Uint8Array, option: string): Ptr[] {
  o.crypto.ERR_clear_error();
  const certs: Ptr[] = [];
  if (data.length === 0) {
    throw new TlsError("INVALID_OPTION", `invalid option ${option}: empty certificate`, { option });
  }
  if (looksLikePem(data)) {
    withMemBio(o, data, (bio) => {
      for (;;) {
        const x = o.crypto.PEM_read_bio_X509(bio, null, null, null);
        if (isNull(x)) break;
        certs.push(x);
      }
    });
    // Running out of PEM blocks leaves a "no start line" error: expected at the end.
    const errors = drainErrors(o).filter((e) => !/no start line/.test(e.text));
    if (errors.length || certs.length === 0) {
      for (const c of certs) o.crypto.X509_free(c);
      throw new TlsError(
        "INVALID_OPTION",
        `invalid option ${option}: no valid PEM certificate found`,
        { option, detail: detailOf(errors) },
      );
    }
    return certs;
  }
  const x = d2i(o.crypto.d2i_X509, data);
  if (isNull(x)) {
    throw new TlsError("INVALID_OPTION", `invalid option ${option}: not a PEM or DER certificate`, {
      option,
      detail: detailOf(drainErrors(o)),
    });
  }
  return [x];
}

/** Parses a private key (PEM, optionally encrypted with `password`, or DER). */
export function loadPrivateKey(
  o: OpenSsl,
  data: Uint8Array,
  option: string,
  password?: string,
): Ptr {
  o.crypto.ERR_clear_error();
  if (data.length === 0) {
    throw new TlsError("INVALID_OPTION", `invalid option ${option}: empty key`, { option });
  }
  const key = looksLikePem(data)
    ? withMemBio(o, data, (bio) =>
      // With no callback, OpenSSL takes `u` as the NUL-terminated passphrase.
      o.crypto.PEM_read_bio_PrivateKey(bio, null, null, cstr(password ?? "")))
    : d2i(o.crypto.d2i_AutoPrivateKey, data);
  if (isNull(key)) {
    const detail = detailOf(drainErrors(o));
    const why = /bad decrypt|interrupted or cancelled/i.test(detail ?? "")
      ? "wrong or missing keyPassword"
      : "not a valid PEM or DER private key";
    throw new TlsError("INVALID_OPTION", `invalid option ${option}: ${why}`, { option, detail });
  }
  return key;
}

/** DER encoding of an X509 object. */
export function certificateDer(o: OpenSsl, x509: Ptr): Uint8Array {
  return i2dBytes(o.crypto.i2d_X509, x509) ?? new Uint8Array(0);
}

/** Copies out a `(const uchar *, unsigned)` pair returned through out-parameters. */
export function copyOutPair(ptrBuf: Uint8Array, lenBuf: Uint8Array): Uint8Array | null {
  const p = readPtrFrom(ptrBuf);
  const len = new DataView(lenBuf.buffer, lenBuf.byteOffset, 4).getUint32(0, true);
  return isNull(p) || len === 0 ? null : copyFrom(p, len);
}
