import { CleaveError } from '@cleave/core';
import type { ControlStore } from '@cleave/control';
import type { Throttler } from './throttler.js';

/** Where a {@link ThrottleGate} records the time it kept copies waiting. */
export interface ThrottleReport {
  readonly store: Pick<ControlStore, 'addThrottled'>;
  readonly migrationId: string;
}

/** Construction settings of {@link ThrottleGate}. */
export interface ThrottleGateConfig {
  readonly throttlers: readonly Throttler[];
  /** Milliseconds between two rounds of checks. @defaultValue 1000 */
  readonly intervalMs?: number;
  /**
   * Milliseconds a check may take; a slower one throttles ("check timed out"), since a server too
   * busy to answer is no place to copy to. @defaultValue max(5000, 5 x intervalMs)
   */
  readonly checkTimeoutMs?: number;
  /** Records time spent throttled per throttler in the control store (`addThrottled`). */
  readonly report?: ThrottleReport;
  /** Called when the gate opens or closes, or the reasons change. */
  readonly onChange?: (state: ThrottleState) => void;
  /** Called when recording throttled time fails (the gate goes on). */
  readonly onError?: (error: unknown) => void;
}

/** One throttler that says pause, and why. */
export interface ActiveThrottle {
  /** The throttler's stable name (the key of the time spent throttled). */
  readonly name: string;
  /** Its reason, with the values that tripped it. */
  readonly reason: string;
}

/** What the last round of checks found. */
export interface ThrottleState {
  readonly throttled: boolean;
  readonly reasons: readonly ActiveThrottle[];
  /** When the last round finished; `null` before the first. */
  readonly checkedAt: Date | null;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

const OPEN_STATE: ThrottleState = Object.freeze({ throttled: false, reasons: Object.freeze([]), checkedAt: null });

function aborted(why: string): CleaveError<'ABORTED'> {
  return new CleaveError('ABORTED', why);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls every throttler at an interval and holds the result (gh-ost's throttler: collectors write
 * the shared state, `waitUntilOpen` only observes it). While it is closed and a copy waits on it,
 * the time is counted per throttler, in memory ({@link ThrottleGate.throttledMs}) and in the
 * control store. A check that fails or times out throttles too (fail closed), naming the error.
 *
 * One gate per migration: its throttlers watch that migration's servers.
 *
 * @example
 * const gate = new ThrottleGate({ throttlers: [sourceLoad, replicaLag], report: { store, migrationId } });
 * await gate.start();
 * await gate.waitUntilOpen(signal); // between chunks
 * await gate.close();
 */
export class ThrottleGate {
  readonly #throttlers: readonly Throttler[];
  readonly #intervalMs: number;
  readonly #checkTimeoutMs: number;
  readonly #report: ThrottleReport | undefined;
  readonly #onChange: ((state: ThrottleState) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;

  #state: ThrottleState = OPEN_STATE;
  readonly #waiters = new Set<Waiter>();
  /** Since when closed-with-waiters time is being counted, or null. */
  #countingSince: number | null = null;
  readonly #totals = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(config: ThrottleGateConfig) {
    const intervalMs = config.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 1) {
      throw new CleaveError('CONFIG_INVALID', `intervalMs must be a positive number of milliseconds, got ${String(intervalMs)}`);
    }
    this.#throttlers = Object.freeze([...config.throttlers]);
    this.#intervalMs = intervalMs;
    this.#checkTimeoutMs = config.checkTimeoutMs ?? Math.max(5000, 5 * intervalMs);
    this.#report = config.report;
    this.#onChange = config.onChange;
    this.#onError = config.onError;
  }

  /** The last round's result. Open until the first round ran. */
  get state(): ThrottleState {
    return this.#state;
  }

  /** Milliseconds copies waited on this gate, per throttler name, since it was created. */
  throttledMs(): Readonly<Record<string, number>> {
    this.#count(Date.now());
    return Object.freeze(Object.fromEntries(this.#totals));
  }

  /** Runs the first round of checks, then keeps polling every `intervalMs`. Idempotent. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(aborted('the throttle gate is closed'));
    this.#started ??= this.poll().then(() => this.#schedule());
    return this.#started;
  }

  /** Runs one round of checks now (rounds never overlap: a call during a round joins it). */
  poll(): Promise<void> {
    this.#polling ??= this.#round().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  /**
   * Resolves when the gate is open (at once when it is); rejects with `ABORTED` when `signal`
   * fires or the gate is closed meanwhile.
   */
  waitUntilOpen(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted('the copy was aborted'));
    if (this.#closed) return Promise.reject(aborted('the throttle gate is closed'));
    if (!this.#state.throttled) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#removeWaiter(waiter);
        reject(aborted('the copy was aborted while throttled'));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#waiters.size === 0) this.#countingSince = Date.now();
      this.#waiters.add(waiter);
    });
  }

  /** Stops polling, records the time counted so far, and rejects waiters with `ABORTED`. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#timer);
      this.#count(Date.now());
      this.#countingSince = null;
      for (const waiter of this.#waiters) waiter.reject(aborted('the throttle gate was closed while throttled'));
      this.#waiters.clear();
      await this.#polling?.catch(() => undefined);
      this.#flush();
    }
    await this.#flushing;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const decisions = await Promise.all(
      this.#throttlers.map(async (throttler): Promise<ActiveThrottle | null> => {
        try {
          const decision = await withTimeout(throttler.check(), this.#checkTimeoutMs, `${throttler.name} check`);
          return decision.throttle ? { name: throttler.name, reason: decision.reason } : null;
        } catch (error) {
          return { name: throttler.name, reason: `${throttler.name} check failed: ${error instanceof Error ? error.message : String(error)}` };
        }
      }),
    );
    if (this.#closed) return;
    const reasons = decisions.filter((d): d is ActiveThrottle => d !== null);
    const now = Date.now();
    this.#count(now);
    const previous = this.#state;
    this.#state = Object.freeze({ throttled: reasons.length > 0, reasons: Object.freeze(reasons), checkedAt: new Date(now) });
    if (!this.#state.throttled) {
      this.#countingSince = null;
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const waiter of waiters) waiter.resolve();
    }
    this.#flush();
    const describe = (s: ThrottleState) => s.reasons.map((r) => r.reason).join('\n');
    if (previous.throttled !== this.#state.throttled || describe(previous) !== describe(this.#state)) this.#onChange?.(this.#state);
  }

  /** Adds the time since the last count to every active reason, while copies are waiting. */
  #count(now: number): void {
    if (this.#countingSince === null || !this.#state.throttled) return;
    const ms = now - this.#countingSince;
    this.#countingSince = now;
    if (ms <= 0) return;
    for (const { name } of this.#state.reasons) {
      this.#totals.set(name, (this.#totals.get(name) ?? 0) + ms);
      this.#pending.set(name, (this.#pending.get(name) ?? 0) + ms);
    }
  }

  #removeWaiter(waiter: Waiter): void {
    if (!this.#waiters.delete(waiter)) return;
    if (this.#waiters.size === 0) {
      this.#count(Date.now());
      this.#countingSince = null;
    }
  }

  /** Sends the pending time to the store, one write at a time. */
  #flush(): void {
    const report = this.#report;
    if (report === undefined || this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(async () => {
      for (const [name, ms] of batch) {
        try {
          await report.store.addThrottled(report.migrationId, name, ms);
        } catch (error) {
          this.#onError?.(error);
        }
      }
    });
  }
}
