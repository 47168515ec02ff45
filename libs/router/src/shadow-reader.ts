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

/** Rows as sorted JSON lines (order-insensitive comparison unless the query orders). */
function normaliseRows(rows: readonly unknown[], ordered: boolean): string[] {
  const lines = rows.map((row) => JSON.stringify(normalise(row)));
  return ordered ? lines : lines.sort();
}

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

  maybeCompare(table: string, compiled: CompiledQuery, rows: readonly unknown[], other: RouterPool, covered: CoveredTable): void {
    if (this.#sampleRate === 0 || Math.random() >= this.#sampleRate) return;
    if (this.#running.size >= this.#maxConcurrent) {
      this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: 'skipped' });
      return;
    }
    const ordered = (compiled.query as unknown as { orderBy?: unknown }).orderBy !== undefined;
    const task = (async () => {
      try {
        const connection = await acquire(other);
        let theirs: unknown;
        try {
          theirs = await run(connection, compiled.sql, compiled.parameters);
        } finally {
          connection.release();
        }
        const mine = normaliseRows(rows, ordered);
        const other2 = normaliseRows(Array.isArray(theirs) ? theirs : [], ordered);
        const same = mine.length === other2.length && mine.every((line, i) => line === other2[i]);
        this.#metrics.increment('cleave_router_shadow_reads_total', { table, result: same ? 'match' : 'mismatch' });
        if (same) this.#tally?.record(covered.migration, 'match');
        else {
          const onlyMine = mine.filter((l) => !other2.includes(l));
          const onlyTheirs = other2.filter((l) => !mine.includes(l));
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
