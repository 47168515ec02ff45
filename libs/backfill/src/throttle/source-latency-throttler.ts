import { CleaveError } from '@cleave/core';
import { OPEN, throttleFor, type ThrottleDecision, type Throttler } from './throttler.js';

/** A connection the probe runs on (a mysql2 promise pool connection). */
export interface ProbeConnection {
  query(sql: string): Promise<unknown>;
  release(): void;
}

/** A pool the probe borrows one connection from per check (a mysql2 promise pool). */
export interface ProbePool {
  getConnection(): Promise<ProbeConnection>;
}

/** Construction settings of {@link SourceLatencyThrottler}. */
export interface SourceLatencyThrottlerConfig {
  /** The source pool. */
  readonly db: ProbePool;
  /**
   * Throttle while the probe's latency is above `ratio` x its baseline (the lowest latency seen
   * recently, when the server was idle). @defaultValue 2
   */
  readonly ratio?: number;
  /** ... and above baseline + this many milliseconds (sub-millisecond noise never throttles). @defaultValue 0.5 */
  readonly minExtraMs?: number;
  /** Probe queries per check; their median counts. @defaultValue 5 */
  readonly probes?: number;
  /** The probe: a cheap statement the foreground also pays for. @defaultValue 'SELECT 1' */
  readonly probeSql?: string;
  /** How long a baseline sample is remembered, ms. @defaultValue 300_000 */
  readonly baselineWindowMs?: number;
  /** Which server, for the reason text. @defaultValue 'source' */
  readonly server?: string;
  /** @defaultValue `${server}-latency` */
  readonly name?: string;
  /** Clock (tests). @defaultValue performance.now */
  readonly now?: () => number;
}

/**
 * Pauses the backfill while the source answers slower than usual: the median latency of a few
 * cheap probe queries (the foreground pays the same queueing for CPU, disk and locks) against a
 * baseline, the lowest median seen in the last few minutes (gh-ost's `--max-lag-millis` idea,
 * applied to the source's own responsiveness). Time spent waiting for a pool connection is not
 * counted, only the query.
 *
 * @example
 * new SourceLatencyThrottler({ db: sourcePool, ratio: 2 });
 */
export class SourceLatencyThrottler implements Throttler {
  readonly name: string;
  readonly #db: ProbePool;
  readonly #ratio: number;
  readonly #minExtraMs: number;
  readonly #probes: number;
  readonly #sql: string;
  readonly #windowMs: number;
  readonly #server: string;
  readonly #now: () => number;
  /** (time, median) samples that may still be the baseline, increasing in median. */
  #baseline: Array<{ at: number; ms: number }> = [];

  constructor(config: SourceLatencyThrottlerConfig) {
    this.#db = config.db;
    this.#ratio = config.ratio ?? 2;
    this.#minExtraMs = config.minExtraMs ?? 0.5;
    this.#probes = config.probes ?? 5;
    this.#sql = config.probeSql ?? 'SELECT 1';
    this.#windowMs = config.baselineWindowMs ?? 300_000;
    this.#server = config.server ?? 'source';
    this.#now = config.now ?? (() => performance.now());
    this.name = config.name ?? `${this.#server}-latency`;
    if (!(this.#ratio > 1)) throw new CleaveError('CONFIG_INVALID', `ratio must be greater than 1, got ${String(this.#ratio)}`);
    if (!(this.#minExtraMs >= 0)) throw new CleaveError('CONFIG_INVALID', `minExtraMs must be >= 0, got ${String(this.#minExtraMs)}`);
    if (!Number.isInteger(this.#probes) || this.#probes < 1) throw new CleaveError('CONFIG_INVALID', `probes must be a positive integer, got ${String(this.#probes)}`);
  }

  /** The current baseline in ms (NaN before the first check). */
  get baselineMs(): number {
    return this.#baseline[0]?.ms ?? Number.NaN;
  }

  async check(): Promise<ThrottleDecision> {
    const conn = await this.#db.getConnection();
    const samples: number[] = [];
    try {
      for (let i = 0; i < this.#probes; i += 1) {
        const t0 = this.#now();
        await conn.query(this.#sql);
        samples.push(this.#now() - t0);
      }
    } finally {
      conn.release();
    }
    return this.decide(median(samples));
  }

  /** Records one measured median latency and decides (exposed for tests). */
  decide(ms: number): ThrottleDecision {
    const at = this.#now();
    // Monotonic deque: the front is the minimum of the window.
    while (this.#baseline.length > 0 && (this.#baseline[this.#baseline.length - 1] as { ms: number }).ms >= ms) this.#baseline.pop();
    this.#baseline.push({ at, ms });
    while (this.#baseline.length > 1 && at - (this.#baseline[0] as { at: number }).at > this.#windowMs) this.#baseline.shift();
    const base = this.baselineMs;
    const limit = Math.max(base * this.#ratio, base + this.#minExtraMs);
    return ms > limit ? throttleFor(`${this.#server} probe latency ${ms.toFixed(2)} ms > ${limit.toFixed(2)} ms (baseline ${base.toFixed(2)} ms)`) : OPEN;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
