/**
 * Finding native libraries: an environment variable with a full path wins,
 * else an ordered per-OS list of names and paths. Knows nothing of TLS.
 *
 * @module
 */

import { env, type NativeLibrary, openLibrary, os, type SymbolTable } from "./runtime.ts";

/** Thrown when no candidate path could be opened; lists every path tried. */
export class LibraryNotFoundError extends Error {
  /** Each path tried, with the reason it failed. */
  readonly tried: readonly string[];
  /** The environment variable that would override the search. */
  readonly variable: string;
  constructor(what: string, tried: string[], variable: string, hint: string) {
    super(
      `could not load ${what}; tried:\n  ${tried.join("\n  ")}\n` +
        `set ${variable}=/path/to/the/library, or ${hint}`,
    );
    this.name = "LibraryNotFoundError";
    this.tried = tried;
    this.variable = variable;
  }
}

/** Where one library may be found. */
export interface LibrarySpec {
  /** Human name, e.g. "libssl 3". */
  readonly what: string;
  /** The variable that holds a full path overriding the search. */
  readonly variable: string;
  /** A directory variable (e.g. `JSEC_MBEDTLS_DIR`) joined with each file name. */
  readonly dirVariable?: string;
  /** File names or absolute paths by OS, most preferred first. */
  readonly candidates: Readonly<Record<string, readonly string[]>>;
  /** What to install, for the error message. */
  readonly hint: string;
}

/** The candidate paths for `spec` on this OS, overrides first. */
export function candidatePaths(spec: LibrarySpec): string[] {
  const explicit = env(spec.variable);
  if (explicit) return [explicit];
  const names = spec.candidates[os] ?? spec.candidates.linux ?? [];
  const dir = spec.dirVariable ? env(spec.dirVariable) : undefined;
  if (dir) {
    const sep = os === "windows" ? "\\" : "/";
    return names.filter((n) => !n.includes("/")).map((n) => dir.replace(/[\\/]$/, "") + sep + n);
  }
  return [...names];
}

/**
 * Opens the first candidate of `spec` that loads with `table`.
 * Throws {@link LibraryNotFoundError} naming every path tried.
 */
export function locateLibrary<T extends SymbolTable>(
  spec: LibrarySpec,
  table: T,
): NativeLibrary<T> {
  const tried: string[] = [];
  for (const path of candidatePaths(spec)) {
    try {
      return openLibrary(path, table);
    } catch (e) {
      const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
      tried.push(`${path} (${reason})`);
    }
  }
  throw new LibraryNotFoundError(spec.what, tried, spec.variable, spec.hint);
}

const linuxLibDirs = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
  "/lib/x86_64-linux-gnu",
];

function linux(file: string): string[] {
  return [file, ...linuxLibDirs.map((d) => `${d}/${file}`)];
}

function darwin(file: string, brewFormula: string): string[] {
  return [
    `/opt/homebrew/opt/${brewFormula}/lib/${file}`,
    `/usr/local/opt/${brewFormula}/lib/${file}`,
    `/opt/local/lib/${file}`,
    file,
  ];
}

/** libssl 3. */
export const LIBSSL: LibrarySpec = {
  what: "libssl 3 (OpenSSL)",
  variable: "JSEC_OPENSSL_LIBSSL",
  candidates: {
    linux: linux("libssl.so.3"),
    darwin: darwin("libssl.3.dylib", "openssl@3"),
    windows: ["libssl-3-x64.dll", "libssl-3-arm64.dll", "libssl-3.dll"],
  },
  hint: "install OpenSSL 3 (apt-get install libssl3, brew install openssl@3)",
};

/** libcrypto 3. */
export const LIBCRYPTO: LibrarySpec = {
  what: "libcrypto 3 (OpenSSL)",
  variable: "JSEC_OPENSSL_LIBCRYPTO",
  candidates: {
    linux: linux("libcrypto.so.3"),
    darwin: darwin("libcrypto.3.dylib", "openssl@3"),
    windows: ["libcrypto-3-x64.dll", "libcrypto-3-arm64.dll", "libcrypto-3.dll"],
  },
  hint: "install OpenSSL 3 (apt-get install libssl3, brew install openssl@3)",
};

const mbedHint = "install mbedTLS 2.28 (apt-get install libmbedtls14, brew install mbedtls@2)";

/** mbedTLS 2.28's libmbedcrypto. */
export const LIBMBEDCRYPTO: LibrarySpec = {
  what: "libmbedcrypto (mbedTLS 2.28)",
  variable: "JSEC_MBEDTLS_LIBCRYPTO",
  dirVariable: "JSEC_MBEDTLS_DIR",
  candidates: {
    linux: linux("libmbedcrypto.so.7"),
    darwin: darwin("libmbedcrypto.7.dylib", "mbedtls@2"),
    windows: ["mbedcrypto.dll"],
  },
  hint: mbedHint,
};

/** mbedTLS 2.28's libmbedx509. */
export const LIBMBEDX509: LibrarySpec = {
  what: "libmbedx509 (mbedTLS 2.28)",
  variable: "JSEC_MBEDTLS_LIBX509",
  dirVariable: "JSEC_MBEDTLS_DIR",
  candidates: {
    linux: linux("libmbedx509.so.1"),
    darwin: darwin("libmbedx509.1.dylib", "mbedtls@2"),
    windows: ["mbedx509.dll"],
  },
  hint: mbedHint,
};

/** mbedTLS 2.28's libmbedtls. */
export const LIBMBEDTLS: LibrarySpec = {
  what: "libmbedtls (mbedTLS 2.28)",
  variable: "JSEC_MBEDTLS_LIBTLS",
  dirVariable: "JSEC_MBEDTLS_DIR",
  candidates: {
    linux: linux("libmbedtls.so.14"),
    darwin: darwin("libmbedtls.14.dylib", "mbedtls@2"),
    windows: ["mbedtls.dll"],
  },
  hint: mbedHint,
};
