/**
 * One-at-a-time runs of a connection's reads or writes.
 *
 * @module
 */

import { WRITTEN } from "./transport.ts";

/**
 * Runs operations one at a time in call order. On an idle lane the next one
 * starts at once, and one that finishes synchronously (returns a non-promise
 * or throws) leaves the lane idle: no promise at all in the common case.
 */
export class Lane {
  #tail: Promise<unknown> = WRITTEN;
  #pending = 0;
  readonly #done = () => {
    this.#pending--;
  };

  run<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#pending !== 0) return this.#track(this.#tail.then(fn, fn));
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    return r instanceof Promise ? this.#track(r) : r;
  }

  #track<T>(next: Promise<T>): Promise<T> {
    this.#pending++;
    this.#tail = next.then(this.#done, this.#done);
    return next;
  }
}
