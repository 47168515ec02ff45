import { createHash } from 'node:crypto';
import { quoteIdentifier } from '../identifier.js';
import { ER_NO_SUCH_TABLE, mysqlErrno } from '../sync/sync-errors.js';
import type { Queryable, TransactionalPool } from '../sync/queryable.js';
import { MysqlLibError } from '../mysql-error.js';

/**
 * The placement guard: the database itself refuses writes to a moved table on the side that is
 * not the write primary. On that side each moved table has triggers (before insert, update,
 * delete) that let a row change through only when the session carries the migration's current
 * guard epoch in `@cleave_epoch`; the epoch and whether the side denies live in one row of
 * `_cleave_guard` in the same database, read under a shared lock, so changing the row waits for
 * the writes in flight and every later write sees the new state. A switch puts the triggers on
 * the side that will be denied before it holds writes (DDL is slow), flips the rows inside the
 * fence, and drops the triggers of the new primary after it. cleave's own writers of that side (the capture, the
 * backfill, repairs, a router's shadow writes) set the epoch they act under; anyone else (a writer
 * that was not repointed, a router paused across a switch) gets an error instead of writing into a
 * copy nobody reads. The primary side has no triggers: its writes cost nothing extra.
 *
 * The row's `denied` says which of three states the side is in ({@link GUARD_STATE}): the write
 * primary (0), a shadow (1), or a shadow that serves the application's reads (2, `reads_switched`).
 * The triggers and the sync's guard check treat both shadow states alike; the binlog capture's
 * unlocked sync runs only on a shadow nobody reads ({@link unreadShadowAssertion}).
 */

/** The guard's table, in each guarded database. */
export const GUARD_TABLE = '_cleave_guard';

/** The values of a guard row's `denied` column. */
export const GUARD_STATE = { primary: 0, shadow: 1, readShadow: 2 } as const;

/** The session variable a cleave writer sets to the guard epoch it writes under. */
export const GUARD_EPOCH_VARIABLE = '@cleave_epoch';

/** MariaDB/MySQL's errno of a SIGNAL with SQLSTATE 45000 (ER_SIGNAL_EXCEPTION). */
const ER_SIGNAL_EXCEPTION = 1644;
const REFUSAL_PREFIX = 'cleave guard:';
/** The message of {@link unreadShadowAssertion}'s refusal (not a guard refusal: the locked sync decides). */
const LOCKED_SYNC_NEEDED = 'cleave sync: this shadow serves reads, or its guard moved: use the locked sync';
/** SIGNAL's MESSAGE_TEXT holds at most 128 characters. */
const MAX_MESSAGE = 128;
const EVENTS = [
  ['INSERT', 'i'],
  ['UPDATE', 'u'],
  ['DELETE', 'd'],
] as const;

/** The moved tables of one migration in one database (one side). */
export interface GuardedTables {
  readonly migrationId: string;
  readonly migrationName: string;
  readonly database: string;
  readonly tables: readonly string[];
}

/** A trigger name within 64 characters, unique per migration, table and event. */
export function guardTriggerName(migrationId: string, table: string, event: 'i' | 'u' | 'd'): string {
  return `_cleave_guard_${migrationId}_${createHash('sha1').update(table).digest('hex').slice(0, 12)}_${event}`;
}

/**
 * A cleave writer's sync refused before it wrote: the target's guard row names another epoch, or
 * says the target is the primary now (the writer acts on a placement a switch has replaced).
 */
export class GuardRefusedError extends MysqlLibError {
  constructor(message: string) {
    super('GUARD_REFUSED', message, {
      hint: 'A switch moved the primary since this writer read the migration: it must re-read the migration (its phase and guard epoch) and act on the new placement.',
    });
  }
}

/** Whether `error` is a write the guard refused (the side is not the primary, or the epoch is stale). */
export function isGuardRefusal(error: unknown): boolean {
  if (error instanceof GuardRefusedError) return true;
  return mysqlErrno(error) === ER_SIGNAL_EXCEPTION && String((error as Error).message).startsWith(REFUSAL_PREFIX);
}

/**
 * Inside a cleave writer's transaction on `database`, before it writes: reads the migration's
 * guard row under a shared lock (held to the commit, so a switch's flip of the row waits for this
 * transaction). The writer may go on when there is no guard there, or when the row denies this
 * side with the writer's epoch; otherwise it is refused. The primary side has no triggers (they
 * would cost every application write), so this is what stops a stale cleave writer there.
 */
export async function checkGuard(conn: Queryable, database: string, guard: SyncGuard): Promise<void> {
  let rows: GuardRow[];
  try {
    [rows] = (await conn.query({ sql: guardReadSql(database, guard), values: null })) as unknown as [GuardRow[]];
  } catch (error) {
    if (mysqlErrno(error) === ER_NO_SUCH_TABLE) return; // no guard table in this database
    throw error;
  }
  guardVerdict(database, guard, rows[0]);
}

/** The migration and guard epoch a cleave writer acts under (see `SyncOptions.guard`). */
export interface SyncGuard {
  readonly migrationId: string;
  readonly epoch: number;
}

/** A guard row as {@link guardReadSql} reads it (numbers as mysql2 returns them, or their bytes). */
export interface GuardRow {
  readonly epoch: string | number | Buffer;
  readonly denied: string | number | Buffer;
}

/**
 * The statement of {@link checkGuard}: the guard row of the writer's migration under a shared
 * lock (columns `epoch`, `denied`). Its one value is a hex literal, so it can run in a batch of
 * statements with the writer's first read.
 */
export function guardReadSql(database: string, guard: SyncGuard): string {
  return `SELECT epoch, denied FROM ${guardRowOf(database, guard)} LOCK IN SHARE MODE`;
}

/** `<guard table> WHERE <the writer's migration>`, its one value a hex literal (safe in a batch of statements). */
function guardRowOf(database: string, guard: SyncGuard): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(GUARD_TABLE)} WHERE migration_id = _utf8mb4 X'${Buffer.from(guard.migrationId, 'utf8').toString('hex')}'`;
}

/** Refuses a writer (`GuardRefusedError`) whose view the guard row contradicts; no row: no guard for this migration here. */
export function guardVerdict(database: string, guard: SyncGuard, row: GuardRow | undefined): void {
  if (row === undefined) return;
  const epoch = Number(String(row.epoch));
  if (Number(String(row.denied)) === GUARD_STATE.primary) {
    throw new GuardRefusedError(`${REFUSAL_PREFIX} ${database} is the write primary of migration ${guard.migrationId} now; a writer under guard epoch ${guard.epoch} may not write it`);
  }
  if (epoch !== guard.epoch) {
    throw new GuardRefusedError(`${REFUSAL_PREFIX} ${database} is guarded at epoch ${epoch} for migration ${guard.migrationId}; a writer under guard epoch ${guard.epoch} may not write it`);
  }
}

const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * A statement that fails (SQLSTATE 45000) unless the migration's guard row
 * in `database` says the side is a shadow nobody reads (state 1) at the writer's epoch; read under
 * a shared lock, held to the commit like {@link guardReadSql}'s, so a switch's change of the row
 * waits for the transaction. What the binlog capture's unlocked sync runs first, in the batch with
 * its writes: a shadow that serves reads, a moved epoch, a primary and a missing row all make it
 * take the locked sync, which checks the guard itself. A MariaDB compound statement: MySQL refuses
 * it as a syntax error, after which the capture keeps to the locked sync.
 */
export function unreadShadowAssertion(database: string, guard: SyncGuard): string {
  const epoch = String(Math.trunc(guard.epoch));
  return `BEGIN NOT ATOMIC IF NOT ((SELECT denied = ${GUARD_STATE.shadow} AND epoch = ${epoch} FROM ${guardRowOf(database, guard)} LOCK IN SHARE MODE) <=> TRUE) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${literal(LOCKED_SYNC_NEEDED)}; END IF; END`;
}

function triggerSql(side: GuardedTables, table: string, event: (typeof EVENTS)[number]): string {
  const db = quoteIdentifier(side.database);
  const message = `${REFUSAL_PREFIX} ${table} here is not the write primary of migration ${side.migrationName}; see cleave status`.slice(0, MAX_MESSAGE);
  return `CREATE TRIGGER IF NOT EXISTS ${db}.${quoteIdentifier(guardTriggerName(side.migrationId, table, event[1]))}
  BEFORE ${event[0]} ON ${db}.${quoteIdentifier(table)} FOR EACH ROW
BEGIN
  DECLARE guard_epoch BIGINT UNSIGNED DEFAULT NULL;
  DECLARE guard_denied TINYINT DEFAULT 1;
  SELECT epoch, denied INTO guard_epoch, guard_denied FROM ${db}.${quoteIdentifier(GUARD_TABLE)} WHERE migration_id = ${literal(side.migrationId)} LOCK IN SHARE MODE;
  IF guard_denied <> 0 AND NOT (${GUARD_EPOCH_VARIABLE} <=> guard_epoch) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${literal(message)};
  END IF;
END`;
}

/** Runs `fn` on one connection whose metadata-lock wait is bounded (DDL waits for transactions in flight on the table). */
async function withLockWait<T>(pool: TransactionalPool, lockWaitSeconds: number, fn: (run: (sql: string, values?: unknown[]) => Promise<unknown>) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  const run = async (sql: string, values?: unknown[]) => (await conn.query({ sql, values: values ?? null }))[0];
  try {
    await run(`SET @cleave_guard_lwt = @@session.lock_wait_timeout, SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(lockWaitSeconds))}`);
    try {
      return await fn(run);
    } finally {
      await run('SET SESSION lock_wait_timeout = @cleave_guard_lwt').catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/** {@link withLockWait} that also bounds the wait for row locks (a guard row update waits for the writes in flight that read it). */
async function withRowLockWait<T>(pool: TransactionalPool, lockWaitSeconds: number, fn: (run: (sql: string, values?: unknown[]) => Promise<unknown>) => Promise<T>): Promise<T> {
  return withLockWait(pool, lockWaitSeconds, async (run) => {
    await run(`SET @cleave_guard_ilwt = @@session.innodb_lock_wait_timeout, SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(lockWaitSeconds))}`);
    try {
      return await fn(run);
    } finally {
      await run('SET SESSION innodb_lock_wait_timeout = @cleave_guard_ilwt').catch(() => undefined);
    }
  });
}

async function ensureGuardTable(run: (sql: string, values?: unknown[]) => Promise<unknown>, database: string): Promise<void> {
  await run(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(database)}.${quoteIdentifier(GUARD_TABLE)} (
    migration_id VARCHAR(32) NOT NULL PRIMARY KEY,
    epoch BIGINT UNSIGNED NOT NULL,
    denied TINYINT(1) NOT NULL,
    updated_at DATETIME(6) NOT NULL
  ) ENGINE=InnoDB`);
}

/**
 * Puts the guard's triggers on this side's tables, still letting every write through (its row says
 * not denied) unless the row already denies: the slow part of a guard change (DDL, which waits for
 * the transactions in flight on each table), done before a switch holds writes. Idempotent.
 */
export async function prepareGuard(pool: TransactionalPool, side: GuardedTables, options: { lockWaitSeconds: number }): Promise<void> {
  await withLockWait(pool, options.lockWaitSeconds, async (run) => {
    await ensureGuardTable(run, side.database);
    await run(`INSERT IGNORE INTO ${quoteIdentifier(side.database)}.${quoteIdentifier(GUARD_TABLE)} (migration_id, epoch, denied, updated_at) VALUES (?, 0, 0, NOW(6))`, [side.migrationId]);
    for (const table of side.tables) for (const event of EVENTS) await run(triggerSql(side, table, event));
  });
}

/**
 * Sets whether this side refuses writes without `epoch` (the triggers must be in place: see
 * {@link prepareGuard}). One row update: it waits for the writes in flight that read the row
 * (at most `lockWaitSeconds`), and every later write sees the new state. Fast enough for a fence.
 */
export async function setGuard(pool: TransactionalPool, side: GuardedTables, state: { denied: boolean; epoch: number; servesReads?: boolean }, options: { lockWaitSeconds: number }): Promise<void> {
  await withRowLockWait(pool, options.lockWaitSeconds, async (run) => {
    let result: { affectedRows?: number };
    try {
      result = (await run(`UPDATE ${quoteIdentifier(side.database)}.${quoteIdentifier(GUARD_TABLE)} SET epoch = ?, denied = ?, updated_at = NOW(6) WHERE migration_id = ?`, [
        state.epoch,
        state.denied ? (state.servesReads === true ? GUARD_STATE.readShadow : GUARD_STATE.shadow) : GUARD_STATE.primary,
        side.migrationId,
      ])) as { affectedRows?: number };
    } catch (error) {
      if (mysqlErrno(error) === ER_NO_SUCH_TABLE && !state.denied) return; // no guard table: nothing denies here
      throw error;
    }
    // No row: nothing denies here, which is what an open side wants; a denied side needs its triggers first.
    if (Number(result.affectedRows ?? 0) !== 1 && state.denied) {
      throw new Error(`the placement guard of migration ${side.migrationName} is missing in ${side.database} (prepare it first)`);
    }
  });
}

/**
 * Marks whether this side, where it is a shadow, serves the application's reads (state 2) or not
 * (1), without opening or closing it: a switch of the reads marks it before it holds writes, and a
 * rollback of the reads clears the mark once every router reads the primary again. A primary side,
 * a missing row or table: unchanged (the capture's unlocked sync needs the row, so it keeps to the
 * locked one there). Waits for the syncs in flight that read the row, at most `lockWaitSeconds`.
 */
export async function markShadowReads(pool: TransactionalPool, side: GuardedTables, servesReads: boolean, options: { lockWaitSeconds: number }): Promise<void> {
  const state = servesReads ? GUARD_STATE.readShadow : GUARD_STATE.shadow;
  await withRowLockWait(pool, options.lockWaitSeconds, async (run) => {
    try {
      await run(`UPDATE ${quoteIdentifier(side.database)}.${quoteIdentifier(GUARD_TABLE)} SET denied = ?, updated_at = NOW(6) WHERE migration_id = ? AND denied <> ${GUARD_STATE.primary}`, [state, side.migrationId]);
    } catch (error) {
      if (mysqlErrno(error) !== ER_NO_SUCH_TABLE) throw error; // no guard table: nothing to mark
    }
  });
}

/** Makes this side refuse writes without `epoch`: {@link prepareGuard}, then {@link setGuard}. Idempotent. */
export async function denyWrites(pool: TransactionalPool, side: GuardedTables, epoch: number, options: { lockWaitSeconds: number }): Promise<void> {
  await prepareGuard(pool, side, options);
  await setGuard(pool, side, { denied: true, epoch }, options);
}

/**
 * Lets everyone write this side at no cost (it is the primary): the row stops denying, then the
 * triggers go. Idempotent; the row stays for the next switch.
 */
export async function allowWrites(pool: TransactionalPool, side: GuardedTables, options: { lockWaitSeconds: number }): Promise<void> {
  const db = quoteIdentifier(side.database);
  await withLockWait(pool, options.lockWaitSeconds, async (run) => {
    try {
      await run(`UPDATE ${db}.${quoteIdentifier(GUARD_TABLE)} SET denied = 0, updated_at = NOW(6) WHERE migration_id = ?`, [side.migrationId]);
    } catch (error) {
      if (mysqlErrno(error) !== ER_NO_SUCH_TABLE) throw error; // no guard table: nothing denies here
    }
    for (const table of side.tables) for (const [, e] of EVENTS) await run(`DROP TRIGGER IF EXISTS ${db}.${quoteIdentifier(guardTriggerName(side.migrationId, table, e))}`);
  });
}

/** Removes the guard of a migration from this side: triggers and row. */
export async function removeGuard(pool: TransactionalPool, side: GuardedTables, options: { lockWaitSeconds: number }): Promise<void> {
  await allowWrites(pool, side, options);
  await pool
    .query({ sql: `DELETE FROM ${quoteIdentifier(side.database)}.${quoteIdentifier(GUARD_TABLE)} WHERE migration_id = ?`, values: [side.migrationId] })
    .catch((error: unknown) => {
      if (mysqlErrno(error) !== ER_NO_SUCH_TABLE) throw error; // no guard table: nothing to remove
    });
}

/** The session assignment of a guard epoch (`null`: none), for a `SET` that changes other settings too. */
export function guardEpochAssignment(epoch: number | null | undefined): string {
  return `${GUARD_EPOCH_VARIABLE} = ${epoch === null || epoch === undefined ? 'NULL' : String(Math.trunc(epoch))}`;
}
