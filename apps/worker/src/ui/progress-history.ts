import type { BackfillTableRecord } from '@cleave/control';

/** Rows copied per unit at one moment. */
export interface ProgressSample {
  readonly at: number;
  readonly rowsCopied: Readonly<Record<string, number>>;
}

/** One point of the rows/s chart: the rate per unit between the previous sample and this one. */
export interface RatePoint {
  readonly at: number;
  readonly rowsPerSecond: Readonly<Record<string, number>>;
}

interface Series {
  samples: ProgressSample[];
  /** The least time between two kept samples, ms; doubles every time the series is thinned. */
  spacingMs: number;
}

/**
 * The whole backfill of each migration as samples of rows copied, kept by the worker (not the
 * browser), so a page opened at the end shows the copy from its start. Bounded: when a series
 * reaches `maxSamples` every other sample goes and the spacing doubles, so a copy of any length
 * fits in the same memory at a coarser resolution.
 */
export class ProgressHistory {
  readonly #series = new Map<string, Series>();
  readonly #maxSamples: number;
  readonly #minSpacingMs: number;

  constructor(options: { maxSamples?: number; minSpacingMs?: number } = {}) {
    this.#maxSamples = Math.max(4, options.maxSamples ?? 240);
    this.#minSpacingMs = options.minSpacingMs ?? 1000;
  }

  /** Whether a migration has samples. */
  has(migrationId: string): boolean {
    return this.#series.has(migrationId);
  }

  record(migrationId: string, sample: ProgressSample): void {
    const series = this.#series.get(migrationId) ?? { samples: [], spacingMs: this.#minSpacingMs };
    this.#series.set(migrationId, series);
    const list = series.samples;
    const last = list[list.length - 1];
    const beforeLast = list[list.length - 2];
    if (last !== undefined && sample.at <= last.at) return;
    // The newest sample always stands last; it replaces the previous last one while that one is
    // closer than the spacing to the sample before it.
    if (last !== undefined && beforeLast !== undefined && last.at - beforeLast.at < series.spacingMs) list[list.length - 1] = sample;
    else list.push(sample);
    if (list.length > this.#maxSamples) {
      // Keep the first, the last and every other one between.
      series.samples = list.filter((_, i) => i === 0 || i === list.length - 1 || i % 2 === 0);
      series.spacingMs *= 2;
    }
  }

  /**
   * Starts a migration's series from what the control store knows when this worker first sees
   * it mid-copy or after it (a restart): each unit at 0 rows when its copy started, copied
   * linearly until it finished (or now). The chart then shows the copy's average rates for
   * the time before this worker watched.
   */
  seed(migrationId: string, tables: readonly BackfillTableRecord[], now: number): void {
    if (this.#series.has(migrationId)) return;
    const started = tables.flatMap((t) => (t.copyStartedAt !== null && t.rowsCopied > 0 ? [{ table: t.table, rows: t.rowsCopied, from: t.copyStartedAt.getTime(), to: t.finishedAt?.getTime() ?? now }] : []));
    if (started.length === 0) return;
    const times = [...new Set(started.flatMap((t) => [t.from, t.to]).filter((at) => at <= now))].sort((a, b) => a - b);
    for (const at of times) {
      const rowsCopied: Record<string, number> = {};
      for (const t of started) rowsCopied[t.table] = at <= t.from ? 0 : at >= t.to ? t.rows : Math.round((t.rows * (at - t.from)) / Math.max(1, t.to - t.from));
      this.record(migrationId, { at, rowsCopied });
    }
  }

  /** Rows/s per unit between consecutive samples, oldest first. */
  rates(migrationId: string): RatePoint[] {
    const list = this.#series.get(migrationId)?.samples ?? [];
    const out: RatePoint[] = [];
    for (const [i, b] of list.entries()) {
      const a = list[i - 1];
      if (a === undefined) continue;
      const seconds = Math.max(0.001, (b.at - a.at) / 1000);
      const rowsPerSecond: Record<string, number> = {};
      for (const [unit, rows] of Object.entries(b.rowsCopied)) rowsPerSecond[unit] = Math.max(0, (rows - (a.rowsCopied[unit] ?? 0)) / seconds);
      out.push({ at: b.at, rowsPerSecond });
    }
    return out;
  }

  /** Forgets a migration (it is gone from the control store). */
  forget(migrationId: string): void {
    this.#series.delete(migrationId);
  }
}
