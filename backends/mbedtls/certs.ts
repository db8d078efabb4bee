/**
 * Certificate chains (`mbedtls_x509_crt`) and private keys (`mbedtls_pk_context`)
 * in caller-allocated, pinned memory, each with one owner that frees it once;
 * trust stores; reading a peer's chain back out as DER.
 *
 * @module
 */

import { OFFSETS, SIZES } from "../../ffi/mbedtls.ts";
import {
  copyFrom,
  cstr,
  env,
  isNull,
  pinnedBytes,
  type Ptr,
  ptrOf,
  readPtr,
  readU64,
} from "../../ffi/runtime.ts";
import { TlsError } from "../../errors.ts";
import { children, readTlv } from "../der.ts";
import { looksLikePem as isPem } from "../pem.ts";
import { hexCode, type MbedTls, strerror } from "./lib.ts";

/** PEM as mbedTLS wants it: NUL-terminated, the NUL counted in the length. */
function withNul(data: Uint8Array): Uint8Array {
  const out = pinnedBytes(data.length + 1);
  out.set(data);
  return out;
}

function optionError(m: MbedTls, option: string, what: string, rc: number): TlsError {
  const detail = strerror(m, rc);
  return new TlsError("INVALID_OPTION", `invalid option ${option}: ${what} (${detail})`, {
    option,
    detail,
  });
}

/** An `mbedtls_x509_crt` chain: init on construction, freed once. */
export class CertChain {
  readonly mem = pinnedBytes(SIZES.x509_crt);
  readonly ptr: Ptr;
  /** Certificates parsed into the chain so far. */
  count = 0;
  #m: MbedTls;
  #freed = false;

  constructor(m: MbedTls) {
    this.#m = m;
    this.ptr = ptrOf(this.mem);
    m.x509.mbedtls_x509_crt_init(this.ptr);
  }

  /**
   * Adds the certificates in `data` (PEM, possibly several, or one DER).
   * `strict`: every PEM block must parse. Throws INVALID_OPTION naming `option`.
   */
  add(data: Uint8Array, option: string, strict = true): void {
    if (!(data instanceof Uint8Array) || data.length === 0) {
      throw new TlsError("INVALID_OPTION", `invalid option ${option}: empty certificate data`, {
        option,
      });
    }
    const pem = isPem(data);
    const buf = pem ? withNul(data) : data;
    const before = this.#countNow();
    const rc = pem
      ? this.#m.x509.mbedtls_x509_crt_parse(this.ptr, buf, BigInt(buf.length))
      : this.#m.x509.mbedtls_x509_crt_parse_der(this.ptr, buf, BigInt(buf.length));
    const added = this.#countNow() - before;
    if (rc < 0 || (strict && rc > 0) || added === 0) {
      throw optionError(
        this.#m,
        option,
        rc > 0 ? `${rc} certificate(s) could not be parsed` : "not a certificate (PEM or DER)",
        rc <= 0 ? (rc || -0x2180) : -0x2180,
      );
    }
    this.count += added;
  }

  /** Adds a PEM/DER file (`mbedtls_x509_crt_parse_file`). */
  addFile(path: string, option: string): void {
    const before = this.#countNow();
    const rc = this.#m.x509.mbedtls_x509_crt_parse_file(this.ptr, cstr(path));
    const added = this.#countNow() - before;
    if (rc < 0 || added === 0) {
      throw optionError(
        this.#m,
        option,
        `cannot load certificates from ${path}`,
        rc < 0 ? rc : -0x2180,
      );
    }
    this.count += added;
  }

  /** Adds every certificate file in a directory; unreadable files are skipped. */
  addPath(path: string, option: string): void {
    const before = this.#countNow();
    const rc = this.#m.x509.mbedtls_x509_crt_parse_path(this.ptr, cstr(path));
    const added = this.#countNow() - before;
    if (rc < 0 && added === 0) {
      throw optionError(this.#m, option, `cannot load certificates from ${path}`, rc);
    }
    this.count += added;
  }

  /** Loads the system's trust store; false when none was found. */
  addSystemTrust(): boolean {
    const dir = env("SSL_CERT_DIR");
    const files = [env("SSL_CERT_FILE"), ...SYSTEM_BUNDLES].filter((f): f is string => !!f);
    for (const file of files) {
      const before = this.#countNow();
      this.#m.x509.mbedtls_x509_crt_parse_file(this.ptr, cstr(file)); // > 0: some skipped, fine
      const added = this.#countNow() - before;
      if (added > 0) {
        this.count += added;
        return true;
      }
    }
    if (dir) {
      const before = this.#countNow();
      this.#m.x509.mbedtls_x509_crt_parse_path(this.ptr, cstr(dir));
      this.count += this.#countNow() - before;
    }
    return this.count > 0;
  }

  /** Certificates in the chain, by walking it (a parse may add some then fail). */
  #countNow(): number {
    let n = 0;
    for (let p = this.ptr; !isNull(p) && n < 100_000; p = readPtr(p, OFFSETS.crtNext)) {
      if (isNull(readPtr(p, OFFSETS.crtRawP))) break; // an init'ed, empty head
      n++;
    }
    return n;
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#m.x509.mbedtls_x509_crt_free(this.ptr);
  }
}

/** Where distributions keep their CA bundle. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/pki/tls/cacert.pem", // OpenELEC
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
  "/etc/ssl/cert.pem", // Alpine, macOS, BSDs
  "/usr/local/etc/openssl/cert.pem", // Homebrew
];

/** An `mbedtls_pk_context` holding a private key: init on construction, freed once. */
export class PrivateKey {
  readonly mem = pinnedBytes(SIZES.pk);
  readonly ptr: Ptr;
  #m: MbedTls;
  #freed = false;

  constructor(m: MbedTls, data: Uint8Array, password: string | undefined, option: string) {
    this.#m = m;
    this.ptr = ptrOf(this.mem);
    m.crypto.mbedtls_pk_init(this.ptr);
    if (!(data instanceof Uint8Array) || data.length === 0) {
      this.free();
      throw new TlsError("INVALID_OPTION", `invalid option ${option}: empty key data`, { option });
    }
    const buf = isPem(data) ? withNul(data) : data;
    const pwd = password === undefined ? null : new TextEncoder().encode(password);
    const rc = m.crypto.mbedtls_pk_parse_key(
      this.ptr,
      buf,
      BigInt(buf.length),
      pwd && pwd.length ? pwd : null,
      BigInt(pwd?.length ?? 0),
    );
    if (rc !== 0) {
      this.free();
      const what = rc === -0x3C00
        ? "the key is encrypted and needs keyPassword"
        : rc === -0x3B80
        ? "wrong keyPassword"
        : `not a private key (PEM or DER), ${hexCode(rc)}`;
      throw optionError(m, option, what, rc);
    }
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#m.crypto.mbedtls_pk_free(this.ptr);
  }
}

/** The DER of every certificate in the chain at `crt` (leaf first). */
export function chainDer(crt: Ptr): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = crt;
  for (let i = 0; i < 64 && !isNull(p); i++) {
    const len = Number(readU64(p, OFFSETS.crtRawLen));
    const raw = readPtr(p, OFFSETS.crtRawP);
    if (isNull(raw) || len <= 0 || len > 1 << 20) break; // an init'ed, empty head
    out.push(copyFrom(raw, len));
    p = readPtr(p, OFFSETS.crtNext);
  }
  return out;
}

/** True when a certificate's issuer equals its subject (DER compare). */
export function isSelfIssued(der: Uint8Array): boolean {
  try {
    const cert = readTlv(der, 0);
    const tbs = children(der, readTlv(der, cert.contentStart, cert.end));
    let i = tbs[0]?.tag === 0xa0 ? 1 : 0;
    i += 2; // serialNumber, signature
    const issuer = tbs[i];
    const subject = tbs[i + 2];
    if (!issuer || !subject) return false;
    const a = der.subarray(issuer.start, issuer.end);
    const b = der.subarray(subject.start, subject.end);
    return a.length === b.length && a.every((v, k) => v === b[k]);
  } catch {
    return false;
  }
}

/** An IPv4 or IPv6 literal as bytes, or null. */
export function parseIp(s: string): Uint8Array | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((n) => n <= 255) ? new Uint8Array(b) : null;
  }
  const host = s.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!host.includes(":") || !/^[0-9a-fA-F:.]+$/.test(host)) return null;
  const halves = host.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes(".")) {
        const v = parseIp(it);
        if (!v || v.length !== 4) return null;
        out.push((v[0] << 8) | v[1], (v[2] << 8) | v[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(it)) out.push(parseInt(it, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const all = [...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
