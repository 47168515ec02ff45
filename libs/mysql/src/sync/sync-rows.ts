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
//    delete target rows absent from the source, upsert changed rows that exist on the target
//    (never writing generated columns), skip identical rows. These rows are row-locked since (1).
// 4. Insert the rows that were ABSENT from the target in step 1 with a plain INSERT that never
//    overwrites. No row lock protected them while we read the source (InnoDB gap locks do not
//    exclude each other, and READ COMMITTED takes none). A duplicate on the sync key (PRIMARY,
//    or the unique key used as the key) means a dual write inserted that key after our lock,
//    with an image it read from the primary after its own lock, so newer than ours: keep its row
//    (we lock it) and drop ours. Any later primary change of that row has its own dual write,
//    which waits for our commit. A duplicate on a SECONDARY unique key goes to the unique-
//    conflict handling below, never a silent skip.
// 5. Re-check that the inserted keys still EXIST on the source (a key-only read, after our
//    inserts hold their row locks) and delete those that vanished: a dual write of a delete that
//    ran between our source read and our insert found nothing to delete on the target, so our
//    older image would otherwise resurrect the row. A key that still exists but whose row
//    changed after our read cannot be stale for long: its dual write either ran before our
//    insert (then it inserted the row and step 4 kept it) or runs after it and waits for our
//    row lock, then reads the primary itself. So the source is read once in full, plus keys.
// 6. Commit.
//
// The transaction runs in READ COMMITTED: steps 4-5 make gap locks unnecessary, and without them
// parallel chunks inserting into the same empty region of the target do not deadlock.
// Foreign key checks are off for the transaction's session (restored afterwards): each table is
// synced on its own, children may arrive before parents, and a delete must not cascade to rows
// that their own sync owns. Deadlocks and lock wait timeouts retry the whole transaction with
// jittered backoff. A unique-key conflict with a target row outside the set (a stale row whose
// own dual write is still in flight) adds that row to the set and retries, so it is synced too.

import { checkGuard, GUARD_TABLE, guardEpochAssignment, guardReadSql, guardVerdict, type SyncGuard } from '../guard/placement-guard.js';
import { CleaveError } from '@cleave/core';
import { distinctKeys, encodeKey, keyId, type KeyTuple } from './key-codec.js';
import { keyRangeWhere, keysWhere, qualifiedName, type KeyBounds, type RowFilter } from './key-range.js';
import type { PooledConnection, Queryable, QueryOptions, TableName, TransactionalPool } from './queryable.js';
import { queryRaw, readRows, rowKey, rowKeyId, sameRow, type RawRow } from './raw-rows.js';
import { literalReadExpression, rawToKeyPart, ROW_LITERAL, rowLiteralExpression, rowValueLiteral, valueLiteral } from './sql-literal.js';
import { keyOrderBy } from './key-range.js';
import { decodeLoadDataLine, isLoadDataRefused, joinLoadDataLines, loadData, loadDataLineExpression, loadDataStatement } from './load-data.js';
import { ER_DUP_ENTRY, ER_NO_SUCH_TABLE, isLostConnection, isRetryableLockError, mysqlErrno, retryDelayMs, sleep } from './sync-errors.js';
import type { ShapeColumn, TableShape } from './table-shape.js';

/** What one sync did. `sourceRows` = rows of the set on the source. */
export interface SyncResult {
  sourceRows: number;
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Bytes of the source rows read, as row literals or LOAD DATA lines (about what the copy held in memory per row). */
  sourceBytes: number;
  /** Rows written with LOAD DATA (the other inserts went in with INSERTs). */
  loaded: number;
}

/** How the copy inserts absent rows (see {@link SyncOptions.bulkInsert}). */
export const BULK_INSERT_METHODS = ['load-data', 'insert'] as const;
export type BulkInsertMethod = (typeof BULK_INSERT_METHODS)[number];

/** Per-call tuning of {@link syncKeyRange} and {@link syncKeys}. */
export interface SyncOptions {
  /**
   * Keys per DELETE and per key read; {@link syncKeys} also locks at most this many keys per
   * transaction.
   * @defaultValue 500
   */
  readonly batchRows?: number;
  /**
   * Rows per multi-row INSERT (statements also stay under `maxStatementChars`). Fewer, larger
   * statements cost the target less per row: a copy of 3M session rows in 3000-row chunks ran
   * 13% faster, with 12% less target CPU, at 3000 rows per INSERT than at 500.
   * @defaultValue 5000
   */
  readonly insertRows?: number;
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
  /**
   * Who turns the rows read into SQL literals (the images that are compared and written):
   * `server` (CONCAT/HEX in the SELECT: least CPU here, for bulk copies) or `client` (plain
   * column reads, literals built here: about a third of the server CPU of a one-row read, which
   * spares the primary on the dual-write path). Both give byte-identical images.
   * @defaultValue 'server'
   */
  readonly imageLiterals?: 'server' | 'client';
  /**
   * How {@link syncKeyRange} (the copy) inserts the rows absent from the target: `load-data`
   * streams LOAD DATA LOCAL INFILE lines that the source builds from the stored bytes (less CPU
   * on the target and here than literals, see load-data.ts), `insert` sends multi-row INSERTs of
   * row literals. A target that refuses LOCAL INFILE (`local_infile=OFF`)
   * gets INSERTs, and a batch that LOAD DATA could not insert whole (a concurrent dual write's
   * row, a unique-key conflict) is taken back and inserted with INSERTs, whose checks decide.
   * The dual-write path ({@link syncKeys}) always upserts with INSERTs.
   * @defaultValue 'load-data'
   */
  readonly bulkInsert?: BulkInsertMethod;
  /**
   * The placement guard the writes act under: the migration and the guard epoch the writer holds.
   * The session carries the epoch (`@cleave_epoch`), which the triggers of a denied side check
   * (see `denyWrites`), and each sync transaction reads the target's guard row under a shared lock
   * first: when it names another epoch, or says the target is the primary now, the writer's view
   * is stale and the sync is refused (`GuardRefusedError`) before it writes; a switch's flip of the
   * row waits for the transaction. Unset: no guard (a migration without one).
   */
  readonly guard?: SyncGuard;
  /**
   * Read the source rows with a locking read (`LOCK IN SHARE MODE`). A binlog reader needs it: the
   * server sends a transaction's binlog events before its commit is visible to other sessions
   * (the binlog is written in the commit's prepare), so a plain read right after the event can
   * still see the old row, and no later event would correct it. A locking read waits for the
   * transaction, which holds its rows until it commits, and then reads what it committed.
   * @defaultValue false
   */
  readonly lockSourceRows?: boolean;
}

export type { SyncGuard } from '../guard/placement-guard.js';

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

/** @internal Shared with apply-keys.ts. */
export interface Context {
  readonly source: Queryable;
  readonly target: TransactionalPool;
  readonly shape: TableShape;
  readonly targetTable: TableName;
  readonly batchRows: number;
  readonly insertRows: number;
  readonly maxStatementChars: number;
  readonly maxAttempts: number;
  readonly positions: readonly number[];
  readonly imageLiterals: 'server' | 'client';
  /**
   * Insert absent rows with LOAD DATA (see {@link SyncOptions.bulkInsert}). Images are then
   * `[...key parts, LOAD DATA line]` (the server builds the line, `loadDataLineExpression`), and
   * literals are built only for the rows written with INSERTs.
   */
  readonly loadData: boolean;
  /**
   * The copy path (syncKeyRange): rows absent at lock time are INSERTed without overwriting, a
   * concurrent dual write's row is kept, and only key existence is re-checked. The dual-write
   * path (syncKeys) must not yield to a row a copy inserted (its image may be older), so it
   * upserts and re-reads full rows.
   */
  readonly keepConcurrentInserts: boolean;
  readonly guard: SyncGuard | undefined;
  readonly lockSourceRows: boolean;
}

const MAX_CONFLICT_ROUNDS = 6;
/** Targets (pools) that refused LOAD DATA LOCAL INFILE: later copies go straight to INSERTs. */
const LOAD_DATA_REFUSED = new WeakSet<object>();
/**
 * Seconds a guarded sync's transaction may sit idle between statements before MariaDB ends it
 * (`idle_transaction_timeout`). It holds the guard row's shared lock from its first statement,
 * so a worker paused inside it (SIGSTOP, a frozen VM) would make every switch's flip of that row
 * wait and abort until the worker's connection died. Its normal idle gaps are the reads of the
 * primary between its target statements, which wait on the application's row locks: 10 s leaves
 * them room, and bounds how long a paused worker can keep a switch from running.
 */
export const GUARDED_SYNC_IDLE_SECONDS = 10;
/**
 * A sync's session: no foreign key checks (tables are synced one by one), autocommit off (its
 * transaction opens with its first statement: one round trip less than a START TRANSACTION of its
 * own), the guard epoch it writes under and, when guarded, the idle limit above (an executable
 * comment: MariaDB 10.3+ runs it, MySQL, which has no such limit, skips it).
 */
const sessionEnter = (ctx: Context) =>
  `SET @cleave_sync_fkc = @@session.foreign_key_checks, SESSION foreign_key_checks = 0, SESSION autocommit = 0, ${guardEpochAssignment(ctx.guard?.epoch)}` +
  (ctx.guard === undefined ? '' : ` /*M!100300 , SESSION idle_transaction_timeout = ${GUARDED_SYNC_IDLE_SECONDS} */`);
const sessionLeave = (ctx: Context) =>
  `SET SESSION foreign_key_checks = @cleave_sync_fkc, SESSION autocommit = 1, ${guardEpochAssignment(null)}` +
  (ctx.guard === undefined ? '' : ' /*M!100300 , SESSION idle_transaction_timeout = DEFAULT */');

/** Thrown inside a transaction when a unique-key conflict names target rows outside the set. */
class UniqueConflict extends Error {
  constructor(readonly keys: readonly KeyTuple[]) {
    super('unique key conflict with rows outside the synced set');
  }
}

export function emptyResult(): SyncResult {
  return { sourceRows: 0, inserted: 0, updated: 0, deleted: 0, unchanged: 0, sourceBytes: 0, loaded: 0 };
}

/** @internal Adds `more`'s counts to `into`. */
export function addResults(into: SyncResult, more: SyncResult): void {
  into.sourceRows += more.sourceRows;
  into.inserted += more.inserted;
  into.updated += more.updated;
  into.deleted += more.deleted;
  into.unchanged += more.unchanged;
  into.sourceBytes += more.sourceBytes;
  into.loaded += more.loaded;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) {
    throw new CleaveError('INVALID_ARGUMENT', `${what} must be a positive integer, got ${String(value)}.`);
  }
  return result;
}

export function context(args: {
  source: Queryable;
  target: TransactionalPool;
  sourceShape: TableShape;
  targetTable: TableName;
  options?: SyncOptions;
}, keepConcurrentInserts: boolean): Context {
  const options = args.options ?? {};
  const loadData = keepConcurrentInserts && (options.bulkInsert ?? 'load-data') === 'load-data' && !LOAD_DATA_REFUSED.has(args.target);
  return {
    source: args.source,
    target: args.target,
    shape: args.sourceShape,
    targetTable: { database: args.targetTable.database, table: args.targetTable.table },
    batchRows: positiveInteger(options.batchRows, 500, 'batchRows'),
    insertRows: positiveInteger(options.insertRows, 5000, 'insertRows'),
    maxStatementChars: positiveInteger(options.maxStatementChars, 4_000_000, 'maxStatementChars'),
    maxAttempts: positiveInteger(options.maxAttempts, 8, 'maxAttempts'),
    positions: args.sourceShape.keyShapeColumns.map((_, i) => i),
    imageLiterals: options.imageLiterals ?? 'server',
    loadData,
    keepConcurrentInserts,
    guard: options.guard,
    lockSourceRows: options.lockSourceRows === true,
  };
}

/** @internal `items` in slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * Reads the set as IMAGES: `[...raw key parts, row literal]`, where the row literal is the
 * `(v1, v2, ..)` text of every copyable column computed by the server ({@link rowLiteralExpression}).
 * Two images are equal exactly when the rows are byte-identical (the literal is an injective
 * encoding), so the diff compares images, and an insert sends the literal as it came.
 */
export async function readImages(ctx: Context, db: Queryable, table: TableName, where: string, lock: boolean | 'share' = false): Promise<RawRow[]> {
  return imagesOf(ctx, table, await queryRaw(db, imagesSql(ctx, table, where, lock)));
}

/** The SELECT of {@link readImages}. */
function imagesSql(ctx: Context, table: TableName, where: string, lock: boolean | 'share'): string {
  return `SELECT ${imageList(ctx)} FROM ${qualifiedName(table)} WHERE ${where} ORDER BY ${keyOrderBy(ctx.shape)}${lock === 'share' ? ' LOCK IN SHARE MODE' : lock ? ' FOR UPDATE' : ''}`;
}

/**
 * The images of several key conditions in one statement (no lock, no order): a UNION ALL of one
 * SELECT per condition, each row tagged with its condition's index. Result `i`: the rows of `wheres[i]`.
 */
export async function readImagesTagged(ctx: Context, db: Queryable, table: TableName, wheres: readonly string[]): Promise<RawRow[][]> {
  const list = imageList(ctx);
  const from = qualifiedName(table);
  const rows = await queryRaw(db, wheres.map((where, i) => `SELECT ${i}, ${list} FROM ${from} WHERE ${where}`).join(' UNION ALL '));
  const tagged: RawRow[][] = wheres.map(() => []);
  for (const row of rows) tagged[Number((row[0] as Buffer).toString('latin1'))]!.push(row.slice(1));
  return tagged.map((group) => imagesOf(ctx, table, group));
}

function imageList(ctx: Context): string {
  if (ctx.loadData) return `${keySelect(ctx.shape)}, ${loadDataLineExpression(ctx.shape.shapeColumns)}`;
  return ctx.imageLiterals === 'client' ? rawImageSelectList(ctx.shape) : imageSelectList(ctx.shape);
}

/** Images from rows read with {@link imageList}. */
function imagesOf(ctx: Context, table: TableName, rows: RawRow[]): RawRow[] {
  const { shape } = ctx;
  if (ctx.imageLiterals === 'client' && !ctx.loadData) return imagesFromRaw(shape, rows);
  const last = shape.keyShapeColumns.length;
  for (const row of rows) {
    if (row[last] === null || row[last] === undefined) {
      throw new CleaveError('INTERNAL', `A row of ${table.database}.${table.table} is too large to copy: its literal exceeds the server's max_allowed_packet.`, {
        hint: 'Raise max_allowed_packet on the source and the target.',
      });
    }
  }
  return rows;
}

/** The `(v1, v2, ..)` literal of an image, checked to contain nothing but literal values. */
function imageLiteral(ctx: Context, row: RawRow): string {
  if (ctx.loadData) return rowLiteral(ctx.shape, decodeLoadDataLine(row[ctx.positions.length] as Buffer, ctx.shape.shapeColumns), 0);
  const literal = (row[ctx.positions.length] as Buffer).toString('latin1');
  if (!ROW_LITERAL.test(literal)) throw new CleaveError('INTERNAL', `The server returned an unexpected row literal: ${literal.slice(0, 80)}`);
  return literal;
}

/** Multi-row INSERT (… ON DUPLICATE KEY UPDATE every column, key columns included). */
export async function writeRows(ctx: Context, conn: Queryable, rows: readonly RawRow[], upsert: boolean, prefix = ''): Promise<void> {
  if (rows.length === 0) return;
  const columns = ctx.shape.shapeColumns;
  const head = `${prefix}INSERT INTO ${qualifiedName(ctx.targetTable)} (${columns.map((column) => column.quoted).join(', ')}) VALUES `;
  const tail = upsert ? ` ON DUPLICATE KEY UPDATE ${columns.map((column) => `${column.quoted} = VALUES(${column.quoted})`).join(', ')}` : '';
  let values: string[] = [];
  let length = 0;
  const flush = async (): Promise<void> => {
    if (values.length === 0) return;
    const sql = head + values.join(', ') + tail;
    values = [];
    length = 0;
    await conn.query({ sql, values: null });
  };
  for (const row of rows) {
    const literal = imageLiteral(ctx, row);
    if (values.length > 0 && (values.length >= ctx.insertRows || length + literal.length > ctx.maxStatementChars)) await flush();
    values.push(literal);
    length += literal.length + 2;
  }
  await flush();
}

async function deleteRows(ctx: Context, conn: Queryable, rows: readonly RawRow[]): Promise<void> {
  for (const batch of chunks(rows, ctx.batchRows)) {
    const keys = batch.map((row) => rowKey(ctx.shape, row, ctx.positions));
    await conn.query({ values: null, sql: `DELETE FROM ${qualifiedName(ctx.targetTable)} WHERE ${keysWhere(ctx.shape, keys)}` });
  }
}

/**
 * After an ER_DUP_ENTRY: the target rows outside `known` that hold a unique value one of `rows`
 * needs (they are stale; syncing them too resolves the conflict).
 */
async function conflictingKeys(ctx: Context, conn: Queryable, images: readonly RawRow[], known: ReadonlySet<string>): Promise<KeyTuple[]> {
  const { shape } = ctx;
  const found = new Map<string, KeyTuple>();
  // The unique values are compared raw: read the rows of these keys from the source.
  const rows: RawRow[] = [];
  for (const batch of chunks(images, ctx.batchRows)) {
    rows.push(...(await readRows(ctx.source, shape, shape, keysWhere(shape, batch.map((image) => rowKey(shape, image, ctx.positions))))));
  }
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
 * The select list of a row IMAGE (raw key parts, then the row literal), for a SELECT or an
 * INSERT … RETURNING (read with `rowsAsArray` and `rawTypeCast`).
 */
export function imageSelectList(shape: TableShape): string {
  return `${keySelect(shape)}, ${rowLiteralExpression(shape.shapeColumns)}`;
}

/** The select list of an image read whose literals are built here: the key columns, then every copyable column as {@link imagesFromRaw} needs it. */
export function rawImageSelectList(shape: TableShape): string {
  return `${keySelect(shape)}, ${shape.shapeColumns.map(literalReadExpression).join(', ')}`;
}

/** Images (`[...key parts, row literal]`) from rows read with {@link rawImageSelectList}; byte-identical to those of {@link imageSelectList}. */
export function imagesFromRaw(shape: TableShape, rows: readonly RawRow[]): RawRow[] {
  const keys = shape.keyShapeColumns.length;
  return rows.map((row) => [...row.slice(0, keys), Buffer.from(rowLiteral(shape, row, keys), 'latin1')]);
}

/** The `(v1, v2, ..)` literal of a row read with {@link rawImageSelectList} (its columns from `offset` on). */
function rowLiteral(shape: TableShape, row: RawRow, offset: number): string {
  return `(${shape.shapeColumns.map((column, i) => rowValueLiteral(column, row[offset + i] ?? null)).join(', ')})`;
}

/** The select list of the key columns, read raw. */
function keySelect(shape: TableShape): string {
  return shape.keyShapeColumns.map((column) => column.readExpression).join(', ');
}

const DUPLICATE_KEY_NAME = /for key '([^']*)'/;

/**
 * Whether an ER_DUP_ENTRY names the sync key itself (the PRIMARY key, or the unique key used as
 * the key), not a secondary unique key. MariaDB says `for key 'PRIMARY'`, MySQL 8 `for key 'table.PRIMARY'`.
 */
function isSyncKeyDuplicate(shape: TableShape, error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  const name = DUPLICATE_KEY_NAME.exec(message)?.[1];
  if (name === undefined) return false;
  return name === shape.keyIndex || name === `${shape.table}.${shape.keyIndex}`;
}

/** Thrown inside a transaction to run it again from the start (counted as an attempt). */
/** A connection died inside the sync's transaction (nothing of it committed): retried whole. */
class ConnectionLostMidSync extends Error {
  constructor(cause: unknown) {
    super(`a connection was lost during the sync: ${(cause as Error).message}`, { cause });
  }
}

class RestartSync extends Error {
  constructor() {
    super('a concurrent write inserted a collation-equal key: restart the sync');
  }
}

/**
 * Inserts rows that were absent from the target when the set was locked, never overwriting: by
 * LOAD DATA batches that land whole, else by multi-row INSERTs ({@link insertLiterals}), whose
 * errors decide what a batch with a duplicate does. Returns the exact key ids of the rows kept
 * from dual writes, and how many rows LOAD DATA wrote.
 */
async function insertAbsent(ctx: Context, conn: Queryable, rows: readonly RawRow[]): Promise<{ kept: Set<string>; loaded: number }> {
  const kept = new Set<string>();
  let loaded = 0;
  if (!ctx.loadData) {
    await insertLiterals(ctx, conn, rows, kept);
    return { kept, loaded };
  }
  const statement = loadDataStatement(ctx.targetTable, ctx.shape.shapeColumns);
  let refused = false;
  for (const batch of loadBatches(ctx, rows)) {
    if (!refused) {
      const outcome = await tryLoadData(ctx, conn, statement, batch);
      if (outcome === 'loaded') {
        loaded += batch.length;
        continue;
      }
      refused = outcome === 'refused';
    }
    await insertLiterals(ctx, conn, batch, kept);
  }
  return { kept, loaded };
}

/** Batches of at most `insertRows` rows and `maxStatementChars` bytes of lines. */
function loadBatches(ctx: Context, rows: readonly RawRow[]): RawRow[][] {
  const batches: RawRow[][] = [];
  let batch: RawRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = (row[ctx.positions.length] as Buffer).length + 1;
    if (batch.length > 0 && (batch.length >= ctx.insertRows || bytes + size > ctx.maxStatementChars)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * One LOAD DATA of `batch` under a savepoint. `loaded`: every row landed without a warning.
 * Otherwise the savepoint is rolled back (LOCAL implies IGNORE: a skipped duplicate or an
 * adjusted value must not stand) and the caller inserts the batch with INSERTs: `fallback`, or
 * `refused` when the target does not take LOCAL INFILE at all (remembered for later copies).
 */
async function tryLoadData(ctx: Context, conn: Queryable, statement: string, batch: readonly RawRow[]): Promise<'loaded' | 'fallback' | 'refused'> {
  await conn.query({ values: null, sql: 'SAVEPOINT cleave_load' });
  try {
    const outcome = await loadData(conn, statement, joinLoadDataLines(batch, ctx.positions.length));
    if (outcome.rows === batch.length && outcome.warnings === 0) return 'loaded';
  } catch (error) {
    if (!isLoadDataRefused(error)) throw error;
    LOAD_DATA_REFUSED.add(ctx.target);
    return 'refused';
  }
  await conn.query({ values: null, sql: 'ROLLBACK TO SAVEPOINT cleave_load' });
  return 'fallback';
}

/**
 * {@link insertAbsent} with plain multi-row INSERTs. A duplicate on the sync key means a dual
 * write inserted that key after our lock, with an image it read from the primary after its own
 * lock (newer than ours): its row is kept (and now row-locked here), ours dropped, its key added
 * to `kept`, and the batch retried. Any later primary change of that row has its own dual write,
 * which waits for our commit. A duplicate on a secondary unique key is rethrown for the caller's
 * unique-conflict handling.
 */
async function insertLiterals(ctx: Context, conn: Queryable, rows: readonly RawRow[], kept: Set<string>): Promise<void> {
  const { shape, positions } = ctx;
  const columns = shape.shapeColumns;
  const head = `INSERT INTO ${qualifiedName(ctx.targetTable)} (${columns.map((column) => column.quoted).join(', ')}) VALUES `;
  let batch: RawRow[] = [];
  let literals: string[] = [];
  let length = 0;
  const flush = async (): Promise<void> => {
    while (batch.length > 0) {
      try {
        await conn.query({ values: null, sql: head + literals.join(', ') });
        break;
      } catch (error) {
        if (mysqlErrno(error) !== ER_DUP_ENTRY || !isSyncKeyDuplicate(shape, error)) throw error;
        // Lock and find the keys of this batch that a dual write inserted meanwhile.
        const keys = batch.map((row) => rowKey(shape, row, positions));
        const existing = new Set(
          (await queryRaw(conn, `SELECT ${keySelect(shape)} FROM ${qualifiedName(ctx.targetTable)} WHERE ${keysWhere(shape, keys)} FOR UPDATE`)).map((key) => keyId(key)),
        );
        const nextBatch: RawRow[] = [];
        const nextLiterals: string[] = [];
        for (let i = 0; i < batch.length; i += 1) {
          const id = rowKeyId(batch[i] as RawRow, positions);
          if (existing.has(id)) kept.add(id);
          else {
            nextBatch.push(batch[i] as RawRow);
            nextLiterals.push(literals[i] as string);
          }
        }
        // Only a collation-equal key with other bytes: start over (it is now present at lock time).
        if (nextBatch.length === batch.length) throw new RestartSync();
        batch = nextBatch;
        literals = nextLiterals;
      }
    }
    batch = [];
    literals = [];
    length = 0;
  };
  for (const row of rows) {
    const literal = imageLiteral(ctx, row);
    if (batch.length > 0 && (batch.length >= ctx.insertRows || length + literal.length > ctx.maxStatementChars)) await flush();
    batch.push(row);
    literals.push(literal);
    length += literal.length + 2;
  }
  await flush();
}

type WriteFn = (toDelete: readonly RawRow[], toWrite: readonly RawRow[], replace: readonly RawRow[]) => Promise<void>;

/**
 * Statements kept instead of run, to be sent with a last one in one round trip (on a connection
 * that runs batches). Only for statements whose results nobody reads (writes).
 */
export class StatementBatch implements Queryable {
  readonly #statements: string[] = [];

  query(options: QueryOptions): Promise<[unknown, unknown]> {
    this.#statements.push(options.sql);
    return Promise.resolve([[], []]);
  }

  /** The batch's text: the kept statements, then `last`. */
  text(last: string): string {
    return [...this.#statements, last].join(';\n');
  }
}

/**
 * (1) Locks the set's target rows (`FOR UPDATE`) and returns their images, after the guard check
 * of the sync's guard ({@link checkGuard}): both in one round trip on a connection that runs
 * batches, else one after the other.
 */
async function lockTargetRows(ctx: Context, conn: Queryable, where: string, connections: SyncConnections): Promise<RawRow[]> {
  const { guard, targetTable } = ctx;
  if (guard !== undefined && connections.batches) {
    try {
      const [results] = await conn.query({ values: null, sql: `${guardReadSql(targetTable.database, guard)};\n${imagesSql(ctx, targetTable, where, true)}`, rowsAsArray: true, typeCast: false });
      const [guardRows, rows] = results as [RawRow[], RawRow[]];
      const row = guardRows[0];
      guardVerdict(targetTable.database, guard, row === undefined ? undefined : { epoch: row[0] ?? '', denied: row[1] ?? '' });
      connections.guardRead?.(row === undefined ? undefined : Number(String(row[1])));
      return imagesOf(ctx, targetTable, rows);
    } catch (error) {
      // No guard table in this database: no guard to check, as checkGuard decides.
      if (mysqlErrno(error) !== ER_NO_SUCH_TABLE || !String((error as Error).message).includes(GUARD_TABLE)) throw error;
    }
  } else if (guard !== undefined) {
    await checkGuard(conn, targetTable.database, guard);
  }
  return readImages(ctx, conn, targetTable, where, true);
}

/**
 * (4b, the dual-write path) Re-reads in full the source rows of keys that were absent from the
 * target when we locked and that we upserted: now that our writes hold their row locks, fix them
 * up (delete or update) if the primary changed after our first read.
 */
async function recheckUpserted(ctx: Context, conn: Queryable, inserts: readonly RawRow[], known: ReadonlySet<string>, result: SyncResult, write: WriteFn): Promise<void> {
  if (inserts.length === 0) return;
  const { shape, positions } = ctx;
  const insertedIds = new Set(inserts.map((row) => rowKeyId(row, positions)));
  const fresh: RawRow[] = [];
  for (const batch of chunks(inserts, ctx.batchRows)) {
    const keys = batch.map((row) => rowKey(shape, row, positions));
    fresh.push(...(await readImages(ctx, ctx.source, shape, keysWhere(shape, keys))));
  }
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

/**
 * One transaction: lock the set on the target, read the source, write the difference, re-check
 * the rows that were not locked, commit. `conflictMode` (after a unique-key conflict) deletes the
 * changed rows before inserting them, so rows that swap unique values do not collide.
 */
async function syncOnce(ctx: Context, connections: SyncConnections, scope: string, extraKeys: readonly KeyTuple[], conflictMode: boolean): Promise<SyncResult> {
  const { shape, positions } = ctx;
  const where = extraKeys.length === 0 ? scope : `(${scope}) OR (${keysWhere(shape, extraKeys)})`;
  const conn = await connections.take(ctx);
  // The transaction ended (committed, or rolled back by the server's answer): the connection may be used again.
  let ended = false;
  try {
    try {
      // (1) lock the target rows of the set, (2) only then read the primary.
      const targetRows = await lockTargetRows(ctx, conn, where, connections);
      const sourceRows = await readImages(ctx, ctx.source, shape, where, ctx.lockSourceRows ? 'share' : false);

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
      let sourceBytes = 0;
      for (const row of sourceRows) sourceBytes += (row[positions.length] as Buffer).length;
      const result: SyncResult = { sourceRows: sourceRows.length, inserted: inserts.length, updated: updates.length, deleted: deletes.length, unchanged, sourceBytes, loaded: 0 };

      const known = new Set<string>([...targetById.keys(), ...sourceIds]);
      // `thenCommit`: the writes and the COMMIT in one round trip (a connection that runs batches).
      const write = async (toDelete: readonly RawRow[], toWrite: readonly RawRow[], replace: readonly RawRow[], thenCommit = false): Promise<void> => {
        const batch = thenCommit ? new StatementBatch() : undefined;
        const via = batch ?? conn;
        try {
          await deleteRows(ctx, via, conflictMode ? [...toDelete, ...replace] : toDelete);
          await writeRows(ctx, via, toWrite, true);
          if (batch !== undefined) await conn.query({ values: null, sql: batch.text('COMMIT') });
        } catch (error) {
          if (mysqlErrno(error) !== ER_DUP_ENTRY) throw error;
          throw new UniqueConflict(await conflictingKeys(ctx, conn, toWrite, known));
        }
      };
      if (!ctx.keepConcurrentInserts) {
        // Dual writes and repairs (syncKeys): upsert everything, then re-check the inserted rows
        // in full (4b below), so an older image written by a concurrent copy is overwritten.
        if (connections.batches && inserts.length === 0) {
          // Nothing to re-check: the writes and the COMMIT go in one round trip.
          await write(deletes, updates, updates, true);
        } else {
          await write(deletes, [...updates, ...inserts], updates);
          await recheckUpserted(ctx, conn, inserts, known, result, write);
          await conn.query({ values: null, sql: 'COMMIT' });
        }
        ended = true;
        return result;
      }

      // Rows that existed at lock time are row-locked: delete or upsert them.
      await write(deletes, updates, updates);

      // (4) rows that were absent at lock time: plain INSERT, keeping a dual write's row.
      if (inserts.length > 0) {
        let kept: ReadonlySet<string>;
        try {
          ({ kept, loaded: result.loaded } = await insertAbsent(ctx, conn, inserts));
        } catch (error) {
          if (mysqlErrno(error) !== ER_DUP_ENTRY) throw error;
          throw new UniqueConflict(await conflictingKeys(ctx, conn, inserts, known));
        }
        result.inserted -= kept.size;
        result.unchanged += kept.size;
        // (5) now that our inserts hold their row locks, re-check that their keys still exist
        // on the primary (keys only): a key deleted after our read, whose dual write found
        // nothing to delete on the target before our insert, would otherwise be resurrected.
        const present = new Set((await queryRaw(ctx.source, `SELECT ${keySelect(shape)} FROM ${qualifiedName(shape)} WHERE ${where}`)).map((key) => keyId(key)));
        const gone = inserts.filter((row) => !present.has(rowKeyId(row, positions)));
        if (gone.length > 0) {
          await deleteRows(ctx, conn, gone);
          for (const row of gone) {
            // Our insert undone; a dual write's row (kept) that the primary no longer has: deleted.
            if (kept.has(rowKeyId(row, positions))) {
              result.unchanged -= 1;
              result.deleted += 1;
            } else {
              result.inserted -= 1;
            }
          }
        }
      }
      await conn.query({ values: null, sql: 'COMMIT' });
      ended = true;
      return result;
    } catch (error) {
      ended = await conn.query({ values: null, sql: 'ROLLBACK' }).then(
        () => true,
        () => false,
      );
      throw isLostConnection(error) ? new ConnectionLostMidSync(error) : error;
    }
  } finally {
    connections.give(ctx, conn, ended);
  }
}

/** @internal Where a sync's connections come from (shared with sync-session.ts). */
export interface SyncConnections {
  /** The connections run several statements in one round trip (their pool was made with `statementBatches`). */
  readonly batches: boolean;
  take(ctx: Context): Promise<PooledConnection>;
  /** Told the state (`denied`) of the guard row a sync read with its lock (undefined: no row), where it read one. */
  readonly guardRead?: (state: number | undefined) => void;
  /** `reusable`: its transaction ended and the connection answered, so it may serve the next sync. */
  give(ctx: Context, conn: PooledConnection, reusable: boolean): void;
}

/** @internal Closes a connection whose session is unknown (or returns it, where the pool cannot close one). */
export const destroy = (conn: PooledConnection) => (conn.destroy === undefined ? conn.release() : conn.destroy());

/**
 * Sets the sync session on `conn`, READ COMMITTED for the transaction its next statement opens or
 * for the whole session. A connection whose set-up failed is closed (its session is unknown).
 */
export async function setSyncSession(conn: PooledConnection, ctx: Context, isolation: 'next transaction' | 'session'): Promise<PooledConnection> {
  try {
    await conn.query({ values: null, sql: sessionEnter(ctx) });
    await conn.query({ values: null, sql: `SET${isolation === 'session' ? ' SESSION' : ''} TRANSACTION ISOLATION LEVEL READ COMMITTED` });
  } catch (error) {
    destroy(conn);
    throw isLostConnection(error) ? new ConnectionLostMidSync(error) : error;
  }
  return conn;
}

/** A connection from the pool for each sync: the session is set before and reset after. */
const POOLED: SyncConnections = {
  batches: false,
  take: async (ctx) => setSyncSession(await ctx.target.getConnection(), ctx, 'next transaction'),
  give(ctx, conn) {
    // Off the caller's path (one round trip less per sync): the connection goes back to its pool
    // once its session is reset. One whose session could not be reset (the server ended it idle,
    // or it broke) is closed: it must not go back with the guard epoch on it.
    void conn
      .query({ values: null, sql: sessionLeave(ctx) })
      .then(
        () => conn.release(),
        () => destroy(conn),
      )
      .catch(() => undefined); // the pool was ended meanwhile
  },
};

/** Runs {@link syncOnce} with retries on deadlocks/lock wait timeouts and unique-key conflicts. */
async function syncWithRetry(ctx: Context, scope: string, connections: SyncConnections = POOLED): Promise<SyncResult> {
  const extraKeys = new Map<string, KeyTuple>();
  let conflictRounds = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await syncOnce(ctx, connections, scope, [...extraKeys.values()], conflictRounds > 0);
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
      if (!(error instanceof RestartSync || error instanceof ConnectionLostMidSync || isRetryableLockError(error)) || attempt >= ctx.maxAttempts) throw error;
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
  const ctx = context(args, true);
  return syncWithRetry(ctx, keyRangeWhere(ctx.shape, args.bounds, args.filter).sql);
}

/**
 * Makes the target's rows for `keys` equal to the source's: what a dual write applies after
 * writing the primary (lock target rows, read the primary, delete absent, upsert present).
 * Keys are deduplicated and processed in transactions of at most `batchRows` keys.
 */
export function syncKeys(args: SyncKeysArgs): Promise<SyncResult> {
  return syncKeysWith(args, POOLED);
}

/** @internal {@link syncKeys} on the given connections. */
export async function syncKeysWith(args: SyncKeysArgs, connections: SyncConnections): Promise<SyncResult> {
  const ctx = context(args, false);
  const total = emptyResult();
  for (const batch of chunks(distinctKeys(args.keys), ctx.batchRows)) {
    addResults(total, await syncWithRetry(ctx, keysWhere(ctx.shape, batch), connections));
  }
  return total;
}
