import { CleaveError, type CleaveErrorCode } from '@cleave/core';

/** Why the router refused or could not run a query (callers may branch on it). */
export const ROUTER_ERROR_REASONS = [
  /** The query's tables live on different servers in the current phase (a cross-target join). */
  'cross-server-query',
  /** A transaction touched tables that live on different servers. */
  'cross-server-transaction',
  /** A write to a sharded table without its shard key (in the inserted values or an `=`/`IN` predicate). */
  'shard-key-missing',
  /** A read without the shard key that cannot be merged (ORDER BY, LIMIT, GROUP BY, aggregates, joins). */
  'shard-fanout-unsupported',
  /** Raw SQL that the parser could not read and that names a migrated table. */
  'raw-sql-unroutable',
  /** A write whose touched keys cannot be found exactly (so the shadow could not follow it). */
  'unsupported-write',
  /** A write held by a fence (or a lapsed lease) longer than its deadline. */
  'write-held-timeout',
  /** Too many writes are held already. */
  'write-queue-full',
  /** The router was destroyed. */
  'router-closed',
  /** The migration's fences go out on a routing channel this router does not listen to (another prefix, or none). */
  'control-plane-mismatch',
  /** A statement that is neither a read nor a row write (DDL, TRUNCATE, RENAME, ...) names a table a migration is moving. */
  'unsupported-statement',
] as const;

/** One of {@link ROUTER_ERROR_REASONS}. */
export type RouterErrorReason = (typeof ROUTER_ERROR_REASONS)[number];

const CODES: Record<RouterErrorReason, CleaveErrorCode> = {
  'cross-server-query': 'INVALID_ARGUMENT',
  'cross-server-transaction': 'INVALID_ARGUMENT',
  'shard-key-missing': 'INVALID_ARGUMENT',
  'shard-fanout-unsupported': 'INVALID_ARGUMENT',
  'raw-sql-unroutable': 'INVALID_ARGUMENT',
  'unsupported-write': 'INVALID_ARGUMENT',
  'write-held-timeout': 'TIMEOUT',
  'write-queue-full': 'TIMEOUT',
  'router-closed': 'ABORTED',
  'control-plane-mismatch': 'CONFIG_INVALID',
  'unsupported-statement': 'INVALID_ARGUMENT',
};

/**
 * A query the router refused, or a held write that ran out of time. `reason` says which; the
 * message names the tables and servers involved.
 *
 * @example
 * try { await db.selectFrom('users').innerJoin('sessions', ...).execute() }
 * catch (e) { if (e instanceof RouterError && e.reason === 'cross-server-query') ... }
 */
export class RouterError extends CleaveError {
  readonly reason: RouterErrorReason;

  constructor(reason: RouterErrorReason, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(CODES[reason], message, options);
    this.reason = reason;
  }
}
