import { confirmApplies, type PendingConfirm, type TransactionalPool } from '@cleave/mysql';

interface Waiting {
  readonly pending: PendingConfirm;
  readonly resolve: (raced: boolean) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane {
  readonly source: TransactionalPool;
  readonly waiting: Waiting[];
  busy: boolean;
}

/**
 * The confirms of dual writes (the re-read of the primary after a shadow apply), batched per
 * primary table and shadow table: one read in flight per lane, and whatever queued meanwhile goes
 * in the next read (`confirmApplies`: one statement for up to `maxBatch` applies). A lone write's
 * confirm starts on the next turn of the event loop, after the caller's own continuation: it is
 * off the caller's path, and its statement costs the caller nothing. Under load, a read per write
 * becomes a read per batch (at 16 callers it was a quarter of the statements of a dual write).
 */
export class ConfirmBatcher {
  readonly #lanes = new Map<string, Lane>();
  readonly #maxBatch: number;

  constructor(maxBatch = 64) {
    this.#maxBatch = maxBatch;
  }

  /**
   * Confirms one apply, once it landed on the shadow. `lane` names the (primary table, shadow
   * table) pair; `source` is the primary's pool (the write's connection may be released).
   * Resolves `true` when the apply had raced a newer write and the keys were synced under lock.
   */
  confirm(lane: string, source: TransactionalPool, pending: PendingConfirm): Promise<boolean> {
    let queue = this.#lanes.get(lane);
    if (queue === undefined) {
      queue = { source, waiting: [], busy: false };
      this.#lanes.set(lane, queue);
    }
    const promise = new Promise<boolean>((resolve, reject) => queue.waiting.push({ pending, resolve, reject }));
    if (!queue.busy) {
      queue.busy = true;
      setImmediate(() => void this.#drain(lane, queue));
    }
    return promise;
  }

  async #drain(lane: string, queue: Lane): Promise<void> {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, this.#maxBatch);
      try {
        // A connection of the primary taken BEFORE any shadow row lock: the fallback sync holds
        // shadow row locks while it reads the primary, and late applies that wait for those locks
        // hold primary connections (a sync taking one from the pool then could wait forever).
        const connection = await queue.source.getConnection();
        let outcomes: PromiseSettledResult<boolean>[];
        try {
          outcomes = await confirmApplies(connection, batch.map((item) => item.pending));
        } finally {
          connection.release();
        }
        outcomes.forEach((outcome, i) => (outcome.status === 'fulfilled' ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.reason)));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    queue.busy = false;
    this.#lanes.delete(lane);
  }
}
