// The binlog capture's sync: the primary's rows first, then ONE round trip to the shadow.
//
// The locked sync (sync-rows.ts) serialises the keys on the shadow before it reads the primary:
// three hops in a row (shadow lock, primary read, shadow write and commit), five when it inserts.
// That order is what a writer needs whose write nothing follows (a router's apply, a repair). The
// capture has a successor for every change: the binlog. A primary change after this sync's read
// is a later event of the stream, synced by a later sync of the same (table, shadow) lane, which
// starts after this one committed and reads the primary after that change committed. So the last
// write to a key on the shadow carries the primary's last image of it, whatever happened between
// (a copy that kept this sync's row, this sync overwriting a copy's newer row), and the shadow
// equals the primary for every change the stream has checkpointed. What it gives up: between this
// sync's write and a later sync's, a key may hold an image older than one it held before. Only a
// reader of the shadow could see that, so the sync runs unlocked only while the shadow's guard row
// says nobody reads it, checked in the same transaction under a shared lock that a switch of the
// reads waits for (`unreadShadowAssertion`); otherwise it is the locked sync.
//
// The shadow's round trip is one statement batch: the guard assertion, a DELETE of the keys the
// primary no longer has (compared under the key's collation, so a row whose key changed only its
// case is kept and rewritten), an upsert of every row the primary has (key columns included: such
// a key gets the primary's bytes), COMMIT. Any failure of it (a unique conflict with another row, a
// lock wait, a shadow that serves reads) rolls back and leaves the keys to the locked sync, which
// handles each case.

import { distinctKeys, type KeyTuple } from './key-codec.js';
import { keysWhere, qualifiedName } from './key-range.js';
import { rowKey } from './raw-rows.js';
import { unreadShadowAssertion } from '../guard/placement-guard.js';
import { ER_DUP_ENTRY, ER_PARSE_ERROR, isRetryableLockError, mysqlErrno } from './sync-errors.js';
import { addResults, chunks, context, emptyResult, readImages, StatementBatch, syncKeysWith, writeRows, type Context, type SyncConnections, type SyncKeysArgs, type SyncResult } from './sync-rows.js';

/** What {@link syncCapturedKeys} did: a sync's counts, and how many keys took the locked sync. */
export interface CapturedSyncResult extends SyncResult {
  readonly lockedKeys: number;
}

/** What a session knows between its syncs about the unlocked one. */
export interface UnlockedSyncState {
  /**
   * Syncs take the locked form without trying: set when the shadow's guard refused the unlocked
   * one (the shadow serves reads, its epoch moved, it has no guard row) or it failed otherwise,
   * cleared when a locked sync reads the guard row of a shadow nobody reads (each reads it with its
   * lock). So while a switch keeps the shadow read, one sync tries and fails, not every one.
   */
  locked: boolean;
  /** The server does not run the guard assertion (MySQL): always the locked form. */
  unsupported: boolean;
}

/**
 * Makes the shadow's rows of `args.keys` equal to the primary's, for keys a binlog reader saw
 * change: unlocked (see the comment at the top of this file) where the connections run statement
 * batches, the sync has a guard and the shadow's guard row allows it, otherwise locked.
 */
export async function syncCapturedKeys(args: SyncKeysArgs, connections: SyncConnections, state: UnlockedSyncState): Promise<CapturedSyncResult> {
  const ctx = context(args, false);
  const total = emptyResult();
  let lockedKeys = 0;
  for (const keys of chunks(distinctKeys(args.keys), ctx.batchRows)) {
    const unlocked = connections.batches && !state.unsupported && !state.locked ? await syncUnlocked(ctx, connections, state, keys) : undefined;
    if (unlocked !== undefined) {
      addResults(total, unlocked);
      continue;
    }
    addResults(total, await syncKeysWith({ ...args, keys }, connections));
    lockedKeys += keys.length;
  }
  return { ...total, lockedKeys };
}

/** One unlocked sync of `keys`; `undefined` when it did not apply them (rolled back: the caller locks). */
async function syncUnlocked(ctx: Context, connections: SyncConnections, state: UnlockedSyncState, keys: readonly KeyTuple[]): Promise<SyncResult | undefined> {
  const { guard, shape, positions, targetTable } = ctx;
  if (guard === undefined) return undefined; // no guard row to say that nobody reads the shadow
  const where = keysWhere(shape, keys);
  // A locking read: the binlog sends a transaction's events before its commit is visible.
  const images = await readImages(ctx, ctx.source, shape, where, 'share');
  const batch = new StatementBatch();
  await batch.query({ values: null, sql: unreadShadowAssertion(targetTable.database, guard) });
  // Each key of the set is one the primary has, unless it returned fewer rows (one per key at most).
  const deletes = images.length < keys.length;
  if (deletes) {
    const present = images.map((row) => rowKey(shape, row, positions));
    await batch.query({ values: null, sql: `DELETE FROM ${qualifiedName(targetTable)} WHERE (${where})${present.length > 0 ? ` AND NOT (${keysWhere(shape, present)})` : ''}` });
  }
  await writeRows(ctx, batch, images, true);
  const sql = batch.text('COMMIT');
  if (sql.length > ctx.maxStatementChars) return undefined; // one packet: large rows go statement by statement
  const conn = await connections.take(ctx);
  let reusable = false;
  try {
    const [packets] = await conn.query({ values: null, sql });
    reusable = true;
    let sourceBytes = 0;
    for (const row of images) sourceBytes += (row[positions.length] as Buffer).length;
    const deleted = deletes ? Number((packets as Array<{ affectedRows?: number }>)[1]?.affectedRows ?? 0) : 0;
    // Upserted: the statement does not say which rows it inserted and which it updated.
    return { ...emptyResult(), sourceRows: images.length, updated: images.length, deleted, sourceBytes };
  } catch (error) {
    reusable = await conn.query({ values: null, sql: 'ROLLBACK' }).then(
      () => true,
      () => false,
    );
    // A unique conflict or a lock wait concerns these rows only; anything else (above all the
    // guard's refusal: the shadow serves reads) holds until a locked sync reads the guard row.
    if (mysqlErrno(error) === ER_PARSE_ERROR) state.unsupported = true;
    else if (mysqlErrno(error) !== ER_DUP_ENTRY && !isRetryableLockError(error)) state.locked = true;
    return undefined;
  } finally {
    connections.give(ctx, conn, reusable);
  }
}
