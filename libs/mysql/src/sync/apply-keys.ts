// The dual-write apply: the cheap, optimistic form of syncKeys for the rows one write touched.
//
// syncKeys (the locked form) serialises a key on the target BEFORE it reads the primary: a
// target transaction with its session settings, a locking read, the primary read, the write, a
// re-read and the commit — about nine round trips, on the path of every application write.
//
// applyKeys reaches the same end state with three, and no target transaction:
// 1. read the images of the keys from the primary (after the write committed there);
// 2. write them to the target in ONE autocommit statement (upsert of every present key, or
//    delete of the absent ones), with foreign key checks off for that statement only
//    (MariaDB's `SET STATEMENT ... FOR`, so no session state is left on a shared pool);
// 3. `confirm()`: re-read the images from the primary. Equal to what was written: done.
//    Different: a newer write raced ours; fall back to the locked syncKeys for the keys.
//    `confirmApplies` does the re-reads of many applies to one table in one statement (the router
//    batches the confirms of concurrent writes: a read per write was a quarter of its statements).
//
// Why the result is right (every primary write is followed by one apply, or a recorded repair):
// take the LAST target write W to a key in the target's own order. If W is a locked sync, it read
// the primary under the row lock, and any later primary change has an apply whose write waits for
// that lock, so comes after W: none exists, and the target equals the primary. If W is an
// optimistic write, its confirm read happened after W; a primary change after that read would
// have an apply writing after W (contradiction), so the primary did not change after the read;
// if the read equals W's image the target equals the primary, and if not, the locked fallback
// writes after W (contradiction again: W was the last). The backfill copy locks the rows it
// updates and never overwrites rows a dual write inserted (sync-rows.ts), so it keeps this order.

import { checkGuard, guardEpochAssignment } from '../guard/placement-guard.js';
import { CleaveError } from '@cleave/core';
import { distinctKeys } from './key-codec.js';
import { keysWhere, qualifiedName } from './key-range.js';
import type { Queryable } from './queryable.js';
import type { KeyTuple } from './key-codec.js';
import { rowKeyId, sameRow, type RawRow } from './raw-rows.js';
import { context, emptyResult, readImages, readImagesTagged, syncKeys, writeRows, type Context, type SyncGuard, type SyncKeysArgs, type SyncResult } from './sync-rows.js';
import { isRetryableLockError, mysqlErrno, ER_DUP_ENTRY } from './sync-errors.js';

/** Arguments of {@link applyKeys}: those of syncKeys, plus the target server's SQL flavour. */
export interface ApplyKeysArgs extends SyncKeysArgs {
  /**
   * `mariadb`: the optimistic apply (needs `SET STATEMENT`, MariaDB 10.1.2+). `mysql`: the
   * locked syncKeys (MySQL has no per-statement foreign_key_checks).
   */
  readonly targetFlavor: 'mariadb' | 'mysql';
  /**
   * The images of exactly `keys` as the primary committed them, when the caller has them already
   * (`INSERT … RETURNING` `imageSelectList`, or `rawImageSelectList` then
   * `imagesFromRaw`): saves the primary read. The confirm still
   * re-reads the primary.
   */
  readonly images?: readonly RawRow[];
}

/** What {@link applyKeys} wrote, and how to confirm it. */
export interface AppliedKeys {
  readonly result: SyncResult;
  /** `optimistic` (one autocommit statement) or `locked` (fell back to syncKeys). */
  readonly mode: 'optimistic' | 'locked';
  /**
   * Re-reads the primary and, when a newer write raced this apply, syncs the keys under the
   * target's lock. Must run (or its failure be recorded for repair) for the guarantee to hold.
   * Resolves `true` when the fallback ran. (Or: `confirmApplies` with {@link pending}.)
   */
  confirm(): Promise<boolean>;
  /** This apply's confirm, for {@link confirmApplies}; `undefined` when there is nothing to confirm (the locked form). */
  readonly pending: PendingConfirm | undefined;
}

/** An optimistic apply whose confirm is still due: the apply as written (its keys and the images written for them). */
export type PendingConfirm = PreparedApply;

const NOTHING_TO_CONFIRM = async (): Promise<boolean> => false;

/** Whether two sets of images hold the same rows, byte for byte (in any order). */
function sameImages(a: readonly RawRow[], b: readonly RawRow[], positions: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const byKey = new Map(b.map((row) => [rowKeyId(row, positions), row] as const));
  return a.every((row) => {
    const other = byKey.get(rowKeyId(row, positions));
    return other !== undefined && sameRow(row, other);
  });
}

/** Errors after which the locked syncKeys is the right tool (it handles them), not a failure. */
function fallsBack(error: unknown): boolean {
  return mysqlErrno(error) === ER_DUP_ENTRY || isRetryableLockError(error);
}

/** An optimistic apply with its images read: what {@link writeApplies} writes, alone or with others. */
export interface PreparedApply {
  readonly args: ApplyKeysArgs;
  /** `args.keys`, distinct. */
  readonly keys: readonly KeyTuple[];
  /** The keys' condition (`keysWhere`). */
  readonly where: string;
  /** The keys' images as the primary holds them after the write: all of them (an upsert) or none (a delete). */
  readonly images: readonly RawRow[];
}

/** The `(source table, target table)` pair a write syncs, to check that a batch shares one. */
function tablePair(args: SyncKeysArgs): string {
  return `${args.sourceShape.database}.${args.sourceShape.table}→${args.targetTable.database}.${args.targetTable.table}`;
}

function requireOneTable(what: string, batch: readonly SyncKeysArgs[]): void {
  const table = tablePair(batch[0]!);
  for (const args of batch) {
    if (tablePair(args) !== table) throw new CleaveError('INVALID_ARGUMENT', `${what} takes the writes of one table (${table}); got one of ${tablePair(args)}.`);
  }
}

/**
 * The images of the keys of several applies of ONE source table, read from the primary through
 * `source` after their writes committed: one statement (a UNION ALL of each apply's key lookup,
 * tagged with its apply). Result `i`: the rows of `items[i]`'s keys.
 */
export async function readApplyImages(source: Queryable, items: readonly ApplyKeysArgs[]): Promise<RawRow[][]> {
  if (items.length === 0) return [];
  const ctx = context({ ...items[0]!, source }, false);
  const wheres = items.map((args) => keysWhere(ctx.shape, distinctKeys(args.keys)));
  return items.length === 1 ? [await readImages(ctx, source, ctx.shape, wheres[0]!)] : readImagesTagged(ctx, source, ctx.shape, wheres);
}

/**
 * The optimistic apply of `args.keys` given their `images` read after the write, or `undefined`
 * where only the locked form fits: a MySQL target, more keys than a batch, or some keys present
 * and some absent (or a collation-equal key twice), which the locked form diffs.
 */
export function prepareApply(args: ApplyKeysArgs, images: readonly RawRow[]): PreparedApply | undefined {
  const ctx = context(args, false);
  const keys = distinctKeys(args.keys);
  if (keys.length === 0 || args.targetFlavor !== 'mariadb' || keys.length > ctx.batchRows) return undefined;
  if (images.length !== 0 && images.length !== keys.length) return undefined;
  return { args, keys, where: keysWhere(ctx.shape, keys), images };
}

const NO_FOREIGN_KEY_CHECKS = 'SET STATEMENT foreign_key_checks = 0 FOR ';

/** The locked form of an apply (syncKeys), as an AppliedKeys: nothing left to confirm. */
async function lockedApply(args: ApplyKeysArgs, keys: readonly KeyTuple[]): Promise<AppliedKeys> {
  return { result: await syncKeys({ ...args, keys }), mode: 'locked', confirm: NOTHING_TO_CONFIRM, pending: undefined };
}

/**
 * Writes several prepared applies to ONE target table with autocommit statements (on a guarded
 * side, in one transaction that checks the guard first): every upsert
 * in one multi-row upsert, every delete in one DELETE (the router batches the applies of
 * concurrent writes this way; a key twice in a batch is fine: each apply's confirm compares its
 * own images). A statement that meets a duplicate on another unique key or a lock conflict sends
 * its applies to the locked form, each alone. One outcome per apply, in order.
 */
export async function writeApplies(prepared: readonly PreparedApply[]): Promise<PromiseSettledResult<AppliedKeys>[]> {
  if (prepared.length === 0) return [];
  requireOneTable('writeApplies', prepared.map((item) => item.args));
  const ctx = context(prepared[0]!.args, false);
  if (ctx.guard !== undefined) return writeGuardedApplies(prepared, ctx, ctx.guard);
  return writeAppliesOn(prepared[0]!.args.target, prepared, ctx, true);
}

/**
 * Seconds a guarded write's transaction may sit idle between statements before MariaDB ends it
 * (`idle_transaction_timeout`): a writer paused inside it (SIGSTOP, a long GC) would otherwise hold
 * the guard row's shared lock, and every switch's flip of that row would wait for it. Below the
 * routers' lease (3 s by default), after which a switch stops waiting for a silent router.
 */
const GUARDED_IDLE_TRANSACTION_SECONDS = 2;

/**
 * The applies to a guarded side: one transaction that carries the guard epoch and reads the guard
 * row under a shared lock before it writes, so a switch that replaced the placement since the
 * apply was planned refuses it (and a switch's flip waits for it). A statement that meets a
 * duplicate or a lock conflict rolls the transaction back first, then each apply goes alone to
 * the locked form (it holds no lock of ours then).
 */
async function writeGuardedApplies(prepared: readonly PreparedApply[], ctx: Context, guard: SyncGuard): Promise<PromiseSettledResult<AppliedKeys>[]> {
  const conn = await ctx.target.getConnection();
  const mariadb = prepared[0]!.args.targetFlavor === 'mariadb';
  let fallBack = false;
  try {
    await conn.query({ values: null, sql: `SET ${guardEpochAssignment(guard.epoch)}${mariadb ? `, SESSION idle_transaction_timeout = ${GUARDED_IDLE_TRANSACTION_SECONDS}` : ''}` });
    await conn.query({ values: null, sql: 'START TRANSACTION' });
    try {
      await checkGuard(conn, ctx.targetTable.database, guard);
      const outcomes = await writeAppliesOn(conn, prepared, ctx, false);
      await conn.query({ values: null, sql: 'COMMIT' });
      return outcomes;
    } catch (error) {
      await conn.query({ values: null, sql: 'ROLLBACK' }).catch(() => undefined);
      if (!fallsBack(error)) return prepared.map(() => ({ status: 'rejected', reason: error }) as const);
      fallBack = true;
    }
  } finally {
    // The connection goes back to the caller's pool (a service's own): the guard epoch must not
    // stay on it (the service's own writes would pass the guard). Off the caller's path.
    void conn
      .query({ values: null, sql: `SET ${guardEpochAssignment(null)}${mariadb ? ', SESSION idle_transaction_timeout = DEFAULT' : ''}` })
      .then(
        () => conn.release(),
        () => (conn.destroy === undefined ? conn.release() : conn.destroy()),
      );
  }
  if (!fallBack) return [];
  const outcomes: PromiseSettledResult<AppliedKeys>[] = [];
  for (const item of prepared) {
    try {
      outcomes.push({ status: 'fulfilled', value: await lockedApply(item.args, item.keys) });
    } catch (reason) {
      outcomes.push({ status: 'rejected', reason });
    }
  }
  return outcomes;
}

async function writeAppliesOn(target: Queryable, prepared: readonly PreparedApply[], ctx: Context, fallBackAlone: boolean): Promise<PromiseSettledResult<AppliedKeys>[]> {
  const outcomes: PromiseSettledResult<AppliedKeys>[] = new Array(prepared.length);
  const optimistic = (item: PreparedApply, result: SyncResult): AppliedKeys => {
    return {
      result,
      mode: 'optimistic',
      pending: item,
      async confirm() {
        const [outcome] = await confirmApplies(item.args.source, [item]);
        if (outcome!.status === 'rejected') throw outcome!.reason;
        return outcome!.value;
      },
    };
  };
  const run = async (indexes: number[], write: () => Promise<(i: number) => SyncResult>): Promise<void> => {
    if (indexes.length === 0) return;
    try {
      const resultOf = await write();
      for (const i of indexes) outcomes[i] = { status: 'fulfilled', value: optimistic(prepared[i]!, resultOf(i)) };
    } catch (error) {
      if (!fallBackAlone) throw error; // the caller's transaction decides
      if (!fallsBack(error)) {
        for (const i of indexes) outcomes[i] = { status: 'rejected', reason: error };
        return;
      }
      for (const i of indexes) {
        try {
          outcomes[i] = { status: 'fulfilled', value: await lockedApply(prepared[i]!.args, prepared[i]!.keys) };
        } catch (lockedError) {
          outcomes[i] = { status: 'rejected', reason: lockedError };
        }
      }
    }
  };
  const deletes = prepared.flatMap((item, i) => (item.images.length === 0 ? [i] : []));
  const upserts = prepared.flatMap((item, i) => (item.images.length > 0 ? [i] : []));
  await run(deletes, async () => {
    const keys = distinctKeys(deletes.flatMap((i) => prepared[i]!.keys));
    const [packet] = await target.query({ values: null, sql: `${NO_FOREIGN_KEY_CHECKS}DELETE FROM ${qualifiedName(ctx.targetTable)} WHERE ${keysWhere(ctx.shape, keys)}` });
    const deleted = Number((packet as { affectedRows?: number }).affectedRows ?? 0);
    return (i) => ({ ...emptyResult(), deleted: deletes.length === 1 ? deleted : prepared[i]!.keys.length });
  });
  await run(upserts, async () => {
    await writeRows(ctx, target, upserts.flatMap((i) => prepared[i]!.images), true, NO_FOREIGN_KEY_CHECKS);
    return (i) => {
      const { images } = prepared[i]!;
      const result = emptyResult();
      result.sourceRows = images.length;
      result.updated = images.length; // upserted: inserted or updated, the statement does not say which per row
      for (const image of images) result.sourceBytes += (image[image.length - 1] as Buffer).length;
      return result;
    };
  });
  return outcomes;
}

/**
 * Makes the target's rows for `keys` equal to the primary's with one autocommit statement,
 * then `confirm()` re-checks the primary (see the comment at the top of this file).
 *
 * @example
 * ```ts
 * const applied = await applyKeys({ source: primaryConnection, target: shadowPool, sourceShape: shape,
 *   targetTable: { database: 'accounts', table: 'users' }, keys: [['42']], targetFlavor: 'mariadb' });
 * await applied.confirm();
 * ```
 */
export async function applyKeys(args: ApplyKeysArgs): Promise<AppliedKeys> {
  const keys = distinctKeys(args.keys);
  if (keys.length === 0) return { result: emptyResult(), mode: 'optimistic', confirm: NOTHING_TO_CONFIRM, pending: undefined };
  const ctx = context(args, false);
  if (args.targetFlavor !== 'mariadb' || keys.length > ctx.batchRows) return lockedApply(args, keys);
  const images = args.images !== undefined && args.images.length === keys.length ? args.images : (await readApplyImages(args.source, [args]))[0]!;
  const prepared = prepareApply(args, images);
  if (prepared === undefined) return lockedApply(args, keys);
  const [outcome] = await writeApplies([prepared]);
  if (outcome!.status === 'rejected') throw outcome!.reason;
  return outcome!.value;
}

/**
 * The confirms of several optimistic applies to ONE target table from one source table: each
 * apply's rows are re-read from the primary in one statement (a UNION ALL of the applies' key
 * lookups, each row tagged with its apply: exactly the rows each apply's own read would find), and
 * the keys of every apply whose rows changed since it read them are synced under lock in one
 * syncKeys (reading the primary through `source`: best a connection taken before the sync takes
 * shadow row locks, since late applies waiting for those locks may hold every pooled connection of
 * the primary). The read must start after every apply landed on the target, as
 * `confirm()`'s does. One outcome per apply, in order: `true` when its keys were synced; rejected
 * when that sync failed. Throws when the read fails.
 */
export async function confirmApplies(source: Queryable, pending: readonly PendingConfirm[]): Promise<PromiseSettledResult<boolean>[]> {
  if (pending.length === 0) return [];
  requireOneTable('confirmApplies', pending.map((item) => item.args));
  const first = pending[0]!.args;
  const ctx = context({ ...first, source }, false);
  const now = pending.length === 1 ? [await readImages(ctx, source, ctx.shape, pending[0]!.where)] : await readImagesTagged(ctx, source, ctx.shape, pending.map((item) => item.where));
  const raced = pending.map((item, i) => !sameImages(now[i]!, item.images, ctx.positions));
  // One locked sync for the keys of every raced apply (several applies of one hot key race each
  // other: one sync settles them all, where one each would queue on the same row locks).
  const keys = distinctKeys(pending.flatMap((item, i) => (raced[i] ? item.keys : [])));
  let failure: { reason: unknown } | undefined;
  if (keys.length > 0) {
    try {
      await syncKeys({ ...first, source, keys });
    } catch (error) {
      failure = { reason: error };
    }
  }
  return raced.map((fellBack): PromiseSettledResult<boolean> => (fellBack && failure !== undefined ? { status: 'rejected', reason: failure.reason } : { status: 'fulfilled', value: fellBack }));
}
