import { readGlobalStatus, requireCount, type StatusQueryable } from './read-global-status.js';
import { OPEN, throttleFor, type ThrottleDecision, type Throttler } from './throttler.js';

/** Construction settings of {@link TargetLoadThrottler}. */
export interface TargetLoadThrottlerConfig {
  /** A pool (or connection) on the target server. */
  readonly db: StatusQueryable;
  /** The target's name (plan target or server name), for the reason text and the name. */
  readonly target: string;
  /** Throttle while the target's `Threads_running` is above this (the check itself counts as 1). */
  readonly maxThreadsRunning: number;
  /** @defaultValue `target-load-${target}` */
  readonly name?: string;
}

/**
 * Pauses the backfill while a target is busy (its `Threads_running` above a threshold): the
 * target already serves dual writes and, after the switch, the reads it took over.
 *
 * @example
 * new TargetLoadThrottler({ db: target1Pool, target: 'mail', maxThreadsRunning: 30 });
 */
export class TargetLoadThrottler implements Throttler {
  readonly name: string;
  readonly #db: StatusQueryable;
  readonly #max: number;
  readonly #target: string;

  constructor(config: TargetLoadThrottlerConfig) {
    this.#db = config.db;
    this.#max = requireCount(config.maxThreadsRunning, 'maxThreadsRunning');
    this.#target = config.target;
    this.name = config.name ?? `target-load-${config.target}`;
  }

  async check(): Promise<ThrottleDecision> {
    const running = await readGlobalStatus(this.#db, 'Threads_running');
    return running > this.#max ? throttleFor(`target ${this.#target} Threads_running ${running} > max ${this.#max}`) : OPEN;
  }
}
