/**
 * Internal pure-TypeScript DER building: raw keys to SPKI / PKCS#8, and ECDSA
 * signatures between DER and IEEE P1363 (r || s). Not part of the public API.
 *
 * @module
 */

import { CryptoError } from "../errors.ts";
import { children, contentOf, encodeOid, readTlv, TAG, tlv } from "../backends/der.ts";
import { CURVE_OIDS } from "../backends/x509_der.ts";

const oid = (s: string) => tlv(TAG.OID, encodeOid(s));

const OKP: Record<string, { oid: string; size: number }> = {
  ed25519: { oid: "1.3.101.112", size: 32 },
  x25519: { oid: "1.3.101.110", size: 32 },
  ed448: { oid: "1.3.101.113", size: 57 },
  x448: { oid: "1.3.101.111", size: 56 },
};

/** Curves by the names `importRawKey` accepts. */
export const EC_TYPES: Record<string, { curve: string; size: number; order: bigint }> = {
  p256: {
    curve: "P-256",
    size: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  p384: {
    curve: "P-384",
    size: 48,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  p521: {
    curve: "P-521",
    size: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
  secp256k1: {
    curve: "secp256k1",
    size: 32,
    order: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  },
};

/** Key types of the raw-key import functions. */
export const RAW_TYPES: readonly string[] = [...Object.keys(OKP), ...Object.keys(EC_TYPES)];

function ecAlg(type: string): Uint8Array {
  return tlv(TAG.SEQUENCE, oid("1.2.840.10045.2.1"), oid(CURVE_OIDS[EC_TYPES[type].curve]));
}

/** SPKI DER of a raw public key (an EC point, or the 32/56/57 bytes of an OKP key). */
export function rawPublicToSpki(type: string, raw: Uint8Array): Uint8Array {
  const alg = OKP[type] ? tlv(TAG.SEQUENCE, oid(OKP[type].oid)) : ecAlg(type);
  return tlv(TAG.SEQUENCE, alg, tlv(TAG.BIT_STRING, Uint8Array.of(0), raw));
}

/** PKCS#8 DER of a raw private key (an OKP seed, or an EC scalar; the public half is derived). */
export function rawPrivateToPkcs8(type: string, raw: Uint8Array): Uint8Array {
  const version = tlv(TAG.INTEGER, Uint8Array.of(0));
  if (OKP[type]) {
    const alg = tlv(TAG.SEQUENCE, oid(OKP[type].oid));
    return tlv(TAG.SEQUENCE, version, alg, tlv(TAG.OCTET_STRING, tlv(TAG.OCTET_STRING, raw)));
  }
  const size = EC_TYPES[type].size;
  let s = raw;
  while (s.length > size && s[0] === 0) s = s.subarray(1);
  if (s.length > size) {
    throw new CryptoError("INVALID_ARGUMENT", `the scalar is longer than ${size} bytes`);
  }
  const padded = new Uint8Array(size);
  padded.set(s, size - s.length);
  const ecPriv = tlv(
    TAG.SEQUENCE,
    tlv(TAG.INTEGER, Uint8Array.of(1)),
    tlv(TAG.OCTET_STRING, padded),
  );
  return tlv(TAG.SEQUENCE, version, ecAlg(type), tlv(TAG.OCTET_STRING, ecPriv));
}

/** Size in bytes of each of r and s for a curve. */
export const EC_SIG_HALF: Record<string, number> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
  "secp256k1": 32,
};

function uint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return v[0] & 0x80 ? Uint8Array.of(0, ...v) : v;
}

/** r || s → DER ECDSA-Sig-Value. */
export function p1363ToDer(sig: Uint8Array, half: number): Uint8Array {
  if (sig.length !== 2 * half) {
    throw new CryptoError("INVALID_ARGUMENT", `an IEEE P1363 signature here is ${2 * half} bytes`);
  }
  return tlv(
    TAG.SEQUENCE,
    tlv(TAG.INTEGER, uint(sig.subarray(0, half))),
    tlv(TAG.INTEGER, uint(sig.subarray(half))),
  );
}

/** DER ECDSA-Sig-Value → r || s; null when it is not a well-formed signature. */
export function derToP1363(der: Uint8Array, half: number): Uint8Array | null {
  try {
    const seq = readTlv(der, 0);
    if (seq.tag !== TAG.SEQUENCE || seq.end !== der.length) return null;
    const [r, s] = children(der, seq);
    if (!r || !s || r.tag !== TAG.INTEGER || s.tag !== TAG.INTEGER) return null;
    const out = new Uint8Array(2 * half);
    for (const [i, t] of [r, s].entries()) {
      let v = contentOf(der, t);
      while (v.length > 1 && v[0] === 0) v = v.subarray(1);
      if (v.length > half) return null;
      out.set(v, (i + 1) * half - v.length);
    }
    return out;
  } catch {
    return null;
  }
}
