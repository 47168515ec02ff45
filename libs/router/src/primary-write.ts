import type { CompiledQuery, QueryResult } from 'kysely';
import { imagesFromRaw, mysqlErrno, rawImageSelectList, rawTypeCast, rowKey, type KeyTuple, type RawRow, type TableShape } from '@cleave/mysql';
import type { RouterLog } from './router-config.js';
import { run, type RouterPoolConnection } from './router-pool.js';
import type { WriteKeyPlan, WriteResult } from './write-keys.js';

/**
 * An autocommit dual write runs only with at least this much lease left; its statement is bounded
 * by `max_statement_time` to the lease minus this margin, so it commits or dies while the lease holds.
 */
const AUTOCOMMIT_LEASE_MARGIN_MS = 100;
/** ER_STATEMENT_TIMEOUT: the statement hit its max_statement_time and was rolled back. */
const ER_STATEMENT_TIMEOUT = 1969;

const isOkPacket = (r: unknown): r is { insertId: number | string; affectedRows: number; changedRows?: number } =>
  typeof r === 'object' && r !== null && 'insertId' in r && 'affectedRows' in r;

/** The result Kysely expects, like its MysqlConnection builds it. */
export function toQueryResult<R>(result: unknown): QueryResult<R> {
  if (isOkPacket(result)) {
    const { insertId, affectedRows, changedRows } = result;
    return {
      insertId: insertId !== undefined && insertId !== null && insertId.toString() !== '0' ? BigInt(insertId) : undefined,
      numAffectedRows: affectedRows !== undefined && affectedRows !== null ? BigInt(affectedRows) : undefined,
      numChangedRows: changedRows !== undefined && changedRows !== null ? BigInt(changedRows) : undefined,
      rows: [],
    } as QueryResult<R>;
  }
  return { rows: (Array.isArray(result) ? result : []) as R[] };
}

/** A write's OK packet as the key plans read it. */
const writeResultOf = (result: unknown): WriteResult => (isOkPacket(result) ? result : {}) as WriteResult;

/** What the primary write of a dual write needs to know about the server and the lease. */
export interface PrimaryWriteContext {
  /** The primary is MariaDB (has `SET STATEMENT` and `INSERT … RETURNING`). */
  readonly mariadb: boolean;
  /** The table is moved whole (its images, returned by the insert, cover every key's place). */
  readonly wholeTable: boolean;
  /** Milliseconds the control-plane lease still holds (infinite without a control plane). */
  leaseRemainingMs(): number;
  /** Whether the lease still allows a commit. */
  mayCommit(): boolean;
  readonly log: RouterLog;
  readonly server: string;
}

/** The committed primary write: its result, the keys it touched, their images when the insert returned them. */
export interface PrimaryWritten {
  readonly result: unknown;
  readonly keys: KeyTuple[];
  readonly images: RawRow[] | undefined;
}

/**
 * Runs the primary statement of a dual write outside a caller's transaction and finds the keys
 * it touched, by one of two strategies: one autocommit statement (see {@link autocommitSql}), or
 * a primary transaction that finds the keys inside it and re-checks the lease before COMMIT.
 * `'lease-lapsed'`: nothing committed; the caller retries.
 */
export function writePrimary(
  context: PrimaryWriteContext,
  connection: RouterPoolConnection,
  compiled: CompiledQuery,
  plan: WriteKeyPlan,
  shape: TableShape,
  attempt: number,
): Promise<PrimaryWritten | 'lease-lapsed'> {
  const autocommit = autocommitSql(context, plan, compiled.sql, attempt);
  return autocommit === undefined ? transactionalWrite(context, connection, compiled, plan) : autocommitWrite(context, connection, autocommit, compiled, plan, shape);
}

/**
 * The primary statement of a dual write as one autocommit statement, when that is safe:
 * the touched keys come from the statement itself, the server can bound the statement's time
 * (MariaDB's `SET STATEMENT max_statement_time`) to the lease left, and this is a first
 * attempt. `undefined`: run it in a primary transaction instead.
 */
function autocommitSql(context: PrimaryWriteContext, plan: WriteKeyPlan, sql: string, attempt: number): string | undefined {
  if (plan.inTransaction || attempt > 1 || !context.mariadb) return undefined;
  const remaining = context.leaseRemainingMs();
  if (remaining === Number.POSITIVE_INFINITY) return sql; // no control plane: no lease to outlive
  if (remaining < 2 * AUTOCOMMIT_LEASE_MARGIN_MS) return undefined;
  return `SET STATEMENT max_statement_time = ${((remaining - AUTOCOMMIT_LEASE_MARGIN_MS) / 1000).toFixed(3)} FOR ${sql}`;
}

async function autocommitWrite(
  context: PrimaryWriteContext,
  connection: RouterPoolConnection,
  sql: string,
  compiled: CompiledQuery,
  plan: WriteKeyPlan,
  shape: TableShape,
): Promise<PrimaryWritten | 'lease-lapsed'> {
  const keys = await plan.before(connection);
  let result: unknown;
  let images: RawRow[] | undefined;
  try {
    if (plan.returnsImages === true && context.mariadb && context.wholeTable) {
      // The rows' images come back with the insert: no separate read of the primary.
      const returned = (await run(connection, { sql: `${sql} RETURNING ${rawImageSelectList(shape)}`, rowsAsArray: true, typeCast: rawTypeCast }, compiled.parameters)) as RawRow[];
      images = imagesFromRaw(shape, returned);
      const positions = shape.keyShapeColumns.map((_, i) => i);
      keys.push(...images.map((image) => rowKey(shape, image, positions)));
      const autoIncrement = shape.catalog.columns.some((c) => c.autoIncrement);
      result = { insertId: autoIncrement && images.length > 0 ? String(keys[0]![0]) : 0, affectedRows: images.length };
    } else {
      result = await run(connection, sql, compiled.parameters);
    }
  } catch (error) {
    // Interrupted at the lease bound: nothing committed; retried in a transaction.
    if (mysqlErrno(error) === ER_STATEMENT_TIMEOUT) {
      context.log({ level: 'info', message: 'a write ran into its lease bound and was interrupted (nothing committed); retrying it in a transaction', server: context.server });
      return 'lease-lapsed';
    }
    throw error;
  }
  if (images === undefined) keys.push(...(await plan.after(connection, writeResultOf(result))));
  return { result, keys, images };
}

async function transactionalWrite(context: PrimaryWriteContext, connection: RouterPoolConnection, compiled: CompiledQuery, plan: WriteKeyPlan): Promise<PrimaryWritten | 'lease-lapsed'> {
  await run(connection, 'BEGIN');
  try {
    const { result, keys } = await writeInTransaction(connection, compiled, plan);
    if (!context.mayCommit()) {
      await run(connection, 'ROLLBACK');
      return 'lease-lapsed';
    }
    await run(connection, 'COMMIT');
    return { result, keys, images: undefined };
  } catch (error) {
    await run(connection, 'ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The primary statement inside an open transaction (the router's or the caller's), and the keys it touched. */
export async function writeInTransaction(connection: RouterPoolConnection, compiled: CompiledQuery, plan: WriteKeyPlan): Promise<{ result: unknown; keys: KeyTuple[] }> {
  const keys = await plan.before(connection);
  const statement = plan.restrictTo?.(keys) ?? compiled;
  const result = await run(connection, statement.sql, statement.parameters);
  keys.push(...(await plan.after(connection, writeResultOf(result))));
  return { result, keys };
}
