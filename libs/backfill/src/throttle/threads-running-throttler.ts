import { readGlobalStatus, requireCount, type StatusQueryable } from './read-global-status.js';
import { OPEN, throttleFor, type ThrottleDecision, type Throttler } from './throttler.js';

/** Construction settings of {@link ThreadsRunningThrottler}. */
export interface ThreadsRunningThrottlerConfig {
  /** A pool (or connection) on the server to watch. */
  readonly db: StatusQueryable;
  /**
   * Throttle while `Threads_running` is above this. The check's own statement counts as one
   * running thread, so 0 always throttles.
   */
  readonly maxThreadsRunning: number;
  /** Which server, for the reason text. @defaultValue 'source' */
  readonly server?: string;
  /** @defaultValue `${server}-threads-running` */
  readonly name?: string;
}

/**
 * Pauses the backfill while the source is busy: `SHOW GLOBAL STATUS LIKE 'Threads_running'`
 * above a threshold (gh-ost's `--max-load=Threads_running=N`).
 *
 * @example
 * new ThreadsRunningThrottler({ db: sourcePool, maxThreadsRunning: 40 });
 */
export class ThreadsRunningThrottler implements Throttler {
  readonly name: string;
  readonly #db: StatusQueryable;
  readonly #max: number;
  readonly #server: string;

  constructor(config: ThreadsRunningThrottlerConfig) {
    this.#db = config.db;
    this.#max = requireCount(config.maxThreadsRunning, 'maxThreadsRunning');
    this.#server = config.server ?? 'source';
    this.name = config.name ?? `${this.#server}-threads-running`;
  }

  async check(): Promise<ThrottleDecision> {
    const running = await readGlobalStatus(this.#db, 'Threads_running');
    return running > this.#max ? throttleFor(`${this.#server} Threads_running ${running} > max ${this.#max}`) : OPEN;
  }
}
