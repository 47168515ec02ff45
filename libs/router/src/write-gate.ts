import { RouterError } from './router-error.js';

/** Decides whether writes to a migration's tables may run now. */
export type WriteAdmission = (migrationId: string) => boolean;

interface Waiter {
  readonly ids: readonly string[];
  readonly since: number;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Holds writes while a fence (or a lapsed lease) forbids them, and counts in-flight writes per
 * migration so that a fence can be acknowledged once they finished. Held writes are queued (at
 * most `maxHeld`), released in arrival order, and fail with `write-held-timeout` after `holdTimeoutMs`.
 */
export class WriteGate {
  readonly #allowed: WriteAdmission;
  readonly #holdTimeoutMs: number;
  readonly #maxHeld: number;
  readonly #inFlight = new Map<string, number>();
  readonly #idle = new Map<string, Array<() => void>>();
  #waiters: Waiter[] = [];
  readonly #drained: Array<() => void> = [];
  readonly #onHeld: (ms: number, migrationIds: readonly string[]) => void;

  constructor(config: { allowed: WriteAdmission; holdTimeoutMs: number; maxHeld: number; onHeld: (ms: number, migrationIds: readonly string[]) => void }) {
    this.#allowed = config.allowed;
    this.#holdTimeoutMs = config.holdTimeoutMs;
    this.#maxHeld = config.maxHeld;
    this.#onHeld = config.onHeld;
  }

  /** Writes waiting now. */
  get held(): number {
    return this.#waiters.length;
  }

  /** In-flight writes of a migration. */
  inFlight(migrationId: string): number {
    return this.#inFlight.get(migrationId) ?? 0;
  }

  /** Waits until writes to these migrations are allowed, then counts one in-flight write for each. */
  async enter(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    if (this.#waiters.length === 0 && ids.every((id) => this.#allowed(id))) {
      this.#count(ids, 1);
      return;
    }
    if (this.#waiters.length >= this.#maxHeld) {
      throw new RouterError('write-queue-full', `${this.#waiters.length} writes are already held by a fence; refusing more`, {
        hint: 'Raise fence.maxHeldWrites, or shorten the switch.',
      });
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ids,
        since: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(
            new RouterError('write-held-timeout', `a write to migration ${ids.join(', ')} was held ${this.#holdTimeoutMs} ms by a fence or a lapsed control-plane lease and was not run`, {
              hint: 'The write did not run: retry it. Check the coordinator (a fence that does not end) and the Redis connection of this router.',
            }),
          );
        }, this.#holdTimeoutMs),
      };
      waiter.timer.unref?.();
      this.#waiters.push(waiter);
    });
  }

  /** Ends one in-flight write for each migration. */
  exit(ids: readonly string[]): void {
    this.#count(ids, -1);
  }

  /** Resolves once no write of the migration is in flight. */
  idle(migrationId: string): Promise<void> {
    if (this.inFlight(migrationId) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#idle.get(migrationId) ?? [];
      list.push(resolve);
      this.#idle.set(migrationId, list);
    });
  }

  /** Resolves once no write of any migration is in flight. */
  drained(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Re-evaluates held writes (after a fence lifted, an epoch applied, a lease regained). */
  recheck(): void {
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      // Arrival order per migration: a later write never overtakes an earlier held one.
      if (still.some((w) => w.ids.some((id) => waiter.ids.includes(id))) || !waiter.ids.every((id) => this.#allowed(id))) {
        still.push(waiter);
        continue;
      }
      clearTimeout(waiter.timer);
      this.#count(waiter.ids, 1);
      this.#onHeld(performance.now() - waiter.since, waiter.ids);
      waiter.resolve();
    }
    this.#waiters = still;
  }

  /** Fails every held write (shutdown). */
  close(error: Error): void {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters = [];
  }

  #count(ids: readonly string[], delta: number): void {
    for (const id of ids) {
      const n = (this.#inFlight.get(id) ?? 0) + delta;
      if (n > 0) {
        this.#inFlight.set(id, n);
        continue;
      }
      this.#inFlight.delete(id);
      const list = this.#idle.get(id);
      if (list !== undefined) {
        this.#idle.delete(id);
        for (const resolve of list) resolve();
      }
    }
    if (this.#inFlight.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }
}
