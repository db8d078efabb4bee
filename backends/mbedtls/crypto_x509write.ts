/**
 * Certificates and CSRs for the mbedTLS provider: the TBSCertificate /
 * CertificationRequestInfo DER is built here in TypeScript and mbedTLS signs
 * it (`mbedtls_pk_sign` over the digest, exactly what `mbedtls_x509write_crt`
 * does inside). Building the DER ourselves rather than through
 * `mbedtls_x509write_crt_*` keeps the issuer name byte-for-byte equal to the
 * CA's subject (2.28 takes names only as "CN=..,O=.." strings, cannot escape
 * a backslash, and would re-encode the CA's name), and gives the same
 * extensions as the OpenSSL provider: basicConstraints, keyUsage, EKU, SKI,
 * AKI, SAN. Signature checks of certificates and CSRs go through
 * `mbedtls_pk_verify(_ext)` the same way.
 *
 * @module
 */

import { ECP_GROUP, MD_TYPE, PK_TYPE } from "../../ffi/mbedtls_crypto.ts";
import { CryptoError } from "../../errors.ts";
import type {
  CertParams,
  CurveName,
  DigestName,
  KeyInput,
  SubjectFields,
} from "../crypto_provider.ts";
import {
  children,
  contentOf,
  decodeOid,
  encodeOid,
  expectTlv,
  readTlv,
  TAG,
  type Tlv,
  tlv,
} from "../der.ts";
import { parseExtensions, parseSpki } from "../x509_der.ts";
import {
  check,
  errText,
  freePk,
  mc,
  newPk,
  nz,
  readCell,
  rng,
  sizeCell,
  withKey,
} from "./crypto_lib.ts";
import { keyKind, mdType, spki, strictEcdsaDer } from "./crypto_keys.ts";
import { rawDigest } from "./crypto_sym.ts";
import { ecPointConvert } from "./crypto_ec.ts";

const oid = (s: string) => tlv(TAG.OID, encodeOid(s));
const NULL = Uint8Array.of(TAG.NULL, 0);
const utf8 = new TextEncoder();

// Subject fields in OpenSSL's order, with their string type and upper bound (RFC 5280 ub-*).
const NAME_FIELDS: [keyof SubjectFields, string, number, number][] = [
  ["country", "2.5.4.6", TAG.PRINTABLE, 2],
  ["state", "2.5.4.8", TAG.UTF8, 128],
  ["locality", "2.5.4.7", TAG.UTF8, 128],
  ["organization", "2.5.4.10", TAG.UTF8, 64],
  ["organizationalUnit", "2.5.4.11", TAG.UTF8, 64],
  ["commonName", "2.5.4.3", TAG.UTF8, 64],
  ["emailAddress", "1.2.840.113549.1.9.1", TAG.IA5, 128],
];

/** A Name: one RDN per field, OpenSSL's order. */
function encodeName(subject: SubjectFields): Uint8Array {
  const rdns: Uint8Array[] = [];
  for (const [key, id, tag, max] of NAME_FIELDS) {
    const v = subject[key];
    if (v === undefined) continue;
    const ascii = /^[\x20-\x7e]*$/.test(v);
    const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v);
    // deno-lint-ignore no-control-regex
    const bad = typeof v !== "string" || v.length === 0 || [...v].length > max || /\x00/.test(v) ||
      (tag === TAG.IA5 && !ascii) || (tag === TAG.PRINTABLE && !printable);
    if (bad) {
      throw new CryptoError(
        "INVALID_ARGUMENT",
        `subject field ${key} ${JSON.stringify(v)} was rejected`,
      );
    }
    rdns.push(tlv(TAG.SET, tlv(TAG.SEQUENCE, oid(id), tlv(tag, utf8.encode(v)))));
  }
  return tlv(TAG.SEQUENCE, ...rdns);
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
function encodeTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (!(y >= 1 && y <= 9999)) {
    throw new CryptoError("INVALID_ARGUMENT", `date ${d.toISOString()} cannot be encoded`);
  }
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) +
    two(d.getUTCMinutes()) + two(d.getUTCSeconds()) + "Z";
  return y >= 1950 && y < 2050
    ? tlv(TAG.UTC_TIME, utf8.encode(two(y % 100) + rest))
    : tlv(TAG.GENERALIZED_TIME, utf8.encode(String(y).padStart(4, "0") + rest));
}

function ipv4(s: string): number[] | null {
  const m = s.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : null;
}

/** The 4 or 16 bytes of an IP address; null when malformed. */
export function ipBytes(s: string): Uint8Array | null {
  const v4 = ipv4(s);
  if (v4) return Uint8Array.from(v4);
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const words = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (const [i, g] of groups.entries()) {
      if (i === groups.length - 1 && g.includes(".")) {
        const b = ipv4(g);
        if (!b) return null;
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = words(halves[0]), tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => [out[2 * i], out[2 * i + 1]] = [w >> 8, w & 0xff]);
  return out;
}

/** GeneralNames of "DNS:", "IP:", "email:", "URI:" entries. */
function encodeSan(san: string[]): Uint8Array {
  const names = san.map((entry) => {
    const i = entry.indexOf(":");
    const type = entry.slice(0, i), value = entry.slice(i + 1);
    const ascii = /^[\x21-\x7e]+$/.test(value);
    if (type === "IP") {
      const b = ipBytes(value);
      if (b) return tlv(0x87, b);
    } else if (ascii && type === "DNS") return tlv(0x82, utf8.encode(value));
    else if (ascii && type === "email") return tlv(0x81, utf8.encode(value));
    else if (ascii && type === "URI") return tlv(0x86, utf8.encode(value));
    throw new CryptoError("INVALID_ARGUMENT", `san entry ${JSON.stringify(entry)} was rejected`);
  });
  return tlv(TAG.SEQUENCE, ...names);
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  const crit = critical ? [Uint8Array.of(TAG.BOOLEAN, 1, 0xff)] : [];
  return tlv(TAG.SEQUENCE, oid(id), ...crit, tlv(TAG.OCTET_STRING, value));
}

/** keyUsage bits (0 = digitalSignature) as a DER BIT STRING. */
function keyUsage(bits: number[]): Uint8Array {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  let unused = 0;
  while (!((v >> unused) & 1)) unused++;
  return tlv(TAG.BIT_STRING, Uint8Array.of(unused, v));
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
function keyId(spkiDer: Uint8Array): Uint8Array {
  return rawDigest("sha1", parseSpki(spkiDer, readTlv(spkiDer, 0)).key);
}

/** The pieces of a DER certificate a writer or verifier needs. */
function certParts(der: Uint8Array) {
  const top = expectTlv(der, 0, der.length, TAG.SEQUENCE, "Certificate");
  const [tbsT, algT, sigT] = children(der, top);
  if (!tbsT || tbsT.tag !== TAG.SEQUENCE || !algT || !sigT) {
    throw new CryptoError("BAD_FORMAT", "not a DER certificate");
  }
  const tbs = children(der, tbsT);
  const i = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const [subjectT, spkiT] = [tbs[i + 4], tbs[i + 5]];
  if (!subjectT || subjectT.tag !== TAG.SEQUENCE || !spkiT || spkiT.tag !== TAG.SEQUENCE) {
    throw new CryptoError("BAD_FORMAT", "not a DER certificate");
  }
  let ski: Uint8Array | null = null;
  for (const t of tbs.slice(i + 6)) {
    if (t.tag !== 0xa3) continue;
    for (const e of parseExtensions(der, readTlv(der, t.contentStart, t.end))) {
      if (e.oid === "2.5.29.14" && e.value.tag === TAG.OCTET_STRING) {
        ski = der.slice(e.value.contentStart, e.value.end);
      }
    }
  }
  return {
    tbs: der.subarray(tbsT.start, tbsT.end),
    subject: der.slice(subjectT.start, subjectT.end),
    spki: der.slice(spkiT.start, spkiT.end),
    ski,
    alg: algT,
    sig: sigT,
  };
}

const SIG_OIDS: Record<string, Record<string, string>> = {
  rsa: {
    sha1: "1.2.840.113549.1.1.5",
    sha224: "1.2.840.113549.1.1.14",
    sha256: "1.2.840.113549.1.1.11",
    sha384: "1.2.840.113549.1.1.12",
    sha512: "1.2.840.113549.1.1.13",
  },
  ec: {
    sha1: "1.2.840.10045.4.1",
    sha224: "1.2.840.10045.4.3.1",
    sha256: "1.2.840.10045.4.3.2",
    sha384: "1.2.840.10045.4.3.3",
    sha512: "1.2.840.10045.4.3.4",
  },
};

/** The signature AlgorithmIdentifier for a parsed key and a digest (RSA PKCS#1 v1.5, ECDSA). */
function signatureAlg(pk: Uint8Array, hash: DigestName): Uint8Array {
  const type = keyKind(pk).type;
  const id = SIG_OIDS[type]?.[hash];
  if (!id) {
    throw new CryptoError("UNSUPPORTED", `cannot sign with a ${type} key and ${hash} on mbedtls`);
  }
  return type === "rsa" ? tlv(TAG.SEQUENCE, oid(id), NULL) : tlv(TAG.SEQUENCE, oid(id));
}

/** Signs `tbs` with a parsed key: the AlgorithmIdentifier and the signature. */
function signTbs(pk: Uint8Array, hash: DigestName | null, tbs: Uint8Array) {
  const h = hash ?? "sha256";
  const alg = signatureAlg(pk, h);
  const digest = rawDigest(h, tbs);
  const sig = new Uint8Array(2048);
  const len = sizeCell();
  const { f, p } = rng();
  check(
    mc().mbedtls_pk_sign(pk, mdType(h), digest, BigInt(digest.length), sig, len, f, p),
    "mbedtls_pk_sign",
    "INVALID_ARGUMENT",
  );
  return { alg, sig: tlv(TAG.BIT_STRING, Uint8Array.of(0), sig.subarray(0, readCell(len))) };
}

/** Parses an SPKI into a new pk context (public key only); the caller frees it. */
function parsePublic(spkiDer: Uint8Array): Uint8Array {
  const pk = newPk();
  const rc = mc().mbedtls_pk_parse_public_key(pk, nz(spkiDer), BigInt(spkiDer.length));
  if (rc === 0) return pk;
  freePk(pk);
  const type = (() => {
    try {
      return parseSpki(spkiDer, readTlv(spkiDer, 0)).type;
    } catch {
      return "unknown";
    }
  })();
  if (/^(ed|x)(25519|448)$/.test(type)) {
    throw new CryptoError("UNSUPPORTED", `${type} keys are not supported by the mbedtls backend`);
  }
  throw new CryptoError("BAD_FORMAT", "unreadable public key", { detail: errText(rc) });
}

const OKP_SIZES: Record<string, number> = { ed25519: 32, x25519: 32, ed448: 57, x448: 56 };

/**
 * Checks the subject's SPKI before it is embedded as is: one DER element;
 * EC points must lie on the curve (compressed ones too), RSA keys must load
 * in mbedTLS, RFC 8410 keys
 * must have their size. Returns the key type.
 */
function checkSpki(der: Uint8Array): string {
  const t = readTlv(der, 0);
  if (t.end !== der.length) throw new CryptoError("BAD_FORMAT", "trailing data after the SPKI");
  const info = parseSpki(der, t);
  const curve = info.curve as CurveName | null;
  if (info.type === "ec" && curve && curve in ECP_GROUP) ecPointConvert(curve, info.key, false);
  else if (info.type === "rsa" || info.type === "ec") freePk(parsePublic(der));
  else if (info.key.length !== OKP_SIZES[info.type]) {
    throw new CryptoError("BAD_FORMAT", `unsupported or malformed ${info.type} public key`);
  }
  return info.type;
}

/** Writes and signs a certificate; returns DER. */
export function createCertificate(p: CertParams): Uint8Array {
  const issuer = p.issuerCert ? certParts(p.issuerCert) : null;
  return withKey(p.signingKey, false, (skey) => {
    if (issuer) {
      const pub = parsePublic(issuer.spki);
      try {
        if (mc().mbedtls_pk_check_pair(pub, skey) !== 0) {
          throw new CryptoError("INVALID_ARGUMENT", "caKey does not match caCert");
        }
      } finally {
        freePk(pub);
      }
    }
    const subjectName = encodeName(p.subject);
    const type = checkSpki(p.publicKey);
    const ski = keyId(p.publicKey);
    const aki = issuer ? issuer.ski ?? keyId(issuer.spki) : ski;
    const exts: Uint8Array[] = [];
    if (p.isCa) {
      exts.push(
        extension("2.5.29.19", true, tlv(TAG.SEQUENCE, Uint8Array.of(TAG.BOOLEAN, 1, 0xff))),
      );
      exts.push(extension("2.5.29.15", true, keyUsage([0, 5, 6])));
    } else {
      exts.push(extension("2.5.29.19", true, tlv(TAG.SEQUENCE)));
      exts.push(extension("2.5.29.15", true, keyUsage(type === "rsa" ? [0, 2] : [0])));
      exts.push(
        extension(
          "2.5.29.37",
          false,
          tlv(TAG.SEQUENCE, oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")),
        ),
      );
    }
    exts.push(extension("2.5.29.14", false, tlv(TAG.OCTET_STRING, ski)));
    exts.push(extension("2.5.29.35", false, tlv(TAG.SEQUENCE, tlv(0x80, aki))));
    if (p.san.length) exts.push(extension("2.5.29.17", false, encodeSan(p.san)));

    let serial = p.serial;
    while (serial.length > 1 && serial[0] === 0 && !(serial[1] & 0x80)) serial = serial.subarray(1);
    if (!serial.length || serial.length > 20 || serial[0] & 0x80) {
      throw new CryptoError("INVALID_ARGUMENT", "serial: 1 to 20 bytes, positive");
    }
    const tbs = tlv(
      TAG.SEQUENCE,
      tlv(0xa0, tlv(TAG.INTEGER, Uint8Array.of(2))),
      tlv(TAG.INTEGER, serial),
      signatureAlg(skey, p.hash ?? "sha256"),
      issuer ? issuer.subject : subjectName,
      tlv(TAG.SEQUENCE, encodeTime(p.notBefore), encodeTime(p.notAfter)),
      subjectName,
      p.publicKey,
      tlv(0xa3, tlv(TAG.SEQUENCE, ...exts)),
    );
    const { alg, sig } = signTbs(skey, p.hash, tbs);
    return tlv(TAG.SEQUENCE, tbs, alg, sig);
  });
}

/** Writes and signs a CSR (PKCS#10); returns DER. */
export function generateCsr(
  key: KeyInput,
  subject: SubjectFields,
  san: string[],
  hash: DigestName | null,
): Uint8Array {
  return withKey(key, false, (pk) => {
    const attrs = san.length
      ? [
        tlv(
          TAG.SEQUENCE,
          oid("1.2.840.113549.1.9.14"),
          tlv(TAG.SET, tlv(TAG.SEQUENCE, extension("2.5.29.17", false, encodeSan(san)))),
        ),
      ]
      : [];
    const info = tlv(
      TAG.SEQUENCE,
      tlv(TAG.INTEGER, Uint8Array.of(0)),
      encodeName(subject),
      spki(pk),
      tlv(0xa0, ...attrs),
    );
    const { alg, sig } = signTbs(pk, hash, info);
    return tlv(TAG.SEQUENCE, info, alg, sig);
  });
}

const HASH_OIDS: Record<string, DigestName> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};
const SIG_BY_OID: Record<string, { type: string; hash: DigestName }> = {};
for (const [type, byHash] of Object.entries(SIG_OIDS)) {
  for (const [hash, id] of Object.entries(byHash)) {
    SIG_BY_OID[id] = { type, hash: hash as DigestName };
  }
}

/** RSASSA-PSS-params: hash, MGF1 hash and salt length (RFC 4055 defaults: SHA-1, 20). */
function pssParams(der: Uint8Array, params: Tlv | undefined) {
  let hash: DigestName | undefined = "sha1", mgf: DigestName | undefined = "sha1", salt = 20;
  const algHash = (t: Tlv) => {
    const o = children(der, t)[0];
    return o?.tag === TAG.OID ? HASH_OIDS[decodeOid(contentOf(der, o))] : undefined;
  };
  for (const t of params ? children(der, params) : []) {
    const inner = readTlv(der, t.contentStart, t.end);
    if (t.tag === 0xa0) hash = algHash(inner);
    else if (t.tag === 0xa1) {
      const p = children(der, inner)[1];
      mgf = p && p.tag === TAG.SEQUENCE ? algHash(p) : undefined;
    } else if (t.tag === 0xa2 && inner.tag === TAG.INTEGER && inner.end - inner.contentStart <= 2) {
      salt = contentOf(der, inner).reduce((v, b) => v * 256 + b, 0);
    }
  }
  return hash && mgf ? { hash, mgf, salt } : null;
}

/** True when `sig` (BIT STRING) over `signed` under AlgorithmIdentifier `alg` verifies with `spkiDer`. */
function verifySigned(
  der: Uint8Array,
  signed: Uint8Array,
  algT: Tlv,
  sigT: Tlv,
  spkiDer: Uint8Array,
): boolean {
  if (algT.tag !== TAG.SEQUENCE || sigT.tag !== TAG.BIT_STRING) return false;
  const [idT, paramsT] = children(der, algT);
  if (!idT || idT.tag !== TAG.OID) return false;
  const id = decodeOid(contentOf(der, idT));
  const bits = contentOf(der, sigT);
  if (bits.length < 2 || bits[0] !== 0) return false;
  const sig = bits.subarray(1);
  if (id === "1.3.101.112" || id === "1.3.101.113") {
    throw new CryptoError(
      "UNSUPPORTED",
      "EdDSA signatures are not supported by the mbedtls backend",
    );
  }
  const m = mc();
  const pk = parsePublic(spkiDer);
  try {
    if (id === "1.2.840.113549.1.1.10") {
      const pss = pssParams(der, paramsT);
      if (!pss || keyKind(pk).type !== "rsa") return false;
      const h = rawDigest(pss.hash, signed);
      const opts = new Uint8Array(8); // { int mgf1_hash_id; int expected_salt_len }
      new DataView(opts.buffer).setInt32(0, mdType(pss.mgf), true);
      new DataView(opts.buffer).setInt32(4, pss.salt, true);
      const md = mdType(pss.hash);
      return m.mbedtls_pk_verify_ext(
        PK_TYPE.RSASSA_PSS,
        opts,
        pk,
        md,
        h,
        BigInt(h.length),
        sig,
        BigInt(sig.length),
      ) === 0;
    }
    const alg = SIG_BY_OID[id];
    if (!alg) throw new CryptoError("UNSUPPORTED", `signature algorithm ${id} on mbedtls`);
    if (keyKind(pk).type !== alg.type) return false;
    if (alg.type === "ec" && !strictEcdsaDer(sig)) return false;
    const h = rawDigest(alg.hash, signed);
    const md = MD_TYPE[alg.hash as keyof typeof MD_TYPE];
    return m.mbedtls_pk_verify(pk, md, h, BigInt(h.length), sig, BigInt(sig.length)) === 0;
  } finally {
    freePk(pk);
  }
}

/** True when a DER CSR's self-signature verifies. */
export function verifyCsr(der: Uint8Array): boolean {
  let top: Tlv, parts: Tlv[], info: Tlv[];
  try {
    top = expectTlv(der, 0, der.length, TAG.SEQUENCE, "CertificationRequest");
    parts = children(der, top);
    info = parts[0]?.tag === TAG.SEQUENCE ? children(der, parts[0]) : [];
  } catch {
    throw new CryptoError("BAD_FORMAT", "not a DER certificate request");
  }
  if (parts.length !== 3 || info.length < 3 || info[2].tag !== TAG.SEQUENCE) {
    throw new CryptoError("BAD_FORMAT", "not a DER certificate request");
  }
  const spkiDer = der.slice(info[2].start, info[2].end);
  const signed = der.subarray(parts[0].start, parts[0].end);
  return verifySigned(der, signed, parts[1], parts[2], spkiDer);
}

/** True when `der` carries a signature made by the key of `issuerDer`. */
export function verifyCertificateSignature(der: Uint8Array, issuerDer: Uint8Array): boolean {
  const cert = certParts(der);
  const issuer = certParts(issuerDer);
  return verifySigned(der, cert.tbs, cert.alg, cert.sig, issuer.spki);
}
