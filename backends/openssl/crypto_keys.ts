/**
 * Keys with OpenSSL's EVP_PKEY API: generation, encoding, signatures, RSA
 * encryption and key agreement.
 *
 * @module
 */

import { RSA_PADDING, SELECTION } from "../../ffi/openssl_crypto.ts";
import { cstr, nativeView, type Ptr, readPtrFrom } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type {
  ExportKeyParams,
  KeyDetails,
  KeyInput,
  KeyType,
  RsaPadding,
  SignParams,
} from "../crypto_provider.ts";
import {
  decodeKey,
  drainErrors,
  encodeKey,
  fail,
  keyPem,
  lib,
  md,
  must,
  nz,
  ok,
  pkeyCurve,
  pkeyType,
  readCell,
  sizeCell,
} from "./crypto_lib.ts";

const KEYGEN: Record<KeyType, { name: string; group?: string }> = {
  rsa: { name: "RSA" },
  ed25519: { name: "ED25519" },
  x25519: { name: "X25519" },
  p256: { name: "EC", group: "P-256" },
  p384: { name: "EC", group: "P-384" },
  p521: { name: "EC", group: "P-521" },
};

/** Generates a key pair (PKCS#8 PEM, SPKI PEM). */
export function generateKey(
  type: KeyType,
  bits: number,
): { privateKey: string; publicKey: string } {
  const lc = lib();
  lc.ERR_clear_error();
  const spec = KEYGEN[type];
  const ctx = must(lc.EVP_PKEY_CTX_new_from_name(null, cstr(spec.name), null), "EVP_PKEY_CTX_new");
  let pkey: Ptr = null;
  try {
    ok(lc.EVP_PKEY_keygen_init(ctx), "EVP_PKEY_keygen_init");
    if (type === "rsa") ok(lc.EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits), "set_rsa_keygen_bits");
    if (spec.group) ok(lc.EVP_PKEY_CTX_set_group_name(ctx, cstr(spec.group)), "set_group_name");
    const cell = new Uint8Array(8);
    ok(lc.EVP_PKEY_generate(ctx, cell), "EVP_PKEY_generate");
    pkey = must(readPtrFrom(cell), "EVP_PKEY_generate");
    return { privateKey: keyPem(pkey, false), publicKey: keyPem(pkey, true) };
  } finally {
    if (pkey) lc.EVP_PKEY_free(pkey);
    lc.EVP_PKEY_CTX_free(ctx);
  }
}

/** Runs `fn` with a decoded key, freeing it after. */
export function withKey<T>(key: KeyInput, wantPublic: boolean, fn: (pkey: Ptr) => T): T {
  const pkey = decodeKey(key, wantPublic);
  try {
    return fn(pkey);
  } finally {
    lib().EVP_PKEY_free(pkey);
  }
}

/** Type, size, curve and public half of a key. */
export function keyInfo(key: KeyInput): KeyDetails {
  let isPrivate = true;
  let pkey: Ptr;
  try {
    pkey = decodeKey(key, false);
  } catch (e) {
    if (!(e instanceof CryptoError) || e.code !== "BAD_FORMAT") throw e;
    pkey = decodeKey(key, true);
    isPrivate = false;
  }
  try {
    return {
      type: pkeyType(pkey),
      bits: lib().EVP_PKEY_get_bits(pkey),
      curve: pkeyCurve(pkey),
      isPrivate,
      publicKey: keyPem(pkey, true),
    };
  } finally {
    lib().EVP_PKEY_free(pkey);
  }
}

/** Re-encodes a key: private as PKCS#8 (encrypted with a password), public as SPKI. */
export function exportKey(key: KeyInput, o: ExportKeyParams): Uint8Array {
  return withKey(key, o.public, (pkey) => {
    const type = o.format === "pem" ? "PEM" : "DER";
    if (o.public) return encodeKey(pkey, SELECTION.PUBLIC_KEY, type, "SubjectPublicKeyInfo");
    if (o.traditional) {
      const t = pkeyType(pkey);
      if (t !== "rsa" && t !== "ec") {
        throw new CryptoError("UNSUPPORTED", `${t} keys have no traditional (PKCS#1/SEC1) form`);
      }
      return encodeKey(pkey, SELECTION.KEYPAIR, type, "type-specific");
    }
    if (o.password !== undefined) {
      return encodeKey(pkey, SELECTION.KEYPAIR, type, "EncryptedPrivateKeyInfo", o.password);
    }
    return encodeKey(pkey, SELECTION.KEYPAIR, type, "PrivateKeyInfo");
  });
}

function setupSignCtx(pctxCell: Uint8Array, p: SignParams, type: string): void {
  if (!type.startsWith("rsa")) return;
  const pctx = readPtrFrom(pctxCell);
  if (!pctx) return;
  const lc = lib();
  if (p.padding === "pss") {
    ok(lc.EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PADDING.PSS), "set_rsa_padding");
    ok(lc.EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, p.saltLength), "set_rsa_pss_saltlen");
  }
}

/**
 * Runs `fn` with an EVP_MD_CTX initialised to sign (or, with `verify`, to
 * verify) with `key` under `p`: the digest (none for EdDSA) and RSA-PSS set.
 */
function withSigningCtx<T>(
  key: KeyInput,
  verify: boolean,
  p: SignParams,
  fn: (ctx: Ptr) => T,
): T {
  const lc = lib();
  lc.ERR_clear_error();
  return withKey(key, verify, (pkey) => {
    const type = pkeyType(pkey);
    const ctx = must(lc.EVP_MD_CTX_new(), "EVP_MD_CTX_new");
    try {
      const pctxCell = new Uint8Array(8);
      const mdp = type === "ed25519" || type === "ed448" ? null : md(p.hash ?? "sha256");
      const r = verify
        ? lc.EVP_DigestVerifyInit(ctx, pctxCell, mdp, null, pkey)
        : lc.EVP_DigestSignInit(ctx, pctxCell, mdp, null, pkey);
      ok(r, verify ? "EVP_DigestVerifyInit" : "EVP_DigestSignInit", "INVALID_ARGUMENT");
      setupSignCtx(pctxCell, p, type);
      return fn(ctx);
    } finally {
      lc.EVP_MD_CTX_free(ctx);
    }
  });
}

/** Signs `data` (hashing it with `params.hash`; Ed25519 signs it whole). */
export function sign(key: KeyInput, data: Uint8Array, p: SignParams): Uint8Array {
  const lc = lib();
  return withSigningCtx(key, false, p, (ctx) => {
    const len = sizeCell();
    ok(lc.EVP_DigestSign(ctx, null, len, nz(data), BigInt(data.length)), "EVP_DigestSign");
    const sig = new Uint8Array(readCell(len));
    ok(lc.EVP_DigestSign(ctx, sig, len, nz(data), BigInt(data.length)), "EVP_DigestSign");
    return sig.slice(0, readCell(len));
  });
}

/** Verifies a signature; false when it does not match. */
export function verify(
  key: KeyInput,
  data: Uint8Array,
  signature: Uint8Array,
  p: SignParams,
): boolean {
  const lc = lib();
  return withSigningCtx(key, true, p, (ctx) => {
    const r = lc.EVP_DigestVerify(
      ctx,
      nz(signature),
      BigInt(signature.length),
      nz(data),
      BigInt(data.length),
    );
    drainErrors();
    return r === 1;
  });
}

function setupRsa(ctx: Ptr, padding: RsaPadding, label?: Uint8Array): void {
  const lc = lib();
  if (padding === "pkcs1") {
    ok(lc.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PADDING.PKCS1), "set_rsa_padding");
    return;
  }
  const h = md(padding.slice(5));
  ok(lc.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PADDING.OAEP), "set_rsa_padding");
  ok(lc.EVP_PKEY_CTX_set_rsa_oaep_md(ctx, h), "set_rsa_oaep_md");
  ok(lc.EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, h), "set_rsa_mgf1_md");
  if (label && label.length) {
    // OpenSSL takes ownership of the label: it must come from its allocator.
    const p = must(lc.CRYPTO_malloc(BigInt(label.length), cstr("jsec"), 0), "CRYPTO_malloc");
    nativeView(p, label.length).set(label);
    if (lc.EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, p, label.length) <= 0) {
      lc.CRYPTO_free(p, cstr("jsec"), 0);
      fail("INTERNAL", "set0_rsa_oaep_label");
    }
  }
}

function rsaOp(
  key: KeyInput,
  data: Uint8Array,
  padding: RsaPadding,
  label: Uint8Array | undefined,
  encrypt: boolean,
): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  return withKey(key, encrypt, (pkey) => {
    if (!pkeyType(pkey).startsWith("rsa")) {
      throw new CryptoError("INVALID_ARGUMENT", `key: an RSA key is needed, got ${pkeyType(pkey)}`);
    }
    const ctx = must(lc.EVP_PKEY_CTX_new(pkey, null), "EVP_PKEY_CTX_new");
    try {
      const init = encrypt ? lc.EVP_PKEY_encrypt_init : lc.EVP_PKEY_decrypt_init;
      const run = encrypt ? lc.EVP_PKEY_encrypt : lc.EVP_PKEY_decrypt;
      ok(init(ctx), "EVP_PKEY_crypt_init");
      setupRsa(ctx, padding, label);
      const len = sizeCell();
      ok(run(ctx, null, len, nz(data), BigInt(data.length)), "EVP_PKEY_crypt");
      const out = new Uint8Array(Math.max(1, readCell(len)));
      if (run(ctx, out, len, nz(data), BigInt(data.length)) <= 0) {
        fail(
          encrypt ? "INVALID_ARGUMENT" : "BAD_DECRYPT",
          encrypt ? "RSA encryption" : "RSA decryption",
        );
      }
      return out.slice(0, readCell(len));
    } finally {
      lc.EVP_PKEY_CTX_free(ctx);
    }
  });
}

/** RSA encryption with the public (or private) key. */
export function rsaEncrypt(k: KeyInput, d: Uint8Array, p: RsaPadding, l?: Uint8Array): Uint8Array {
  return rsaOp(k, d, p, l, true);
}

/** RSA decryption with the private key; BAD_DECRYPT on failure. */
export function rsaDecrypt(k: KeyInput, d: Uint8Array, p: RsaPadding, l?: Uint8Array): Uint8Array {
  return rsaOp(k, d, p, l, false);
}

/** ECDH / X25519. */
export function deriveSharedSecret(priv: KeyInput, pub: KeyInput): Uint8Array {
  const lc = lib();
  lc.ERR_clear_error();
  return withKey(priv, false, (a) =>
    withKey(pub, true, (b) => {
      const ctx = must(lc.EVP_PKEY_CTX_new(a, null), "EVP_PKEY_CTX_new");
      try {
        ok(lc.EVP_PKEY_derive_init(ctx), "EVP_PKEY_derive_init", "INVALID_ARGUMENT");
        ok(lc.EVP_PKEY_derive_set_peer(ctx, b), "EVP_PKEY_derive_set_peer", "INVALID_ARGUMENT");
        const len = sizeCell();
        ok(lc.EVP_PKEY_derive(ctx, null, len), "EVP_PKEY_derive", "INVALID_ARGUMENT");
        const out = new Uint8Array(readCell(len));
        ok(lc.EVP_PKEY_derive(ctx, out, len), "EVP_PKEY_derive", "INVALID_ARGUMENT");
        return out.slice(0, readCell(len));
      } finally {
        lc.EVP_PKEY_CTX_free(ctx);
      }
    }));
}
