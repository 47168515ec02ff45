import type { ControlStore } from '@cleave/control';
import type { JobProducer } from '@cleave/jobs';

/** Phases in which a migration has a shadow side that failed writes must reach. */
const SHADOW_PHASES = new Set(['dual_write', 'verified', 'reads_switched', 'writes_switched']);

/**
 * Routers cannot enqueue jobs (they must not depend on BullMQ), so workers look for recorded
 * shadow failures every few seconds and enqueue a repair job. The job id is per 5-second window,
 * so several workers asking at once still produce one job.
 */
export class ShadowRepairScheduler {
  readonly #store: ControlStore;
  readonly #producer: Pick<JobProducer, 'repairShadowFailures'>;
  readonly #onError: (error: unknown) => void;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(store: ControlStore, producer: Pick<JobProducer, 'repairShadowFailures'>, onError: (error: unknown) => void, intervalMs = 5_000) {
    this.#store = store;
    this.#producer = producer;
    this.#onError = onError;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** One look: enqueue a repair for every migration with open shadow failures. */
  async tick(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    let enqueued = 0;
    try {
      for (const m of await this.#store.listMigrations()) {
        if (!SHADOW_PHASES.has(m.phase)) continue;
        if ((await this.#store.openShadowFailures(m.id, 1)).length === 0) continue;
        await this.#producer.repairShadowFailures(m.id);
        enqueued++;
      }
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#running = false;
    }
    return enqueued;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
