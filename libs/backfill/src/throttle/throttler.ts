/** What a {@link Throttler} says: go on, or pause and why. */
export type ThrottleDecision = { readonly throttle: false } | { readonly throttle: true; readonly reason: string };

/**
 * One source of back-pressure for the backfill (gh-ost's collectors, spirit's `Throttler`): it
 * looks at one signal (a server's load, a replica's lag) and says whether copying should pause.
 * A check only reads; the {@link ThrottleGate} calls it on its own schedule and the copier only
 * observes the gate.
 *
 * @example
 * const t: Throttler = new ThreadsRunningThrottler({ db: sourcePool, maxThreadsRunning: 40 });
 * const d = await t.check(); // { throttle: true, reason: 'source Threads_running 57 > max 40' }
 */
export interface Throttler {
  /**
   * Stable name, used as the key of the time spent throttled (`throttle_stats.reason`), so it must
   * not contain changing values (those go in the decision's `reason`).
   */
  readonly name: string;
  check(): Promise<ThrottleDecision>;
}

/** The decision that lets copying go on. */
export const OPEN: ThrottleDecision = Object.freeze({ throttle: false });

/** A decision that pauses copying for `reason`. */
export function throttleFor(reason: string): ThrottleDecision {
  return { throttle: true, reason };
}
