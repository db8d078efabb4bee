/**
 * Handshake deadlines on one shared timer. A listener gives every connection a
 * handshake timeout (30 s by default) and nearly all of them finish in
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
}

// deno-lint-ignore no-explicit-any
type Timer = any;

const live = new Set<Deadline>();
let timer: Timer = undefined;
/** When `timer` fires; Infinity when there is none. */
let timerAt = Infinity;

/** Calls `onExpire` once, `ms` from now, unless cancelled first. */
export function addDeadline(ms: number, onExpire: () => void): Deadline {
  const d: Deadline = { at: performance.now() + ms, onExpire };
  live.add(d);
  if (d.at < timerAt) arm(d.at);
  else timer.ref?.();
  return d;
}

/** Drops a deadline; cancelling one that fired or was cancelled does nothing. */
export function cancelDeadline(d: Deadline): void {
  // An idle timer must not keep the process alive; unref costs less than clearing it.
  if (live.delete(d) && live.size === 0) timer?.unref?.();
}

/** The longest delay timers take (2^31 - 1 ms); a later deadline is re-armed when it fires. */
const MAX_DELAY = 0x7fffffff;

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.min(MAX_DELAY, Math.max(1, Math.ceil(at - performance.now()))));
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
    try {
      d.onExpire();
    } catch { /* one failing callback must not stop the others */ }
  }
  if (next !== Infinity) arm(next);
}
