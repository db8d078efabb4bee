/**
 * The one seam between jsec and the runtime's FFI (`Deno.dlopen` or `bun:ffi`).
 *
 * Symbol tables are written once in a neutral form ({@link FnDef}); this module
 * turns them into Deno's `{ parameters, result }` or Bun's `{ args, returns }`.
 * Pointers are opaque ({@link Ptr}): Deno hands out pointer objects, Bun plain
 * numbers, and nothing above this file may care which.
 *
 * No other file in jsec may test for Bun or use Deno's FFI names.
 *
 * @module
 */

/** A C type in a symbol table. `buf` is a pointer parameter that takes a typed array. */
export type NativeType =
  | "i8"
  | "u8"
  | "i16"
  | "u16"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "isize"
  | "f64"
  | "ptr"
  | "buf"
  | "fn"
  | "void";

/** One C function: its parameter types and result type. */
export interface FnDef {
  readonly params: readonly NativeType[];
  readonly result: NativeType;
  /** When true a missing symbol is `null` instead of a load failure. */
  readonly optional?: boolean;
}

/** A library's symbol table. */
export type SymbolTable = Record<string, FnDef>;

declare const ptrBrand: unique symbol;
/** An opaque native pointer. `null` is the C null pointer. */
export type Ptr = { readonly [ptrBrand]: true } | null;

type ArgOf<T> = T extends "ptr" | "fn" ? Ptr
  : T extends "buf" ? ArrayBufferView | null
  : T extends "i64" | "u64" | "usize" | "isize" ? bigint | number
  : number;
type RetOf<T> = T extends "void" ? void
  : T extends "ptr" | "fn" ? Ptr
  : T extends "i64" | "u64" | "usize" | "isize" ? bigint
  : number;
type Params<P> = { -readonly [K in keyof P]: ArgOf<P[K]> };

/** The callable form of one {@link FnDef}. */
export type NativeFn<D extends FnDef> = D extends { optional: true }
  ? ((...args: Params<D["params"]>) => RetOf<D["result"]>) | null
  : (...args: Params<D["params"]>) => RetOf<D["result"]>;

/** The callable form of a whole {@link SymbolTable}. */
export type Symbols<T extends SymbolTable> = { [K in keyof T]: NativeFn<T[K]> };

/** An opened native library. */
export interface NativeLibrary<T extends SymbolTable> {
  readonly path: string;
  readonly symbols: Symbols<T>;
  close(): void;
}

/** A JS function that C can call; close it only after C can no longer call it. */
export interface NativeCallback {
  readonly ptr: Ptr;
  close(): void;
}

/** Which runtime jsec runs on. */
export type RuntimeName = "deno" | "bun";

// deno-lint-ignore no-explicit-any
type Any = any;

interface BunFfi {
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: Any; close(): void };
  ptr(view: ArrayBufferView, byteOffset?: number): number;
  toArrayBuffer(ptr: number, byteOffset: number, byteLength: number): ArrayBuffer;
  CString: new (ptr: number, byteOffset?: number, byteLength?: number) => string;
  JSCallback: new (fn: Any, def: { args: string[]; returns: string }) => {
    ptr: number;
    close(): void;
  };
  read: {
    u8(p: number, off: number): number;
    i32(p: number, off: number): number;
    u32(p: number, off: number): number;
    i64(p: number, off: number): bigint;
    u64(p: number, off: number): bigint;
    ptr(p: number, off: number): number;
  };
}

const g = globalThis as Any;
const isBun = typeof g.Bun !== "undefined";
const bunSpecifier = "bun:ffi"; // a variable, so Deno's checker never resolves it
const bun: BunFfi | null = isBun ? await import(bunSpecifier) : null;
const D: Any = isBun ? null : g.Deno;

if (!bun && !D?.dlopen) {
  throw new Error("jsec needs Deno (with --allow-ffi) or Bun: no FFI found in this runtime");
}

/** The runtime this process runs on. */
export const runtime: RuntimeName = bun ? "bun" : "deno";

function denoType(t: NativeType): string {
  switch (t) {
    case "ptr":
    case "fn":
      return "pointer";
    case "buf":
      return "buffer";
    default:
      return t;
  }
}

function bunType(t: NativeType): string {
  switch (t) {
    case "buf":
    case "fn":
      return "ptr";
    case "usize":
      return "u64";
    case "isize":
      return "i64";
    default:
      return t;
  }
}

/**
 * Opens the library at `path` with the symbols of `table`. Throws the runtime's
 * own error when the file or a required symbol is missing.
 */
export function openLibrary<T extends SymbolTable>(path: string, table: T): NativeLibrary<T> {
  if (bun) {
    // Bun has no optional symbols: probe each optional one alone first.
    const defs: Record<string, unknown> = {};
    const missing: string[] = [];
    for (const [name, def] of Object.entries(table)) {
      const bdef = { args: def.params.map(bunType), returns: bunType(def.result) };
      if (def.optional) {
        try {
          bun.dlopen(path, { [name]: bdef }).close();
        } catch {
          missing.push(name);
          continue;
        }
      }
      defs[name] = bdef;
    }
    const lib = bun.dlopen(path, defs);
    const symbols = lib.symbols;
    for (const [name, def] of Object.entries(table)) {
      const bufs = def.params.flatMap((t, i) => (t === "buf" ? [i] : []));
      if (bufs.length && symbols[name]) symbols[name] = movingBuffersOut(symbols[name], bufs);
    }
    for (const name of missing) symbols[name] = null;
    return { path, symbols, close: () => lib.close() };
  }
  const defs: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(table)) {
    defs[name] = {
      parameters: def.params.map(denoType),
      result: denoType(def.result),
      optional: def.optional ?? false,
    };
  }
  const lib = D.dlopen(path, defs);
  return { path, symbols: lib.symbols, close: () => lib.close() };
}

/**
 * Bun: a small typed array (`new Uint8Array(8)`) keeps its bytes inside the GC
 * heap, and Bun hands C that address as is. When the JIT later optimises code
 * that uses the array, JSC moves the bytes to a new ArrayBuffer: C then reads and
 * writes memory the GC reuses (oven-sh/bun#32054). Reading `.buffer` moves them
 * out first, once.
 */
function outOfGcHeap<T extends ArrayBufferView>(view: T): T {
  // The result is stored so the optimiser keeps the read (not the buffer itself).
  touched ^= view.buffer.byteLength;
  return view;
}
let touched = 0;

/**
 * Wraps a Bun symbol so the small typed arrays at positions `bufs` are moved out
 * of the GC heap before each call. JSC keeps only typed arrays of up to 1000
 * elements there, so larger ones (the record buffers of the hot paths) skip the
 * `.buffer` read: that read was most of the wrapper's cost (measured on Bun).
 */
function movingBuffersOut(fn: (...args: Any[]) => Any, bufs: number[]): (...args: Any[]) => Any {
  return function (...args: Any[]) {
    for (const i of bufs) {
      const a = args[i];
      if (a !== null && typeof a === "object" && !(a.length > 1000)) outOfGcHeap(a);
    }
    return fn(...args);
  };
}

/** True when `p` is the C null pointer. */
export function isNull(p: Ptr): boolean {
  return p === null || (p as unknown) === 0 || (!bun && D.UnsafePointer.value(p) === 0n);
}

/** The address of `p` as a bigint (0n for null). */
export function ptrValue(p: Ptr): bigint {
  if (p === null) return 0n;
  return bun ? BigInt(p as unknown as number) : BigInt(D.UnsafePointer.value(p));
}

/** A pointer from an address. */
export function ptrFromValue(v: bigint | number): Ptr {
  if (bun) return (Number(v) || null) as unknown as Ptr;
  return D.UnsafePointer.create(BigInt(v));
}

/**
 * The address of a typed array's memory. The array must stay referenced for
 * as long as C holds the pointer: the pointer alone does not keep it alive, and
 * a local that JS no longer reads may be collected (and its memory reused) while
 * C still writes to it. So may a module constant that no function reads. Keep
 * such arrays on an object that outlives the C use, take the address inside the
 * function that uses it, or call {@link keepAlive} after the last C call (and
 * after freeing any C object that kept the pointer). Empty arrays have no
 * address: they throw.
 */
export function ptrOf(view: ArrayBufferView): Ptr {
  if (view.byteLength === 0) throw new RangeError("ptrOf: an empty buffer has no address");
  if (bun) return bun.ptr(outOfGcHeap(view)) as unknown as Ptr;
  return D.UnsafePointer.of(view);
}

let kept: unknown[] | null = null;

/**
 * Keeps `values` reachable up to this point: call it after the last C call that
 * uses memory reached through {@link ptrOf}.
 */
export function keepAlive(...values: unknown[]): void {
  // A module variable read and written: no optimiser can prove the values unused.
  if (kept !== values) kept = values;
}

/** `p + offset`. */
export function ptrAdd(p: Ptr, offset: number): Ptr {
  return ptrFromValue(ptrValue(p) + BigInt(offset));
}

/** Reads the pointer stored at `buf[offset..offset+8]` (an out-parameter). */
export function readPtrFrom(buf: Uint8Array, offset = 0): Ptr {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
  return v === 0n ? null : ptrFromValue(v);
}

/** Writes a pointer into `buf` at `offset` (for arrays of pointers handed to C). */
export function writePtrTo(buf: Uint8Array, offset: number, p: Ptr): void {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(offset, ptrValue(p), true);
}

/** Reads a NUL-terminated C string at `p` (empty string for null). */
export function readCString(p: Ptr, offset = 0): string {
  if (isNull(p)) return "";
  if (bun) return String(new bun.CString(p as unknown as number, offset));
  return D.UnsafePointerView.getCString(p, offset);
}

/** Copies `length` bytes at `p + offset` into a new Uint8Array. */
export function copyFrom(p: Ptr, length: number, offset = 0): Uint8Array {
  if (length <= 0) return new Uint8Array(0);
  if (isNull(p)) throw new RangeError("copyFrom: null pointer");
  const ab: ArrayBuffer = bun
    ? bun.toArrayBuffer(p as unknown as number, offset, length)
    : D.UnsafePointerView.getArrayBuffer(p, length, offset);
  return new Uint8Array(ab.slice(0, length));
}

/** Reads a 32-bit signed integer at `p + offset`. */
export function readI32(p: Ptr, offset = 0): number {
  if (bun) return bun.read.i32(p as unknown as number, offset);
  return new D.UnsafePointerView(p).getInt32(offset);
}

/** Reads a 32-bit unsigned integer at `p + offset`. */
export function readU32(p: Ptr, offset = 0): number {
  if (bun) return bun.read.u32(p as unknown as number, offset);
  return new D.UnsafePointerView(p).getUint32(offset);
}

/** Reads a 64-bit unsigned integer at `p + offset`. */
export function readU64(p: Ptr, offset = 0): bigint {
  if (bun) return bun.read.u64(p as unknown as number, offset);
  return new D.UnsafePointerView(p).getBigUint64(offset);
}

/** Reads the pointer stored at `p + offset`. */
export function readPtr(p: Ptr, offset = 0): Ptr {
  const v = readU64(p, offset);
  return v === 0n ? null : ptrFromValue(v);
}

/**
 * Makes a C-callable function. C may call it only synchronously on the JS
 * thread. `fn` must not throw: wrap its body and return a safe value.
 * Close it only after every native object that holds its pointer is freed.
 */
export function createCallback(
  def: { params: readonly NativeType[]; result: NativeType },
  fn: (...args: Any[]) => Any,
): NativeCallback {
  if (bun) {
    const cb = new bun.JSCallback(fn, {
      args: def.params.map(bunType),
      returns: bunType(def.result),
    });
    return { ptr: cb.ptr as unknown as Ptr, close: () => cb.close() };
  }
  const cb = new D.UnsafeCallback(
    { parameters: def.params.map(denoType), result: denoType(def.result) },
    fn,
  );
  return { ptr: cb.pointer, close: () => cb.close() };
}

/**
 * A zeroed buffer whose memory never moves, for memory C keeps a pointer to
 * beyond one call. (V8 keeps typed arrays of 64 bytes or less on its moving
 * heap; an ArrayBuffer made by its constructor always lives outside it.)
 */
export function pinnedBytes(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(Math.max(1, size)));
}

/**
 * A view onto native memory at `p + offset`, `length` bytes long, that aliases
 * it (writes go to C). Use it at once; never keep it past the memory's life.
 */
export function nativeView(p: Ptr, length: number, offset = 0): Uint8Array {
  if (isNull(p)) throw new RangeError("nativeView: null pointer");
  const ab: ArrayBuffer = bun
    ? bun.toArrayBuffer(p as unknown as number, offset, length)
    : D.UnsafePointerView.getArrayBuffer(p, length, offset);
  return new Uint8Array(ab, 0, length);
}

/**
 * libc's copies, for moving bytes between JS buffers and C memory without
 * making an ArrayBuffer over the C side first (what {@link nativeView} does):
 * that costs ~440 ns a call on Deno and ~230 ns on Bun, a memcpy ~30 ns plus
 * the bytes. Two names, as each runtime binds one signature per symbol.
 */
const COPY_SYMBOLS = {
  memcpy: { params: ["ptr", "buf", "usize"], result: "ptr" }, // into C memory
  memmove: { params: ["buf", "ptr", "usize"], result: "ptr" }, // out of C memory
} as const satisfies SymbolTable;
let libcCopies: Symbols<typeof COPY_SYMBOLS> | null | undefined;

function copies(): Symbols<typeof COPY_SYMBOLS> | null {
  if (libcCopies === undefined) {
    libcCopies = null; // elsewhere (Windows), or if libc will not load: nativeView
    if (os === "linux" || os === "darwin") {
      try {
        libcCopies = openLibrary(libcPath(), COPY_SYMBOLS).symbols;
      } catch { /* keep the fallback */ }
    }
  }
  return libcCopies;
}

/** Copies all of `src` into C memory at `p`, which must have room for it. */
export function copyToNative(p: Ptr, src: Uint8Array): void {
  if (src.length === 0) return;
  if (isNull(p)) throw new RangeError("copyToNative: null pointer");
  const c = copies();
  if (c) c.memcpy(p, src, src.length);
  else nativeView(p, src.length).set(src);
}

/** Fills all of `dest` from C memory at `p`, which must hold that many bytes. */
export function copyFromNative(dest: Uint8Array, p: Ptr): void {
  if (dest.length === 0) return;
  if (isNull(p)) throw new RangeError("copyFromNative: null pointer");
  const c = copies();
  if (c) c.memmove(dest, p, dest.length);
  else dest.set(nativeView(p, dest.length));
}

function libcPath(): string {
  return os === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6";
}

let dl: NativeLibrary<typeof DL_SYMBOLS> | undefined;
const DL_SYMBOLS = {
  dlopen: { params: ["buf", "i32"], result: "ptr" }, // void *dlopen(const char *file, int mode)
  dlsym: { params: ["ptr", "buf"], result: "ptr" }, // void *dlsym(void *handle, const char *name)
} as const satisfies SymbolTable;

/**
 * The address of the function `name` exported by the library at `path`, which
 * must already be loaded (by {@link openLibrary}). For C APIs that take a
 * library's own functions as pointers (mbedTLS's `f_rng`, cookie and ticket
 * callbacks). Deno has no such accessor, so both runtimes ask libc's `dlsym`.
 * Throws when the library is not loaded or lacks the symbol.
 */
export function symbolAddress(path: string, name: string): Ptr {
  if (os !== "linux" && os !== "darwin") {
    throw new Error(`symbolAddress: not implemented on ${os}`);
  }
  dl ??= openLibrary(libcPath(), DL_SYMBOLS);
  const RTLD_NOW = 2;
  const RTLD_NOLOAD = os === "darwin" ? 0x10 : 4;
  const handle = dl.symbols.dlopen(cstr(path), RTLD_NOW | RTLD_NOLOAD);
  if (isNull(handle)) throw new Error(`symbolAddress: ${path} is not loaded`);
  const p = dl.symbols.dlsym(handle, cstr(name));
  if (isNull(p)) throw new Error(`symbolAddress: ${name} not found in ${path}`);
  return p;
}

/**
 * Encodes `s` as a NUL-terminated C string. ASCII (host names, algorithm and
 * property names) is copied here: TextEncoder is an op call in Deno, ~1.5 µs.
 */
export function cstr(s: string): Uint8Array {
  const out = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return utf8Cstr(s);
    out[i] = c;
  }
  return out;
}

function utf8Cstr(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

const encoder = new TextEncoder();

/** Reads an environment variable; missing or not permitted reads as undefined. */
export function env(name: string): string | undefined {
  try {
    if (bun) return g.process?.env?.[name] || undefined;
    return D.env.get(name) || undefined;
  } catch {
    return undefined; // Deno without --allow-env: not an error
  }
}

/** The operating system: "linux", "darwin", "windows", ... */
export const os: string = bun
  ? String(g.process?.platform ?? "linux").replace("win32", "windows")
  : String(D.build.os);

/** The CPU architecture: "x86_64" or "aarch64". */
export const arch: string = bun
  ? (g.process?.arch === "arm64" ? "aarch64" : "x86_64")
  : String(D.build.arch);
