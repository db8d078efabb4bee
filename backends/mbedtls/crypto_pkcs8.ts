/**
 * Encrypted PKCS#8 (RFC 8018 PBES2 with PBKDF2 and AES-CBC) for the mbedTLS
 * provider. mbedTLS 2.28 writes no encrypted keys and reads PBES2 only with
 * DES/3DES, but it has every primitive: PBKDF2-HMAC and AES-CBC. So the
 * EncryptedPrivateKeyInfo DER is built and read here, and mbedTLS does the
 * key derivation and the cipher. Output matches OpenSSL's default
 * (`openssl pkcs8 -topk8`): PBKDF2 with HMAC-SHA256, 2048 iterations, a
 * 16-byte salt, AES-256-CBC.
 *
 * @module
 */

import { CryptoError } from "../../errors.ts";
import type { CipherName, DigestName, KeyInput } from "../crypto_provider.ts";
import { children, contentOf, decodeOid, encodeOid, readTlv, TAG, type Tlv, tlv } from "../der.ts";
import { bytesToText, looksLikePem, pemBlocks } from "../pem.ts";
import { decrypt, encrypt, pbkdf2, randomBytes } from "./crypto_sym.ts";

const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
const HMAC_SHA1 = "1.2.840.113549.2.7";
const PRF: Record<string, DigestName> = {
  [HMAC_SHA1]: "sha1",
  "1.2.840.113549.2.8": "sha224",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};
const AES: Record<string, { name: CipherName; keyLength: number }> = {
  "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyLength: 32 },
};
const ITERATIONS = 2048;
const MAX_ITERATIONS = 10_000_000;

const oid = (s: string) => tlv(TAG.OID, encodeOid(s));

function uint(n: number): Uint8Array {
  const b: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) b.unshift(n & 0xff);
  if (!b.length || b[0] & 0x80) b.unshift(0);
  return tlv(TAG.INTEGER, Uint8Array.from(b));
}

/** PKCS#8 DER → EncryptedPrivateKeyInfo DER under `password`. */
export function encryptPkcs8(der: Uint8Array, password: string): Uint8Array {
  const salt = randomBytes(16), iv = randomBytes(16);
  const key = pbkdf2("sha256", new TextEncoder().encode(password), salt, ITERATIONS, 32);
  const { ciphertext } = encrypt("aes-256-cbc", key, iv, der, new Uint8Array(0), 0);
  key.fill(0);
  const kdf = tlv(
    TAG.SEQUENCE,
    oid(PBKDF2),
    tlv(
      TAG.SEQUENCE,
      tlv(TAG.OCTET_STRING, salt),
      uint(ITERATIONS),
      tlv(TAG.SEQUENCE, oid("1.2.840.113549.2.9"), Uint8Array.of(TAG.NULL, 0)),
    ),
  );
  const scheme = tlv(TAG.SEQUENCE, oid("2.16.840.1.101.3.4.1.42"), tlv(TAG.OCTET_STRING, iv));
  return tlv(
    TAG.SEQUENCE,
    tlv(TAG.SEQUENCE, oid(PBES2), tlv(TAG.SEQUENCE, kdf, scheme)),
    tlv(TAG.OCTET_STRING, ciphertext),
  );
}

/** The DER of a key input: its first PEM block of a key label, or the bytes themselves. */
function keyDer(data: Uint8Array): Uint8Array | null {
  if (!looksLikePem(data)) return data;
  try {
    const b = pemBlocks(bytesToText(data)).find((b) => b.label.endsWith("KEY"));
    return b ? b.der : null;
  } catch {
    return null;
  }
}

interface Pbes2 {
  prf: DigestName;
  salt: Uint8Array;
  iterations: number;
  cipher: CipherName;
  keyLength: number;
  iv: Uint8Array;
  data: Uint8Array;
}

function integer(der: Uint8Array, t: Tlv | undefined): number | null {
  if (!t || t.tag !== TAG.INTEGER || t.end - t.contentStart > 6) return null;
  let v = 0;
  for (const b of contentOf(der, t)) v = v * 256 + b;
  return der[t.contentStart] & 0x80 ? null : v;
}

/** Parses an EncryptedPrivateKeyInfo with PBES2 + PBKDF2 + AES-CBC; null for anything else. */
function parsePbes2(der: Uint8Array): Pbes2 | null {
  try {
    const top = readTlv(der, 0);
    if (top.tag !== TAG.SEQUENCE || top.end !== der.length) return null;
    const [alg, data] = children(der, top);
    if (!alg || alg.tag !== TAG.SEQUENCE || !data || data.tag !== TAG.OCTET_STRING) return null;
    const [algOid, params] = children(der, alg);
    if (algOid?.tag !== TAG.OID || decodeOid(contentOf(der, algOid)) !== PBES2) return null;
    const [kdf, enc] = children(der, params);
    const [kdfOid, kdfParams] = children(der, kdf);
    if (kdfOid?.tag !== TAG.OID || decodeOid(contentOf(der, kdfOid)) !== PBKDF2) return null;
    const [saltT, iterT, ...rest] = children(der, kdfParams);
    if (saltT?.tag !== TAG.OCTET_STRING) return null;
    const iterations = integer(der, iterT);
    let keyLength: number | null = null;
    let prf: DigestName | undefined = "sha1";
    for (const t of rest) {
      if (t.tag === TAG.INTEGER) keyLength = integer(der, t);
      else if (t.tag === TAG.SEQUENCE) {
        const p = children(der, t)[0];
        prf = p?.tag === TAG.OID ? PRF[decodeOid(contentOf(der, p))] : undefined;
      }
    }
    const [encOid, ivT] = children(der, enc);
    const aes = encOid?.tag === TAG.OID ? AES[decodeOid(contentOf(der, encOid))] : undefined;
    const n = data.end - data.contentStart;
    if (!aes || !prf || ivT?.tag !== TAG.OCTET_STRING || ivT.end - ivT.contentStart !== 16) {
      return null;
    }
    if (n === 0 || n % 16 !== 0) {
      return null;
    }
    if (iterations === null || iterations < 1 || iterations > MAX_ITERATIONS) return null;
    if (keyLength !== null && keyLength !== aes.keyLength) return null;
    return {
      prf,
      salt: der.slice(saltT.contentStart, saltT.end),
      iterations,
      cipher: aes.name,
      keyLength: aes.keyLength,
      iv: der.slice(ivT.contentStart, ivT.end),
      data: der.slice(data.contentStart, data.end),
    };
  } catch {
    return null;
  }
}

/**
 * The plain PKCS#8 DER of an AES-encrypted key (what mbedTLS 2.28 cannot
 * decrypt), or null when `data` is not one. Throws BAD_PASSWORD for a
 * missing or wrong password.
 */
export function decryptAesPkcs8(data: Uint8Array, password: string | undefined): Uint8Array | null {
  const der = keyDer(data);
  const p = der && parsePbes2(der);
  if (!p) return null;
  if (password === undefined) {
    throw new CryptoError("BAD_PASSWORD", "the key is encrypted: a password is needed");
  }
  const key = pbkdf2(p.prf, new TextEncoder().encode(password), p.salt, p.iterations, p.keyLength);
  const wrong = () =>
    new CryptoError("BAD_PASSWORD", "could not decrypt the key (wrong password?)");
  let plain: Uint8Array;
  try {
    plain = decrypt(p.cipher, key, p.iv, p.data, new Uint8Array(0), new Uint8Array(0));
  } catch (e) {
    if (e instanceof CryptoError && e.code === "BAD_DECRYPT") throw wrong();
    throw e;
  } finally {
    key.fill(0);
  }
  try {
    const t = readTlv(plain, 0);
    if (t.tag !== TAG.SEQUENCE || t.end !== plain.length) throw wrong();
  } catch {
    throw wrong();
  }
  return plain;
}

/**
 * The DER of a key input with AES-PBES2 encryption removed; null when it is
 * not readable as DER (the caller then lets mbedTLS decide).
 */
export function plainKeyDer(key: KeyInput): Uint8Array | null {
  return decryptAesPkcs8(key.data, key.password) ?? keyDer(key.data);
}
