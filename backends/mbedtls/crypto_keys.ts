/**
 * Public keys with mbedTLS 2.28's pk layer: generation (RSA, NIST curves),
 * encoding (PKCS#8 wrapping and PBES2 encryption done here), signatures and
 * RSA encryption. X25519 keys (which the pk layer does not know) are handled
 * in TypeScript over `crypto_ec.ts`; Ed25519 is absent from 2.28.
 *
 * @module
 */

import { ECP_GROUP, MD_TYPE, PK_TYPE } from "../../ffi/mbedtls_crypto.ts";
import { readI32, readPtrFrom } from "../../ffi/runtime.ts";
import { CryptoError } from "../../errors.ts";
import type {
  DigestName,
  ExportKeyParams,
  KeyDetails,
  KeyInput,
  KeyType,
  RsaPadding,
  SignParams,
} from "../crypto_provider.ts";
import { children, encodeOid, readTlv, tlv } from "../der.ts";
import { derToPem } from "../pem.ts";
import { CURVE_OIDS } from "../x509_der.ts";
import { check, freePk, mc, newPk, nz, readCell, rng, sizeCell, withKey } from "./crypto_lib.ts";
import { mdInfo, rawDigest } from "./crypto_sym.ts";
import { generateX25519, x25519Key, x25519Pkcs8, x25519Spki } from "./crypto_ec.ts";
import { encryptPkcs8 } from "./crypto_pkcs8.ts";

const GROUP_NAMES: Record<number, string> = { 3: "P-256", 4: "P-384", 5: "P-521", 12: "secp256k1" };

/** Key type ("rsa", "ec") and curve of a pk context. */
export function keyKind(pk: Uint8Array): { type: string; curve: string | null } {
  const t = mc().mbedtls_pk_get_type(pk);
  if (t === PK_TYPE.RSA) return { type: "rsa", curve: null };
  if (t === PK_TYPE.ECKEY || t === PK_TYPE.ECDSA || t === PK_TYPE.ECKEY_DH) {
    // mbedtls_pk_ec() is static inline: pk_ctx (offset 8) points at an
    // mbedtls_ecp_keypair whose first field is the group, whose first field is its id.
    const kp = readPtrFrom(pk, 8);
    const id = kp ? readI32(kp, 0) : 0;
    return { type: "ec", curve: GROUP_NAMES[id] ?? null };
  }
  return { type: `pk:${t}`, curve: null };
}

function writeTail(
  fn: (pk: Uint8Array, buf: Uint8Array, n: bigint) => number,
  pk: Uint8Array,
  what: string,
) {
  const buf = new Uint8Array(16384);
  const n = fn(pk, buf, BigInt(buf.length));
  if (n < 0) check(n, what);
  return buf.slice(buf.length - n);
}

/** SPKI DER of a pk context. */
export function spki(pk: Uint8Array): Uint8Array {
  return writeTail(mc().mbedtls_pk_write_pubkey_der, pk, "mbedtls_pk_write_pubkey_der");
}

/** PKCS#8 DER of a private pk context (mbedTLS 2.28 writes only PKCS#1/SEC1: wrap it). */
function pkcs8(pk: Uint8Array): Uint8Array {
  const trad = writeTail(mc().mbedtls_pk_write_key_der, pk, "mbedtls_pk_write_key_der");
  const { type, curve } = keyKind(pk);
  const version = tlv(0x02, Uint8Array.of(0));
  let alg: Uint8Array;
  if (type === "rsa") {
    alg = tlv(0x30, tlv(0x06, encodeOid("1.2.840.113549.1.1.1")), Uint8Array.of(0x05, 0));
  } else if (type === "ec" && curve) {
    alg = tlv(
      0x30,
      tlv(0x06, encodeOid("1.2.840.10045.2.1")),
      tlv(0x06, encodeOid(CURVE_OIDS[curve])),
    );
  } else {
    throw new CryptoError("UNSUPPORTED", `cannot write ${type} keys as PKCS#8 with mbedTLS`);
  }
  return tlv(0x30, version, alg, tlv(0x04, trad));
}

/** Generates RSA, NIST-curve or X25519 keys; Ed25519 is UNSUPPORTED in 2.28. */
export function generateKey(
  type: KeyType,
  bits: number,
): { privateKey: string; publicKey: string } {
  if (type === "x25519") return generateX25519();
  const m = mc();
  const { f, p } = rng();
  const curves: Record<string, keyof typeof ECP_GROUP> = {
    p256: "P-256",
    p384: "P-384",
    p521: "P-521",
  };
  if (type !== "rsa" && !curves[type]) {
    throw new CryptoError(
      "UNSUPPORTED",
      `generateKey("${type}") is not supported by the mbedtls backend`,
    );
  }
  const pk = newPk();
  try {
    const info = m.mbedtls_pk_info_from_type(type === "rsa" ? PK_TYPE.RSA : PK_TYPE.ECKEY);
    check(m.mbedtls_pk_setup(pk, info), "mbedtls_pk_setup");
    const ctx = readPtrFrom(pk, 8);
    if (type === "rsa") check(m.mbedtls_rsa_gen_key(ctx, f, p, bits, 65537), "mbedtls_rsa_gen_key");
    else check(m.mbedtls_ecp_gen_key(ECP_GROUP[curves[type]], ctx, f, p), "mbedtls_ecp_gen_key");
    return {
      privateKey: derToPem(pkcs8(pk), "PRIVATE KEY"),
      publicKey: derToPem(spki(pk), "PUBLIC KEY"),
    };
  } finally {
    freePk(pk);
  }
}

/** Type, size, curve and public half of a key. */
export function keyInfo(key: KeyInput): KeyDetails {
  const x = x25519Key(key);
  if (x) {
    const publicKey = derToPem(x25519Spki(x.pub), "PUBLIC KEY");
    return { type: "x25519", bits: 253, curve: null, isPrivate: !!x.priv, publicKey };
  }
  return withKey(key, true, (pk, isPrivate) => {
    const { type, curve } = keyKind(pk);
    return {
      type,
      bits: Number(mc().mbedtls_pk_get_bitlen(pk)),
      curve,
      isPrivate,
      publicKey: derToPem(spki(pk), "PUBLIC KEY"),
    };
  });
}

/**
 * Re-encodes a key (PKCS#8 / SPKI / traditional); with a password, PKCS#8 is
 * encrypted (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC, see crypto_pkcs8.ts).
 */
export function exportKey(key: KeyInput, o: ExportKeyParams): Uint8Array {
  const out = (der: Uint8Array, label: string) => {
    if (!o.public && !o.traditional && o.password !== undefined) {
      [der, label] = [encryptPkcs8(der, o.password), "ENCRYPTED PRIVATE KEY"];
    }
    return o.format === "der" ? der : new TextEncoder().encode(derToPem(der, label));
  };
  const x = x25519Key(key);
  if (x) {
    if (o.public) return out(x25519Spki(x.pub), "PUBLIC KEY");
    if (!x.priv) throw new CryptoError("INVALID_ARGUMENT", "key: a private key is needed");
    if (o.traditional) {
      throw new CryptoError("UNSUPPORTED", "x25519 keys have no traditional (PKCS#1/SEC1) form");
    }
    return out(x25519Pkcs8(x.priv), "PRIVATE KEY");
  }
  return withKey(key, o.public, (pk) => {
    if (o.public) return out(spki(pk), "PUBLIC KEY");
    if (o.traditional) {
      const der = writeTail(mc().mbedtls_pk_write_key_der, pk, "mbedtls_pk_write_key_der");
      return out(der, keyKind(pk).type === "rsa" ? "RSA PRIVATE KEY" : "EC PRIVATE KEY");
    }
    return out(pkcs8(pk), "PRIVATE KEY");
  });
}

/** `mbedtls_md_type_t` of a digest; UNSUPPORTED for SHA-3. */
export function mdType(hash: DigestName | null): number {
  const t = MD_TYPE[(hash ?? "sha256") as keyof typeof MD_TYPE];
  if (t === undefined) {
    throw new CryptoError("UNSUPPORTED", `${hash} is not supported by the mbedtls backend`);
  }
  return t;
}

function setPss(pk: Uint8Array, p: SignParams): void {
  if (p.padding !== "pss") return;
  const size = mdInfo(p.hash ?? "sha256").size;
  if (p.saltLength !== -1 && p.saltLength !== size) {
    throw new CryptoError(
      "UNSUPPORTED",
      "mbedtls signs PSS only with a salt as long as the digest",
    );
  }
  mc().mbedtls_rsa_set_padding(readPtrFrom(pk, 8), 1, mdType(p.hash)); // MBEDTLS_RSA_PKCS_V21
}

/** Signs the digest of `data`. */
export function sign(key: KeyInput, data: Uint8Array, p: SignParams): Uint8Array {
  const { f, p: prng } = rng();
  return withKey(key, false, (pk) => {
    if (keyKind(pk).type === "rsa") setPss(pk, p);
    const hash = rawDigest(p.hash ?? "sha256", data);
    const sig = new Uint8Array(2048);
    const len = sizeCell();
    check(
      mc().mbedtls_pk_sign(pk, mdType(p.hash), hash, BigInt(hash.length), sig, len, f, prng),
      "mbedtls_pk_sign",
    );
    return sig.slice(0, readCell(len));
  });
}

/** True when an ECDSA signature is strict DER (mbedTLS alone tolerates some BER). */
export function strictEcdsaDer(sig: Uint8Array): boolean {
  try {
    const seq = readTlv(sig, 0);
    if (seq.tag !== 0x30 || seq.end !== sig.length) return false;
    if (seq.contentStart - seq.start !== (seq.end - seq.contentStart < 128 ? 2 : 3)) return false;
    const ints = children(sig, seq);
    if (ints.length !== 2) return false;
    for (const t of ints) {
      const n = t.end - t.contentStart;
      if (t.tag !== 0x02 || n === 0 || t.contentStart - t.start !== (n < 128 ? 2 : 3)) return false;
      const b0 = sig[t.contentStart], b1 = sig[t.contentStart + 1];
      if (b0 & 0x80) return false; // negative
      if (n > 1 && b0 === 0 && !(b1 & 0x80)) return false; // not minimal
    }
    return true;
  } catch {
    return false;
  }
}

/** Verifies a signature; false when it does not match. */
export function verify(key: KeyInput, data: Uint8Array, sig: Uint8Array, p: SignParams): boolean {
  return withKey(key, true, (pk) => {
    const kind = keyKind(pk);
    if (kind.type === "ec" && !strictEcdsaDer(sig)) return false;
    const hash = rawDigest(p.hash ?? "sha256", data);
    const m = mc();
    if (kind.type === "rsa" && p.padding === "pss") {
      const opts = new Uint8Array(8); // { int mgf1_hash_id; int expected_salt_len }
      const dv = new DataView(opts.buffer);
      dv.setInt32(0, mdType(p.hash), true);
      dv.setInt32(4, p.saltLength === -1 ? hash.length : p.saltLength, true);
      return m.mbedtls_pk_verify_ext(
        PK_TYPE.RSASSA_PSS,
        opts,
        pk,
        mdType(p.hash),
        hash,
        BigInt(hash.length),
        nz(sig),
        BigInt(sig.length),
      ) === 0;
    }
    return m.mbedtls_pk_verify(
      pk,
      mdType(p.hash),
      hash,
      BigInt(hash.length),
      nz(sig),
      BigInt(sig.length),
    ) === 0;
  });
}

function rsaOp(
  key: KeyInput,
  data: Uint8Array,
  padding: RsaPadding,
  label: Uint8Array | undefined,
  enc: boolean,
) {
  if (label && label.length) {
    throw new CryptoError("UNSUPPORTED", "OAEP labels are not supported by the mbedtls backend");
  }
  const { f, p } = rng();
  return withKey(key, enc, (pk) => {
    if (keyKind(pk).type !== "rsa") {
      throw new CryptoError("INVALID_ARGUMENT", "key: an RSA key is needed");
    }
    if (padding !== "pkcs1") {
      mc().mbedtls_rsa_set_padding(readPtrFrom(pk, 8), 1, mdType(padding.slice(5) as DigestName));
    }
    const out = new Uint8Array(1024);
    const len = sizeCell();
    const fn = enc ? mc().mbedtls_pk_encrypt : mc().mbedtls_pk_decrypt;
    const rc = fn(pk, nz(data), BigInt(data.length), out, len, BigInt(out.length), f, p);
    check(rc, enc ? "RSA encryption" : "RSA decryption", enc ? "INVALID_ARGUMENT" : "BAD_DECRYPT");
    return out.slice(0, readCell(len));
  });
}

/** RSA encryption (OAEP or PKCS#1 v1.5). */
export function rsaEncrypt(k: KeyInput, d: Uint8Array, p: RsaPadding, l?: Uint8Array): Uint8Array {
  return rsaOp(k, d, p, l, true);
}

/** RSA decryption; BAD_DECRYPT on failure. */
export function rsaDecrypt(k: KeyInput, d: Uint8Array, p: RsaPadding, l?: Uint8Array): Uint8Array {
  return rsaOp(k, d, p, l, false);
}
