import type { SyncQueryable, TransactionalPool } from '@cleave/mysql';
import { LaneBatcher, type BusyLane } from './lane-batcher.js';

/** Confirms a batch of writes to one table through `source` (`confirmApplies`). */
export type ConfirmMany<T> = (source: SyncQueryable, items: readonly T[]) => Promise<PromiseSettledResult<boolean>[]>;

interface ConfirmItem<T> {
  readonly source: TransactionalPool;
  readonly item: T;
}

/**
 * The confirms of dual writes (the re-read after a shadow write), batched per primary table and
 * shadow table: one statement per side for a batch. A lone write's confirm starts on the next
 * turn of the event loop, after the caller's own continuation: it is off the caller's path, and
 * its statements cost the caller nothing.
 */
export class ConfirmBatcher<T> {
  readonly #batches: LaneBatcher<ConfirmItem<T>, boolean>;

  constructor(confirmMany: ConfirmMany<T>) {
    this.#batches = new LaneBatcher<ConfirmItem<T>, boolean>(
      async (_lane, items) => {
        // A connection of the primary taken BEFORE any shadow row lock: the fallback sync holds
        // shadow row locks while it reads the primary, and late applies that wait for those locks
        // hold primary connections (a sync taking one from the pool then could wait forever).
        const connection = await items[0]!.source.getConnection();
        try {
          return await confirmMany(
            connection,
            items.map((entry) => entry.item),
          );
        } finally {
          connection.release();
        }
      },
      { defer: true },
    );
  }

  /** The lanes with a confirm batch running. */
  busyLanes(): BusyLane[] {
    return this.#batches.busyLanes();
  }

  /**
   * Confirms one write, once it landed on the shadow. `lane` names the (primary table, shadow
   * table) pair; `source` is the primary's pool (the write's connection may be released).
   * Resolves `true` when the write had raced another and its keys were synced under lock.
   */
  confirm(lane: string, source: TransactionalPool, item: T): Promise<boolean> {
    return this.#batches.submit(lane, { source, item });
  }
}
