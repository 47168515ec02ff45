import type { ControlStore } from '@cleave/control';
import { CaptureRates } from './capture-rates.js';
import { ProgressHistory } from './progress-history.js';

type SampledStore = Pick<ControlStore, 'listMigrations' | 'backfillTables' | 'captureStreams'>;

/**
 * Samples the rows copied of every migration whose backfill is under way, every `intervalMs`,
 * whether a page is open or not: the rows/s chart shows the whole copy. A migration is sampled
 * until its backfill is complete (one last sample then), not after. The changes its capture
 * streams applied are sampled too, from dual_write until it is finalized: their changes/s.
 */
export class ProgressSampler {
  readonly history = new ProgressHistory();
  readonly captureRates = new CaptureRates();
  readonly #store: SampledStore;
  readonly #intervalMs: number;
  /** Migrations whose copy was seen complete: nothing more to sample. */
  readonly #finished = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(store: SampledStore, intervalMs = 2000) {
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const tick = () => {
      if (this.#stopped) return;
      this.#round = this.sample().catch(() => undefined); // the next round retries
      this.#timer = setTimeout(() => void this.#round.then(tick), this.#intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** One round: every live migration's capture streams, and its copy work not yet seen finished. */
  async sample(now = Date.now()): Promise<void> {
    const migrations = await this.#store.listMigrations();
    const capturing = new Set<string>();
    for (const m of migrations) {
      if (m.cancelledAt !== null || m.phase === 'planned') continue;
      if (m.capture && m.phase !== 'finalized') {
        capturing.add(m.id);
        this.captureRates.record(m.id, await this.#store.captureStreams().list(m.id), now);
      }
      if (this.#finished.has(m.id)) continue;
      const tables = await this.#store.backfillTables(m.id);
      if (tables.length === 0) continue;
      this.history.seed(m.id, tables, now);
      this.history.record(m.id, { at: now, rowsCopied: Object.fromEntries(tables.map((t) => [t.table, t.rowsCopied])) });
      if (tables.every((t) => t.state === 'copied')) this.#finished.add(m.id);
    }
    this.captureRates.retain(capturing);
    const live = new Set(migrations.map((m) => m.id));
    for (const id of this.#finished) {
      if (!live.has(id)) {
        this.#finished.delete(id);
        this.history.forget(id);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }
}
