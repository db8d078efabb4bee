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
  /** An op in flight ends itself (see hold()) and has not called release() yet. */
  #held = false;
  readonly #done = () => {
    this.#pending--;
  };

  run<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#pending !== 0 || this.#held) return this.#track(this.#tail.then(fn, fn));
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    return r instanceof Promise ? this.#track(r) : r;
  }

  /** No op is in flight: the next one may run at once. */
  get idle(): boolean {
    return this.#pending === 0 && !this.#held;
  }

  /**
   * For an op that the caller ran itself on an idle lane and that ends itself:
   * the lane stays busy until the op calls {@link release}, just before `p`
   * settles, rather than watching `p` (a reaction per op, which
   * JavaScriptCore makes dear). Ops run() queues meanwhile start after `p`.
   */
  hold<T>(p: Promise<T>): Promise<T> {
    this.#held = true;
    this.#tail = p;
    return p;
  }

  /** The held op has ended, or is about to settle its promise. Ops run() queued call it too: a no-op then. */
  release(): void {
    this.#held = false;
  }

  #track<T>(next: Promise<T>): Promise<T> {
    this.#pending++;
    this.#tail = next.then(this.#done, this.#done);
    return next;
  }
}
