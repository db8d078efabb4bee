/**
 * Deadlines (handshake timeouts, close()'s grace period) on one shared timer.
 * A listener gives every connection a handshake timeout (30 s by default) and
 * nearly all of them finish in
 * milliseconds: a timer set and cleared per connection cost a few µs of each
 * handshake on Deno, whose global `setTimeout` is Node's. Here a deadline is a
 * set entry, and one timer wakes at the earliest one.
 *
 * @module
 */

/** A pending deadline; pass it to {@link cancelDeadline} once the work is done. */
export interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
  /** Whether it keeps the process alive until it fires (see {@link addDeadline}). */
  readonly keepsAlive: boolean;
}

// deno-lint-ignore no-explicit-any
type Timer = any;

const live = new Set<Deadline>();
/** How many of `live` keep the process alive: the timer is ref'd while there are any. */
let holding = 0;
let timer: Timer = undefined;
/** When `timer` fires; Infinity when there is none. */
let timerAt = Infinity;

/**
 * Calls `onExpire` once, `ms` from now, unless cancelled first. With
 * `keepsAlive` false the deadline alone does not keep the process running: for
 * work that something else keeps alive anyway (close()'s grace period: its
 * pending socket write), nor touches the timer's ref count.
 */
export function addDeadline(ms: number, onExpire: () => void, keepsAlive = true): Deadline {
  const d: Deadline = { at: performance.now() + ms, onExpire, keepsAlive };
  live.add(d);
  if (keepsAlive) holding++;
  if (d.at < timerAt) arm(d.at);
  else if (keepsAlive && holding === 1) timer.ref?.();
  return d;
}

/** Drops a deadline; cancelling one that fired or was cancelled does nothing. */
export function cancelDeadline(d: Deadline): void {
  if (!live.delete(d) || !d.keepsAlive) return;
  // An idle timer must not keep the process alive; unref costs less than clearing it.
  if (--holding === 0) timer?.unref?.();
}

/** The longest delay timers take (2^31 - 1 ms); a later deadline is re-armed when it fires. */
const MAX_DELAY = 0x7fffffff;

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.min(MAX_DELAY, Math.max(1, Math.ceil(at - performance.now()))));
  if (holding === 0) timer.unref?.();
}

function expire(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const d of live) {
    if (d.at > now) {
      next = Math.min(next, d.at);
      continue;
    }
    live.delete(d);
    if (d.keepsAlive) holding--;
    try {
      d.onExpire();
    } catch { /* one failing callback must not stop the others */ }
  }
  if (next !== Infinity) arm(next);
}
