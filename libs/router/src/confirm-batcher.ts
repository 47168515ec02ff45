import { confirmApplies, type PendingConfirm, type TransactionalPool } from '@cleave/mysql';
import { LaneBatcher } from './lane-batcher.js';

interface ConfirmItem {
  readonly source: TransactionalPool;
  readonly pending: PendingConfirm;
}

/**
 * The confirms of dual writes (the re-read of the primary after a shadow apply), batched per
 * primary table and shadow table (`confirmApplies`: one statement for a batch). A lone write's
 * confirm starts on the next turn of the event loop, after the caller's own continuation: it is
 * off the caller's path, and its statement costs the caller nothing.
 */
export class ConfirmBatcher {
  readonly #batches = new LaneBatcher<ConfirmItem, boolean>(
    async (_lane, items) => {
      // A connection of the primary taken BEFORE any shadow row lock: the fallback sync holds
      // shadow row locks while it reads the primary, and late applies that wait for those locks
      // hold primary connections (a sync taking one from the pool then could wait forever).
      const connection = await items[0]!.source.getConnection();
      try {
        return await confirmApplies(
          connection,
          items.map((item) => item.pending),
        );
      } finally {
        connection.release();
      }
    },
    { defer: true },
  );

  /**
   * Confirms one apply, once it landed on the shadow. `lane` names the (primary table, shadow
   * table) pair; `source` is the primary's pool (the write's connection may be released).
   * Resolves `true` when the apply had raced a newer write and the keys were synced under lock.
   */
  confirm(lane: string, source: TransactionalPool, pending: PendingConfirm): Promise<boolean> {
    return this.#batches.submit(lane, { source, pending });
  }
}
