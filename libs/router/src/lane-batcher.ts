interface Waiting<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane<I, R> {
  readonly waiting: Array<Waiting<I, R>>;
  busy: boolean;
  /** When the running batch started (performance.now()), and its size. */
  batchStartedAt: number;
  batchSize: number;
}

/** A busy lane as {@link LaneBatcher.busyLanes} reports it. */
export interface BusyLane {
  readonly lane: string;
  /** Items of the running batch, and how long it has run. */
  readonly running: number;
  readonly runningMs: number;
  /** Items queued behind it. */
  readonly queued: number;
}

/** How a {@link LaneBatcher} runs one batch of a lane: one outcome per item, in order (a throw rejects them all). */
export type RunBatch<I, R> = (lane: string, items: readonly I[]) => Promise<ReadonlyArray<PromiseSettledResult<R>>>;

/**
 * Items batched per lane (a table on a server): one batch in flight per lane, and the items that
 * queue meanwhile go together in the next one (up to `maxBatch`). An item that finds its lane idle
 * starts at once (or, `defer`, on the next turn of the event loop, after the caller's own
 * continuation): a lone caller waits for no batch, and under load a statement per item becomes
 * a statement per batch.
 */
export class LaneBatcher<I, R> {
  readonly #lanes = new Map<string, Lane<I, R>>();
  readonly #run: RunBatch<I, R>;
  readonly #maxBatch: number;
  readonly #defer: boolean;

  constructor(run: RunBatch<I, R>, options: { readonly maxBatch?: number; readonly defer?: boolean } = {}) {
    this.#run = run;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#defer = options.defer ?? false;
  }

  /** The lanes with a batch running (for diagnostics: what in-flight work waits for). */
  busyLanes(): BusyLane[] {
    const now = performance.now();
    return [...this.#lanes]
      .filter(([, queue]) => queue.busy)
      .map(([lane, queue]) => ({ lane, running: queue.batchSize, runningMs: Math.round(now - queue.batchStartedAt), queued: queue.waiting.length }));
  }

  submit(lane: string, item: I): Promise<R> {
    let queue = this.#lanes.get(lane);
    if (queue === undefined) {
      queue = { waiting: [], busy: false, batchStartedAt: 0, batchSize: 0 };
      this.#lanes.set(lane, queue);
    }
    const promise = new Promise<R>((resolve, reject) => queue.waiting.push({ item, resolve, reject }));
    if (!queue.busy) {
      queue.busy = true;
      if (this.#defer) setImmediate(() => void this.#drain(lane, queue));
      else void this.#drain(lane, queue);
    }
    return promise;
  }

  async #drain(lane: string, queue: Lane<I, R>): Promise<void> {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, this.#maxBatch);
      queue.batchStartedAt = performance.now();
      queue.batchSize = batch.length;
      try {
        const outcomes = await this.#run(lane, batch.map((waiting) => waiting.item));
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) waiting.reject(new Error(`the batch of lane ${lane} gave no outcome for item ${i}`));
          else if (outcome.status === 'fulfilled') waiting.resolve(outcome.value);
          else waiting.reject(outcome.reason);
        });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    queue.busy = false;
    this.#lanes.delete(lane);
  }
}
