/** Rows copied per unit over time, sampled by the dashboard, for the rows/s chart. */
export interface ProgressSample {
  readonly at: number;
  readonly rowsCopied: Readonly<Record<string, number>>;
}

/** A bounded ring of samples per migration (memory stays flat whatever runs for how long). */
export class ProgressHistory {
  readonly #samples = new Map<string, ProgressSample[]>();
  readonly #max: number;

  constructor(maxSamples = 300) {
    this.#max = maxSamples;
  }

  record(migrationId: string, sample: ProgressSample): void {
    const list = this.#samples.get(migrationId) ?? [];
    const last = list[list.length - 1];
    if (last && sample.at - last.at < 500) return;
    list.push(sample);
    if (list.length > this.#max) list.splice(0, list.length - this.#max);
    this.#samples.set(migrationId, list);
  }

  /** Rows/s per unit between consecutive samples. */
  rates(migrationId: string): Array<{ at: number; rowsPerSecond: Record<string, number> }> {
    const list = this.#samples.get(migrationId) ?? [];
    const out: Array<{ at: number; rowsPerSecond: Record<string, number> }> = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      const seconds = (b.at - a.at) / 1000;
      const rowsPerSecond: Record<string, number> = {};
      for (const [unit, rows] of Object.entries(b.rowsCopied)) rowsPerSecond[unit] = Math.max(0, (rows - (a.rowsCopied[unit] ?? 0)) / seconds);
      out.push({ at: b.at, rowsPerSecond });
    }
    return out;
  }
}
