/**
 * PKCS#12 and CMS with OpenSSL.
 *
 * @module
 */

import { CMS_FLAGS } from "../../ffi/openssl_crypto.ts";
import { copyFrom, cstr, isNull, type Ptr, readPtrFrom } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type { KeyInput, Pkcs12Contents } from "../crypto_provider.ts";
import { derToPem } from "../pem.ts";
import {
  bioContents,
  d2i,
  decodeKey,
  decodeX509,
  drainErrors,
  fail,
  i2d,
  keyPem,
  lib,
  memBio,
  must,
  ok,
  readInt,
} from "./crypto_lib.ts";

/** A STACK_OF(X509) of decoded certificates; `free` frees certs and stack. */
function certStack(ders: Uint8Array[]): { sk: Ptr; free(): void } {
  const lc = lib();
  const certs: Ptr[] = [];
  const sk = must(lc.OPENSSL_sk_new_null(), "sk_new_null");
  const free = () => {
    lc.OPENSSL_sk_free(sk);
    for (const c of certs) lc.X509_free(c);
  };
  try {
    for (const d of ders) {
      const x = decodeX509(d);
      certs.push(x);
      ok(lc.OPENSSL_sk_push(sk, x), "sk_push");
    }
  } catch (e) {
    free();
    throw e;
  }
  return { sk, free };
}

/** Frees a STACK_OF(X509) we own along with its certificates, returning their DER. */
function drainCertStack(sk: Ptr): Uint8Array[] {
  const lc = lib();
  if (isNull(sk)) return [];
  const out: Uint8Array[] = [];
  const n = lc.OPENSSL_sk_num(sk);
  for (let i = 0; i < n; i++) {
    const x = lc.OPENSSL_sk_value(sk, i);
    out.push(i2d(lc.i2d_X509, x, "i2d_X509"));
    lc.X509_free(x);
  }
  lc.OPENSSL_sk_free(sk);
  return out;
}

/** Builds a PKCS#12 (AES-256-CBC, PBKDF2, SHA-256 MAC: OpenSSL 3 defaults). */
export function createPkcs12(p: {
  key: KeyInput;
  cert: Uint8Array;
  ca: Uint8Array[];
  password: string;
  friendlyName: string | null;
}): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const pkey = decodeKey(p.key);
  let x: Ptr = null, stack: { sk: Ptr; free(): void } | null = null, p12: Ptr = null;
  try {
    x = decodeX509(p.cert);
    if (lc.X509_check_private_key(x, pkey) !== 1) {
      drainErrors();
      throw new CryptoError("INVALID_ARGUMENT", "key does not match cert");
    }
    stack = certStack(p.ca);
    const name = p.friendlyName === null ? null : cstr(p.friendlyName);
    p12 = must(
      lc.PKCS12_create(cstr(p.password), name, pkey, x, stack.sk, 0, 0, 0, 0, 0),
      "PKCS12_create",
    );
    return i2d(lc.i2d_PKCS12, p12, "i2d_PKCS12");
  } finally {
    if (p12) lc.PKCS12_free(p12);
    stack?.free();
    if (x) lc.X509_free(x);
    lc.EVP_PKEY_free(pkey);
  }
}

/** Opens a PKCS#12; BAD_PASSWORD when the MAC does not verify. */
export function parsePkcs12(data: Uint8Array, password: string): Pkcs12Contents {
  const lc = lib();
  lc.ERR_clear_error();
  const p12 = d2i(lc.d2i_PKCS12, data);
  if (!p12) fail("BAD_FORMAT", "not a DER PKCS#12 file");
  let pkey: Ptr = null, x: Ptr = null, ca: Ptr = null;
  try {
    const pw = cstr(password);
    if (lc.PKCS12_mac_present(p12) === 1 && lc.PKCS12_verify_mac(p12, pw, pw.length - 1) !== 1) {
      fail("BAD_PASSWORD", "PKCS#12 MAC verification failed (wrong password?)");
    }
    const kc = new Uint8Array(8), xc = new Uint8Array(8), cc = new Uint8Array(8);
    if (lc.PKCS12_parse(p12, pw, kc, xc, cc) !== 1) fail("BAD_PASSWORD", "PKCS12_parse");
    pkey = readPtrFrom(kc);
    x = readPtrFrom(xc);
    ca = readPtrFrom(cc);
    let friendlyName: string | null = null;
    if (x) {
      const len = new Uint8Array(4);
      const alias = lc.X509_alias_get0(x, len);
      if (!isNull(alias)) friendlyName = new TextDecoder().decode(copyFrom(alias, readInt(len)));
    }
    const key = pkey ? keyPem(pkey, false) : null;
    const cert = x ? derToPem(i2d(lc.i2d_X509, x, "i2d_X509"), "CERTIFICATE") : null;
    const chain = drainCertStack(ca).map((d) => derToPem(d, "CERTIFICATE"));
    ca = null;
    return { key, cert, ca: chain, friendlyName };
  } finally {
    if (ca) drainCertStack(ca);
    if (x) lc.X509_free(x);
    if (pkey) lc.EVP_PKEY_free(pkey);
    lc.PKCS12_free(p12);
  }
}

function decodeCms(der: Uint8Array): Ptr {
  const cms = d2i(lib().d2i_CMS_ContentInfo, der);
  if (!cms) fail("BAD_FORMAT", "not a DER CMS structure");
  return cms;
}

/** CMS SignedData over `data` (attached unless `detached`), DER. */
export function cmsSign(p: {
  cert: Uint8Array;
  key: KeyInput;
  data: Uint8Array;
  chain: Uint8Array[];
  detached: boolean;
}): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const pkey = decodeKey(p.key);
  let x: Ptr = null, stack: { sk: Ptr; free(): void } | null = null, bio: Ptr = null;
  let cms: Ptr = null;
  try {
    x = decodeX509(p.cert);
    if (lc.X509_check_private_key(x, pkey) !== 1) {
      drainErrors();
      throw new CryptoError("INVALID_ARGUMENT", "key does not match cert");
    }
    stack = certStack(p.chain);
    bio = memBio(p.data);
    const flags = CMS_FLAGS.BINARY | (p.detached ? CMS_FLAGS.DETACHED : 0);
    cms = must(lc.CMS_sign(x, pkey, stack.sk, bio, flags), "CMS_sign");
    return i2d(lc.i2d_CMS_ContentInfo, cms, "i2d_CMS_ContentInfo");
  } finally {
    if (cms) lc.CMS_ContentInfo_free(cms);
    if (bio) lc.BIO_free(bio);
    stack?.free();
    if (x) lc.X509_free(x);
    lc.EVP_PKEY_free(pkey);
  }
}

/** Verifies CMS SignedData against trust anchors; returns the content when attached. */
export function cmsVerify(p: {
  cms: Uint8Array;
  caCerts: Uint8Array[];
  data: Uint8Array | null;
  verifyChain: boolean;
}): { valid: boolean; content: Uint8Array | null; error: string | null } {
  const lc = lib();
  lc.ERR_clear_error();
  const cms = decodeCms(p.cms);
  let store: Ptr = null, dcont: Ptr = null, out: Ptr = null;
  const anchors: Ptr[] = [];
  try {
    store = must(lc.X509_STORE_new(), "X509_STORE_new");
    // Our leaf certificates carry TLS EKUs, not emailProtection: accept any purpose.
    ok(lc.X509_STORE_set_purpose(store, 7), "X509_STORE_set_purpose"); // X509_PURPOSE_ANY
    for (const d of p.caCerts) {
      const x = decodeX509(d);
      anchors.push(x);
      ok(lc.X509_STORE_add_cert(store, x), "X509_STORE_add_cert");
    }
    if (p.data) dcont = memBio(p.data);
    out = memBio();
    const flags = CMS_FLAGS.BINARY | (p.verifyChain ? 0 : CMS_FLAGS.NO_SIGNER_CERT_VERIFY);
    const r = lc.CMS_verify(cms, null, store, dcont, out, flags);
    const error = r === 1 ? null : drainErrors() || "verification failed";
    return { valid: r === 1, content: r === 1 ? bioContents(out) : null, error };
  } finally {
    if (out) lc.BIO_free(out);
    if (dcont) lc.BIO_free(dcont);
    for (const x of anchors) lc.X509_free(x);
    if (store) lc.X509_STORE_free(store);
    lc.CMS_ContentInfo_free(cms);
  }
}

/** CMS EnvelopedData for the recipients' certificates, DER. */
export function cmsEncrypt(
  p: { recipients: Uint8Array[]; data: Uint8Array; cipher: string },
): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const stack = certStack(p.recipients);
  let bio: Ptr = null, cms: Ptr = null;
  try {
    const cipher = lc.EVP_get_cipherbyname(cstr(p.cipher));
    if (isNull(cipher)) throw new CryptoError("UNSUPPORTED", `cipher ${p.cipher} is not available`);
    bio = memBio(p.data);
    cms = must(
      lc.CMS_encrypt(stack.sk, bio, cipher, CMS_FLAGS.BINARY),
      "CMS_encrypt",
      "INVALID_ARGUMENT",
    );
    return i2d(lc.i2d_CMS_ContentInfo, cms, "i2d_CMS_ContentInfo");
  } finally {
    if (cms) lc.CMS_ContentInfo_free(cms);
    if (bio) lc.BIO_free(bio);
    stack.free();
  }
}

/** Decrypts CMS EnvelopedData; BAD_DECRYPT when the key does not open it. */
export function cmsDecrypt(
  p: { cms: Uint8Array; key: KeyInput; cert: Uint8Array | null },
): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const pkey = decodeKey(p.key);
  let cms: Ptr = null, x: Ptr = null, out: Ptr = null;
  try {
    cms = decodeCms(p.cms);
    if (p.cert) x = decodeX509(p.cert);
    out = memBio();
    if (lc.CMS_decrypt(cms, pkey, x, null, out, CMS_FLAGS.BINARY) !== 1) {
      fail("BAD_DECRYPT", "CMS_decrypt");
    }
    return bioContents(out);
  } finally {
    if (out) lc.BIO_free(out);
    if (x) lc.X509_free(x);
    if (cms) lc.CMS_ContentInfo_free(cms);
    lc.EVP_PKEY_free(pkey);
  }
}

/** A certificates-only SignedData (like a .p7b), DER. */
export function cmsCertsOnly(certs: Uint8Array[]): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  const stack = certStack(certs);
  let cms: Ptr = null;
  try {
    // No signer and CMS_PARTIAL: a certificates-only SignedData, nothing to finalize.
    cms = must(
      lc.CMS_sign(null, null, stack.sk, null, CMS_FLAGS.BINARY | CMS_FLAGS.PARTIAL),
      "CMS_sign",
    );
    return i2d(lc.i2d_CMS_ContentInfo, cms, "i2d_CMS_ContentInfo");
  } finally {
    if (cms) lc.CMS_ContentInfo_free(cms);
    stack.free();
  }
}

/** The certificates inside a CMS structure, DER. */
export function cmsGetCerts(der: Uint8Array): Uint8Array[] {
  const lc = lib();
  lc.ERR_clear_error();
  const cms = decodeCms(der);
  try {
    const sk = lc.CMS_get1_certs(cms);
    drainErrors();
    return drainCertStack(sk);
  } finally {
    lc.CMS_ContentInfo_free(cms);
  }
}
