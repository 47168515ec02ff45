// Row sync: make the target's copy of a set of keys equal to the source (the primary).
//
// Why this is correct while the application keeps writing (DESIGN, "Correctness rules"):
// the image applied for a key must be read from the primary while that key is serialised on
// the target. Every call runs ONE target transaction:
//
// 1. `SELECT <all columns> FROM target WHERE <keys> FOR UPDATE` locks every target row of the
//    set. Rows that exist are now serialised: a concurrent dual write to one of them (which is
//    this same primitive, `syncKeys`) waits for our commit, then reads the primary itself.
// 2. Only then read the source rows of the set (plain consistent read, no source locks).
// 3. Compare by exact key bytes (a case-only key change is a delete + insert, not an update):
//    delete target rows absent from the source, upsert missing and changed rows (never writing
//    generated columns), skip identical rows.
// 4. Re-check the rows that were ABSENT from the target in step 1: no row lock protected them
//    while we read the source (InnoDB gap locks do not exclude each other, so a concurrent
//    writer could lock the same gap, read a newer primary image — e.g. "deleted" — and commit
//    before our insert, and our older image would then resurrect the row). After our insert we
//    hold their row locks, so we read the source again and fix them up: delete or update.
// 5. Commit.
//
// The transaction runs in READ COMMITTED: step 4 makes gap locks unnecessary, and without them
// parallel chunks inserting into the same empty region of the target do not deadlock.
// Foreign key checks are off for the transaction's session (restored afterwards): each table is
// synced on its own, children may arrive before parents, and a delete must not cascade to rows
// that their own sync owns. Deadlocks and lock wait timeouts retry the whole transaction with
// jittered backoff. A unique-key conflict with a target row outside the set (a stale row whose
// own dual write is still in flight) adds that row to the set and retries, so it is synced too.

import { CleaveError } from '@cleave/core';
import { encodeKey, keyId, type KeyTuple } from './key-codec.js';
import { keyRangeWhere, keysWhere, qualifiedName, type KeyBounds, type RowFilter } from './key-range.js';
import type { PooledConnection, Queryable, TableName, TransactionalPool } from './queryable.js';
import { keyPositions, queryRaw, readRows, rowKey, rowKeyId, sameRow, type RawRow } from './raw-rows.js';
import { rawToKeyPart, valueLiteral } from './sql-literal.js';
import { ER_DUP_ENTRY, isRetryableLockError, mysqlErrno, retryDelayMs, sleep } from './sync-errors.js';
import type { ShapeColumn, TableShape } from './table-shape.js';

/** What one sync did. `sourceRows` = rows of the set on the source. */
export interface SyncResult {
  sourceRows: number;
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/** Per-call tuning of {@link syncKeyRange} and {@link syncKeys}. */
export interface SyncOptions {
  /**
   * Rows per multi-row INSERT (and keys per DELETE); {@link syncKeys} also locks at most this
   * many keys per transaction.
   * @defaultValue 500
   */
  readonly batchRows?: number;
  /**
   * Most SQL characters per INSERT statement (stay under `max_allowed_packet`).
   * @defaultValue 4_000_000
   */
  readonly maxStatementChars?: number;
  /**
   * Attempts of one transaction on deadlock / lock wait timeout.
   * @defaultValue 8
   */
  readonly maxAttempts?: number;
}

/** Arguments of {@link syncKeyRange}. */
export interface SyncKeyRangeArgs {
  readonly source: Queryable;
  readonly target: TransactionalPool;
  /** The source table (its `database`/`table` name the source table). */
  readonly sourceShape: TableShape;
  /** Where the rows go (same definition as the source table). */
  readonly targetTable: TableName;
  readonly bounds: KeyBounds;
  readonly filter?: RowFilter;
  readonly options?: SyncOptions;
}

/** Arguments of {@link syncKeys}. */
export interface SyncKeysArgs {
  readonly source: Queryable;
  readonly target: TransactionalPool;
  readonly sourceShape: TableShape;
  readonly targetTable: TableName;
  readonly keys: readonly KeyTuple[];
  readonly options?: SyncOptions;
}

interface Context {
  readonly source: Queryable;
  readonly target: TransactionalPool;
  readonly shape: TableShape;
  readonly targetTable: TableName;
  readonly batchRows: number;
  readonly maxStatementChars: number;
  readonly maxAttempts: number;
  readonly positions: readonly number[];
}

const MAX_CONFLICT_ROUNDS = 6;
const SESSION_ENTER = 'SET @cleave_sync_fkc = @@session.foreign_key_checks, SESSION foreign_key_checks = 0';
const SESSION_LEAVE = 'SET SESSION foreign_key_checks = @cleave_sync_fkc';

/** Thrown inside a transaction when a unique-key conflict names target rows outside the set. */
class UniqueConflict extends Error {
  constructor(readonly keys: readonly KeyTuple[]) {
    super('unique key conflict with rows outside the synced set');
  }
}

function emptyResult(): SyncResult {
  return { sourceRows: 0, inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
}

function addResults(into: SyncResult, more: SyncResult): void {
  into.sourceRows += more.sourceRows;
  into.inserted += more.inserted;
  into.updated += more.updated;
  into.deleted += more.deleted;
  into.unchanged += more.unchanged;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) {
    throw new CleaveError('INVALID_ARGUMENT', `${what} must be a positive integer, got ${String(value)}.`);
  }
  return result;
}

function context(args: {
  source: Queryable;
  target: TransactionalPool;
  sourceShape: TableShape;
  targetTable: TableName;
  options?: SyncOptions;
}): Context {
  const options = args.options ?? {};
  return {
    source: args.source,
    target: args.target,
    shape: args.sourceShape,
    targetTable: { database: args.targetTable.database, table: args.targetTable.table },
    batchRows: positiveInteger(options.batchRows, 500, 'batchRows'),
    maxStatementChars: positiveInteger(options.maxStatementChars, 4_000_000, 'maxStatementChars'),
    maxAttempts: positiveInteger(options.maxAttempts, 8, 'maxAttempts'),
    positions: keyPositions(args.sourceShape),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function rowLiteral(columns: readonly ShapeColumn[], row: RawRow): string {
  let sql = '(';
  for (let i = 0; i < columns.length; i += 1) {
    if (i > 0) sql += ', ';
    sql += valueLiteral(columns[i] as ShapeColumn, row[i] ?? null);
  }
  return `${sql})`;
}

/** Multi-row INSERT (… ON DUPLICATE KEY UPDATE every column, key columns included). */
async function writeRows(ctx: Context, conn: Queryable, rows: readonly RawRow[], upsert: boolean): Promise<void> {
  if (rows.length === 0) return;
  const columns = ctx.shape.shapeColumns;
  const head = `INSERT INTO ${qualifiedName(ctx.targetTable)} (${columns.map((column) => column.quoted).join(', ')}) VALUES `;
  const tail = upsert ? ` ON DUPLICATE KEY UPDATE ${columns.map((column) => `${column.quoted} = VALUES(${column.quoted})`).join(', ')}` : '';
  let values: string[] = [];
  let length = 0;
  const flush = async (): Promise<void> => {
    if (values.length === 0) return;
    const sql = head + values.join(', ') + tail;
    values = [];
    length = 0;
    await conn.query({ sql });
  };
  for (const row of rows) {
    const literal = rowLiteral(columns, row);
    if (values.length > 0 && (values.length >= ctx.batchRows || length + literal.length > ctx.maxStatementChars)) await flush();
    values.push(literal);
    length += literal.length + 2;
  }
  await flush();
}

async function deleteRows(ctx: Context, conn: Queryable, rows: readonly RawRow[]): Promise<void> {
  for (const batch of chunks(rows, ctx.batchRows)) {
    const keys = batch.map((row) => rowKey(ctx.shape, row, ctx.positions));
    await conn.query({ sql: `DELETE FROM ${qualifiedName(ctx.targetTable)} WHERE ${keysWhere(ctx.shape, keys)}` });
  }
}

async function readSourceByKeys(ctx: Context, keys: readonly KeyTuple[]): Promise<RawRow[]> {
  const rows: RawRow[] = [];
  for (const batch of chunks(keys, ctx.batchRows)) {
    rows.push(...(await readRows(ctx.source, ctx.shape, ctx.shape, keysWhere(ctx.shape, batch))));
  }
  return rows;
}

/**
 * After an ER_DUP_ENTRY: the target rows outside `known` that hold a unique value one of `rows`
 * needs (they are stale; syncing them too resolves the conflict).
 */
async function conflictingKeys(ctx: Context, conn: Queryable, rows: readonly RawRow[], known: ReadonlySet<string>): Promise<KeyTuple[]> {
  const { shape } = ctx;
  const found = new Map<string, KeyTuple>();
  for (const unique of shape.catalog.uniqueKeys) {
    if (unique.name === shape.keyIndex) continue;
    const positions = unique.columns.map((name) => shape.shapeColumns.findIndex((column) => column.name === name));
    if (positions.some((position) => position < 0)) continue; // a generated column: cannot be compared from the image
    for (const batch of chunks(rows, ctx.batchRows)) {
      const conditions: string[] = [];
      for (const row of batch) {
        if (positions.some((position) => row[position] === null)) continue; // NULLs never conflict
        conditions.push(
          `(${positions
            .map((position) => {
              const column = shape.shapeColumns[position] as ShapeColumn;
              return `${column.quoted} = ${valueLiteral(column, row[position] ?? null)}`;
            })
            .join(' AND ')})`,
        );
      }
      if (conditions.length === 0) continue;
      const select = shape.keyShapeColumns.map((column) => column.readExpression).join(', ');
      const keyRows = await queryRaw(conn, `SELECT ${select} FROM ${qualifiedName(ctx.targetTable)} WHERE ${conditions.join(' OR ')}`);
      for (const keyRow of keyRows) {
        const id = keyId(keyRow);
        if (!known.has(id)) found.set(id, shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, keyRow[i] ?? null)));
      }
    }
  }
  return [...found.values()];
}

/**
 * One transaction: lock the set on the target, read the source, write the difference, re-check
 * the rows that were not locked, commit. `conflictMode` (after a unique-key conflict) deletes the
 * changed rows before inserting them, so rows that swap unique values do not collide.
 */
async function syncOnce(ctx: Context, scope: string, extraKeys: readonly KeyTuple[], conflictMode: boolean): Promise<SyncResult> {
  const { shape, positions } = ctx;
  const where = extraKeys.length === 0 ? scope : `(${scope}) OR (${keysWhere(shape, extraKeys)})`;
  const conn: PooledConnection = await ctx.target.getConnection();
  let sessionChanged = false;
  try {
    await conn.query({ sql: SESSION_ENTER });
    sessionChanged = true;
    await conn.query({ sql: 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED' });
    await conn.query({ sql: 'START TRANSACTION' });
    try {
      // (1) lock the target rows of the set, (2) only then read the primary.
      const targetRows = await readRows(conn, shape, ctx.targetTable, where, { forUpdate: true });
      const sourceRows = await readRows(ctx.source, shape, shape, where);

      // (3) diff by exact key bytes.
      const targetById = new Map<string, RawRow>();
      for (const row of targetRows) targetById.set(rowKeyId(row, positions), row);
      const sourceIds = new Set<string>();
      const inserts: RawRow[] = [];
      const updates: RawRow[] = [];
      let unchanged = 0;
      for (const row of sourceRows) {
        const id = rowKeyId(row, positions);
        sourceIds.add(id);
        const current = targetById.get(id);
        if (current === undefined) inserts.push(row);
        else if (sameRow(current, row)) unchanged += 1;
        else updates.push(row);
      }
      const deletes = targetRows.filter((row) => !sourceIds.has(rowKeyId(row, positions)));
      const result: SyncResult = { sourceRows: sourceRows.length, inserted: inserts.length, updated: updates.length, deleted: deletes.length, unchanged };

      const known = new Set<string>([...targetById.keys(), ...sourceIds]);
      const write = async (toDelete: readonly RawRow[], toWrite: readonly RawRow[], replace: readonly RawRow[]): Promise<void> => {
        try {
          await deleteRows(ctx, conn, conflictMode ? [...toDelete, ...replace] : toDelete);
          await writeRows(ctx, conn, toWrite, true);
        } catch (error) {
          if (mysqlErrno(error) !== ER_DUP_ENTRY) throw error;
          throw new UniqueConflict(await conflictingKeys(ctx, conn, toWrite, known));
        }
      };
      await write(deletes, [...updates, ...inserts], updates);

      // (4) re-check the rows that were absent from the target when we locked: read the
      // primary again now that our inserts hold their row locks.
      if (inserts.length > 0) {
        const insertedIds = new Set(inserts.map((row) => rowKeyId(row, positions)));
        const fresh = await readSourceByKeys(ctx, inserts.map((row) => rowKey(shape, row, positions)));
        const freshById = new Map(fresh.map((row) => [rowKeyId(row, positions), row] as const));
        const gone = inserts.filter((row) => !freshById.has(rowKeyId(row, positions)));
        const rewrite: RawRow[] = [];
        const rewriteReplace: RawRow[] = [];
        for (const row of inserts) {
          const now = freshById.get(rowKeyId(row, positions));
          if (now !== undefined && !sameRow(now, row)) {
            rewrite.push(now);
            rewriteReplace.push(now);
          }
        }
        for (const [id, row] of freshById) {
          // A key equal under the collation but with other bytes (the primary changed its case).
          if (!insertedIds.has(id) && !known.has(id)) {
            rewrite.push(row);
            result.inserted += 1;
          }
        }
        result.inserted -= gone.length;
        if (gone.length > 0 || rewrite.length > 0) await write(gone, rewrite, rewriteReplace);
      }
      await conn.query({ sql: 'COMMIT' });
      return result;
    } catch (error) {
      await conn.query({ sql: 'ROLLBACK' }).catch(() => undefined);
      throw error;
    }
  } finally {
    if (sessionChanged) await conn.query({ sql: SESSION_LEAVE }).catch(() => undefined);
    conn.release();
  }
}

/** Runs {@link syncOnce} with retries on deadlocks/lock wait timeouts and unique-key conflicts. */
async function syncWithRetry(ctx: Context, scope: string): Promise<SyncResult> {
  const extraKeys = new Map<string, KeyTuple>();
  let conflictRounds = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await syncOnce(ctx, scope, [...extraKeys.values()], conflictRounds > 0);
    } catch (error) {
      if (error instanceof UniqueConflict) {
        conflictRounds += 1;
        for (const key of error.keys) extraKeys.set(encodeKey(key), key);
        if (conflictRounds <= MAX_CONFLICT_ROUNDS) continue;
        throw new CleaveError(
          'CONFLICT',
          `Syncing ${ctx.shape.database}.${ctx.shape.table} to ${ctx.targetTable.database}.${ctx.targetTable.table} kept hitting unique-key conflicts on the target.`,
          { hint: 'The target holds rows that the source does not; run verification with repair, then retry.' },
        );
      }
      if (!isRetryableLockError(error) || attempt >= ctx.maxAttempts) throw error;
      await sleep(retryDelayMs(attempt));
    }
  }
}

/**
 * Makes the target's rows in `bounds` (and `filter`) equal to the source's, in one target
 * transaction (see the comment at the top of this file for why a concurrent dual write can
 * never be overwritten by an older image, nor a deleted row resurrected).
 *
 * @example
 * ```ts
 * const result = await syncKeyRange({ source, target, sourceShape: shape, targetTable: { database: 'accounts', table: 'users' },
 *   bounds: { lower: null, upper: ['1000'] } });
 * result.inserted; // rows copied
 * ```
 */
export function syncKeyRange(args: SyncKeyRangeArgs): Promise<SyncResult> {
  const ctx = context(args);
  return syncWithRetry(ctx, keyRangeWhere(ctx.shape, args.bounds, args.filter).sql);
}

/**
 * Makes the target's rows for `keys` equal to the source's: what a dual write applies after
 * writing the primary (lock target rows, read the primary, delete absent, upsert present).
 * Keys are deduplicated and processed in transactions of at most `batchRows` keys.
 */
export async function syncKeys(args: SyncKeysArgs): Promise<SyncResult> {
  const ctx = context(args);
  const unique = new Map<string, KeyTuple>();
  for (const key of args.keys) unique.set(encodeKey(key), key);
  const total = emptyResult();
  for (const batch of chunks([...unique.values()], ctx.batchRows)) {
    addResults(total, await syncWithRetry(ctx, keysWhere(ctx.shape, batch)));
  }
  return total;
}
