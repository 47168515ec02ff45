import type { CompiledQuery } from 'kysely';
import type { RouterLog } from './router-config.js';
import type { RouterMetrics } from './router-metrics.js';
import { acquire, run, type RouterPool } from './router-pool.js';
import type { CoveredTable } from './routing-table.js';
import type { ShadowReadTally } from './shadow-read-tally.js';

/** A row normalised for comparison: Buffers as hex, bigints and numbers as text, keys sorted. */
function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = normalise((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * Rows as sorted JSON lines: compared as sets, since rows that tie in an ORDER BY may come in
 * either order on each side.
 */
function normaliseRows(rows: readonly unknown[]): string[] {
  return rows.map((row) => JSON.stringify(normalise(row))).sort();
}

/**
 * Milliseconds between the re-reads of a shadow read that differed (both sides at once each time):
 * long enough together (about 1 s) for a shadow apply or the capture under load to land.
 */
export const RACE_RECHECK_DELAYS_MS: readonly number[] = [100, 300, 600];

const sameLines = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((line, i) => line === b[i]);

/**
 * Shadow reads: a sample of routed reads runs again on the other side, after the caller got its
 * result, and the two results are compared after normalisation. Mismatches are counted and logged
 * (with the differing rows), never changing the caller's result. With a tally, every comparison is
 * also counted per migration and epoch for the control plane (the `shadow-read-mismatches-zero`
 * precondition reads the sums).
 */
export class ShadowReader {
  readonly #sampleRate: number;
  readonly #maxConcurrent: number;
  readonly #log: RouterLog;
  readonly #metrics: RouterMetrics;
  readonly #running = new Set<Promise<void>>();
  readonly #tally: ShadowReadTally | undefined;

  constructor(config: { sampleRate: number; maxConcurrent: number; log: RouterLog; metrics: RouterMetrics; tally?: ShadowReadTally }) {
    this.#sampleRate = Math.min(1, Math.max(0, config.sampleRate));
    this.#maxConcurrent = config.maxConcurrent;
    this.#log = config.log;
    this.#metrics = config.metrics;
    this.#tally = config.tally;
  }

  /**
   * Compares a routed read (`rows`, served by `served`) with the same read on `other`, off the
   * caller's path. A difference is counted only if it lasts: a write in flight between the two
   * reads (the primary committed, its shadow apply or the capture a few ms behind) shows as a
   * difference once, so both sides are read again, together, after each delay of
   * {@link RACE_RECHECK_DELAYS_MS}; equal results then make it a race (`raced`), not a mismatch.
   */
  maybeCompare(table: string, compiled: CompiledQuery, rows: readonly unknown[], served: RouterPool, other: RouterPool, covered: CoveredTable): void {
    if (this.#sampleRate === 0 || Math.random() >= this.#sampleRate) return;
    if (this.#running.size >= this.#maxConcurrent) {
      this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: 'skipped' });
      return;
    }
    const { orderBy, limit } = compiled.query as unknown as { orderBy?: unknown; limit?: unknown };
    if (limit !== undefined && orderBy === undefined) {
      // Which rows a LIMIT without ORDER BY returns is up to each server: nothing to compare.
      this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: 'skipped' });
      return;
    }
    const read = async (pool: RouterPool): Promise<string[]> => {
      const connection = await acquire(pool);
      try {
        const result = await run(connection, compiled.sql, compiled.parameters);
        return normaliseRows(Array.isArray(result) ? result : []);
      } finally {
        connection.release();
      }
    };
    const task = (async () => {
      try {
        let mine = normaliseRows(rows);
        let theirs = await read(other);
        let same = sameLines(mine, theirs);
        let raced = false;
        for (const delay of same ? [] : RACE_RECHECK_DELAYS_MS) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          [mine, theirs] = await Promise.all([read(served), read(other)]);
          if (sameLines(mine, theirs)) {
            same = raced = true;
            break;
          }
        }
        this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: raced ? 'raced' : same ? 'match' : 'mismatch' });
        if (same) this.#tally?.record(covered.migration, 'match');
        else {
          const onlyMine = mine.filter((l) => !theirs.includes(l));
          const onlyTheirs = theirs.filter((l) => !mine.includes(l));
          this.#tally?.record(covered.migration, 'mismatch', { table, sql: compiled.sql, servedOnly: onlyMine.length, otherOnly: onlyTheirs.length });
          this.#log({ level: 'warn', message: 'shadow read mismatch', migrationId: covered.migration.id, table, sql: compiled.sql, servedRows: onlyMine.slice(0, 5), otherSideRows: onlyTheirs.slice(0, 5) });
        }
      } catch (error) {
        this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: 'error' });
        this.#tally?.record(covered.migration, 'error');
        this.#log({ level: 'debug', message: 'shadow read failed', table, error: (error as Error).message });
      }
    })();
    this.#running.add(task);
    void task.finally(() => this.#running.delete(task));
  }

  /** Resolves when the shadow reads in flight finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.#running]);
  }
}
