interface Sample {
  readonly at: number;
  readonly applied: number;
}

/**
 * Changes applied per second by each capture stream, from the totals the control store holds
 * (whichever worker runs the stream), sampled by the worker: the rate over the last samples, at
 * most `samples` of them (with a sample every 2 s, the last 10 s).
 */
export class CaptureRates {
  readonly #series = new Map<string, Sample[]>();
  readonly #samples: number;

  constructor(samples = 6) {
    this.#samples = Math.max(2, samples);
  }

  record(migrationId: string, streams: ReadonlyArray<{ readonly stream: string; readonly changesApplied: number }>, at: number): void {
    for (const s of streams) {
      const key = `${migrationId}/${s.stream}`;
      const list = this.#series.get(key) ?? [];
      const last = list.at(-1);
      if (last !== undefined && at <= last.at) continue;
      // A total that went down is another count (the stream's row was recreated): start over.
      const kept = last !== undefined && s.changesApplied < last.applied ? [] : list;
      kept.push({ at, applied: s.changesApplied });
      this.#series.set(key, kept.slice(-this.#samples));
    }
  }

  /** Changes per second over the kept samples; null before the second sample. */
  perSecond(migrationId: string, stream: string): number | null {
    const list = this.#series.get(`${migrationId}/${stream}`) ?? [];
    const first = list[0];
    const last = list.at(-1);
    if (first === undefined || last === undefined || last.at <= first.at) return null;
    return (last.applied - first.applied) / ((last.at - first.at) / 1000);
  }

  /** Forgets the streams of migrations not in `live` (gone from the control store, or no longer sampled). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.#series.keys()) if (!live.has(key.slice(0, key.indexOf('/')))) this.#series.delete(key);
  }
}
