/**
 * OpenSSL's memory BIO (`BIO_s_mem`) behind {@link NativeMemoryBio}: the same
 * object the TLS engines use for their ciphertext queues, owned by one
 * TypeScript wrapper that frees it exactly once.
 *
 * @module
 */

import { isNull, type Ptr } from "../../ffi/runtime.ts";
import { BIO_CTRL } from "../../ffi/openssl.ts";
import { TlsError } from "../../errors.ts";
import type { NativeMemoryBio } from "../backend.ts";
import { detailOf, drainErrors } from "./errors.ts";
import { type OpenSsl, openssl } from "./lib.ts";

/** `BIO_read`/`BIO_write` take an `int` length: move bytes in slices below 2^31. */
const MAX_IO = 1 << 30;

/** What the leak backstop needs to free a BIO a user forgot. */
interface Native {
  o: OpenSsl;
  bio: Ptr;
}

const registry = new FinalizationRegistry<Native>((n) => {
  n.o.crypto.BIO_free(n.bio);
});

/** A `BIO_s_mem` owned by JS. Use {@link createOpenSslMemoryBio}. */
export class OpenSslMemoryBio implements NativeMemoryBio {
  #n: Native | null;

  /** @internal */
  constructor(o: OpenSsl) {
    o.crypto.ERR_clear_error();
    const bio = o.crypto.BIO_new(o.crypto.BIO_s_mem());
    if (isNull(bio)) {
      const detail = detailOf(drainErrors(o));
      throw new TlsError("INVALID_OPTION", "BIO_new(BIO_s_mem()) failed: out of memory?", {
        detail,
      });
    }
    this.#n = { o, bio };
    registry.register(this, this.#n, this);
  }

  #live(): Native {
    if (!this.#n) throw new TlsError("CLOSED", "the memory BIO is closed");
    return this.#n;
  }

  write(data: Uint8Array): number {
    const { o, bio } = this.#live();
    let off = 0;
    while (off < data.length) {
      const part = data.subarray(off, Math.min(data.length, off + MAX_IO));
      o.crypto.ERR_clear_error();
      const n = o.crypto.BIO_write(bio, part, part.length);
      if (n <= 0) {
        throw new TlsError("PROTOCOL", "BIO_write failed", { detail: detailOf(drainErrors(o)) });
      }
      off += n;
    }
    return off;
  }

  read(into: Uint8Array): number {
    const { o, bio } = this.#live();
    let off = 0;
    while (off < into.length) {
      const want = Math.min(into.length - off, MAX_IO);
      // An empty mem BIO answers -1 (retry); never read past what is pending.
      if (Number(o.crypto.BIO_ctrl(bio, BIO_CTRL.PENDING, 0n, null)) <= 0) break;
      const n = o.crypto.BIO_read(bio, into.subarray(off, off + want), want);
      if (n <= 0) break;
      off += n;
    }
    return off;
  }

  pending(): number {
    const n = this.#n;
    if (!n) return 0;
    return Number(n.o.crypto.BIO_ctrl(n.bio, BIO_CTRL.PENDING, 0n, null));
  }

  free(): void {
    const n = this.#n;
    if (!n) return;
    this.#n = null;
    registry.unregister(this);
    n.o.crypto.BIO_free(n.bio);
  }
}

/** A new `BIO_s_mem` on the process's libcrypto (loaded once). */
export function createOpenSslMemoryBio(o: OpenSsl = openssl()): NativeMemoryBio {
  return new OpenSslMemoryBio(o);
}
