/**
 * Writing certificates and CSRs with OpenSSL's X509 / X509_REQ APIs.
 *
 * @module
 */

import { MBSTRING_UTF8, NID } from "../../ffi/openssl_crypto.ts";
import { cstr, isNull, type Ptr } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { CertParams, DigestName, KeyInput, SubjectFields } from "../crypto_provider.ts";
import { readTlv } from "../der.ts";
import { parseSpki } from "../x509_der.ts";
import {
  d2i,
  decodeKey,
  decodeX509,
  drainErrors,
  fail,
  i2d,
  lib,
  md,
  must,
  ok,
} from "./crypto_lib.ts";

const FIELDS: [keyof SubjectFields, string][] = [
  ["country", "C"],
  ["state", "ST"],
  ["locality", "L"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["emailAddress", "emailAddress"],
];

function addSubject(name: Ptr, subject: SubjectFields): void {
  const lc = lib();
  for (const [key, field] of FIELDS) {
    const v = subject[key];
    if (v === undefined) continue;
    const bytes = new TextEncoder().encode(v);
    const r = lc.X509_NAME_add_entry_by_txt(
      name,
      cstr(field),
      MBSTRING_UTF8,
      bytes.length ? bytes : new Uint8Array(1),
      bytes.length,
      -1,
      0,
    );
    if (r !== 1) fail("INVALID_ARGUMENT", `subject field ${key} ${JSON.stringify(v)} was rejected`);
  }
}

/** Makes one extension; null when OpenSSL cannot (the queue is cleared). */
function makeExt(ctx: Uint8Array, nid: number, value: string): Ptr {
  const ext = lib().X509V3_EXT_nconf_nid(null, ctx, nid, cstr(value));
  if (isNull(ext)) {
    drainErrors();
    return null;
  }
  return ext;
}

function addExt(x: Ptr, ctx: Uint8Array, nid: number, value: string, required = true): void {
  const lc = lib();
  const ext = makeExt(ctx, nid, value);
  if (!ext) {
    if (required) throw new CryptoError("INVALID_ARGUMENT", `extension ${value} was rejected`);
    return;
  }
  try {
    ok(lc.X509_add_ext(x, ext, -1), "X509_add_ext");
  } finally {
    lc.X509_EXTENSION_free(ext);
  }
}

function keyTypeOfSpki(spki: Uint8Array): string {
  return parseSpki(spki, readTlv(spki, 0)).type;
}

/** Writes and signs a certificate; returns DER. */
export function createCertificate(p: CertParams): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  let x: Ptr = null, issuer: Ptr = null, pub: Ptr = null, skey: Ptr = null, bn: Ptr = null;
  try {
    x = must(lc.X509_new(), "X509_new");
    ok(lc.X509_set_version(x, 2n), "X509_set_version");
    bn = must(lc.BN_bin2bn(p.serial, p.serial.length, null), "BN_bin2bn");
    must(lc.BN_to_ASN1_INTEGER(bn, lc.X509_get_serialNumber(x)), "BN_to_ASN1_INTEGER");
    const secs = (d: Date) => BigInt(Math.floor(d.getTime() / 1000));
    must(lc.ASN1_TIME_set(lc.X509_getm_notBefore(x), secs(p.notBefore)), "ASN1_TIME_set");
    must(lc.ASN1_TIME_set(lc.X509_getm_notAfter(x), secs(p.notAfter)), "ASN1_TIME_set");
    addSubject(lc.X509_get_subject_name(x), p.subject);
    if (p.issuerCert) {
      issuer = decodeX509(p.issuerCert);
      ok(lc.X509_set_issuer_name(x, lc.X509_get_subject_name(issuer)), "X509_set_issuer_name");
    } else {
      ok(lc.X509_set_issuer_name(x, lc.X509_get_subject_name(x)), "X509_set_issuer_name");
    }
    pub = decodeKey({ data: p.publicKey }, true);
    ok(lc.X509_set_pubkey(x, pub), "X509_set_pubkey");
    skey = decodeKey(p.signingKey);
    if (issuer && lc.X509_check_private_key(issuer, skey) !== 1) {
      drainErrors();
      throw new CryptoError("INVALID_ARGUMENT", "caKey does not match caCert");
    }

    const ctx = new Uint8Array(new ArrayBuffer(256)); // X509V3_CTX (64 bytes in 3.0)
    lc.X509V3_set_ctx(ctx, issuer ?? x, x, null, null, 0);
    const type = keyTypeOfSpki(p.publicKey);
    if (p.isCa) {
      addExt(x, ctx, NID.basic_constraints, "critical,CA:TRUE");
      addExt(x, ctx, NID.key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
      addExt(x, ctx, NID.basic_constraints, "critical,CA:FALSE");
      const ku = type === "rsa" ? "digitalSignature,keyEncipherment" : "digitalSignature";
      addExt(x, ctx, NID.key_usage, `critical,${ku}`);
      addExt(x, ctx, NID.ext_key_usage, "serverAuth,clientAuth");
    }
    addExt(x, ctx, NID.subject_key_identifier, "hash");
    // An issuer without an SKI gets no keyid in the AKI; that is allowed.
    addExt(x, ctx, NID.authority_key_identifier, "keyid:always", false);
    if (p.san.length) addExt(x, ctx, NID.subject_alt_name, p.san.join(","));

    if (lc.X509_sign(x, skey, md(p.hash)) <= 0) fail("INVALID_ARGUMENT", "X509_sign");
    return i2d(lc.i2d_X509, x, "i2d_X509");
  } finally {
    if (bn) lc.BN_free(bn);
    if (skey) lc.EVP_PKEY_free(skey);
    if (pub) lc.EVP_PKEY_free(pub);
    if (issuer) lc.X509_free(issuer);
    if (x) lc.X509_free(x);
  }
}

/** Writes and signs a CSR; returns DER. */
export function generateCsr(
  key: KeyInput,
  subject: SubjectFields,
  san: string[],
  hash: DigestName | null,
): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  let req: Ptr = null, pkey: Ptr = null, ext: Ptr = null, sk: Ptr = null;
  try {
    pkey = decodeKey(key);
    req = must(lc.X509_REQ_new(), "X509_REQ_new");
    ok(lc.X509_REQ_set_version(req, 0n), "X509_REQ_set_version");
    addSubject(lc.X509_REQ_get_subject_name(req), subject);
    ok(lc.X509_REQ_set_pubkey(req, pkey), "X509_REQ_set_pubkey");
    if (san.length) {
      const ctx = new Uint8Array(new ArrayBuffer(256));
      lc.X509V3_set_ctx(ctx, null, null, req, null, 0);
      ext = makeExt(ctx, NID.subject_alt_name, san.join(","));
      if (!ext) throw new CryptoError("INVALID_ARGUMENT", `san ${san.join(",")} was rejected`);
      sk = must(lc.OPENSSL_sk_new_null(), "sk_new_null");
      ok(lc.OPENSSL_sk_push(sk, ext), "sk_push");
      ok(lc.X509_REQ_add_extensions(req, sk), "X509_REQ_add_extensions");
    }
    if (lc.X509_REQ_sign(req, pkey, md(hash)) <= 0) fail("INVALID_ARGUMENT", "X509_REQ_sign");
    return i2d(lc.i2d_X509_REQ, req, "i2d_X509_REQ");
  } finally {
    if (sk) lc.OPENSSL_sk_free(sk);
    if (ext) lc.X509_EXTENSION_free(ext);
    if (req) lc.X509_REQ_free(req);
    if (pkey) lc.EVP_PKEY_free(pkey);
  }
}

/** True when a DER CSR's self-signature verifies. */
export function verifyCsr(der: Uint8Array): boolean {
  const lc = lib();
  lc.ERR_clear_error();
  const req = d2i(lc.d2i_X509_REQ, der);
  if (!req) fail("BAD_FORMAT", "not a DER certificate request");
  let pk: Ptr = null;
  try {
    pk = lc.X509_REQ_get_pubkey(req);
    if (isNull(pk)) fail("BAD_FORMAT", "CSR public key");
    const r = lc.X509_REQ_verify(req, pk) === 1;
    drainErrors();
    return r;
  } finally {
    if (pk && !isNull(pk)) lc.EVP_PKEY_free(pk);
    lc.X509_REQ_free(req);
  }
}

/** True when `der` carries a signature made by the key of `issuerDer`. */
export function verifyCertificateSignature(der: Uint8Array, issuerDer: Uint8Array): boolean {
  const lc = lib();
  lc.ERR_clear_error();
  const x = decodeX509(der);
  let ix: Ptr = null, pk: Ptr = null;
  try {
    ix = decodeX509(issuerDer);
    pk = must(lc.X509_get_pubkey(ix), "X509_get_pubkey", "BAD_FORMAT");
    const r = lc.X509_verify(x, pk) === 1;
    drainErrors();
    return r;
  } finally {
    if (pk) lc.EVP_PKEY_free(pk);
    if (ix) lc.X509_free(ix);
    lc.X509_free(x);
  }
}
