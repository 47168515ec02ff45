import { Kysely, MysqlDialect, type KyselyConfig, type MysqlPool } from 'kysely';
import type { ConnectionUrl } from './connection-url.js';
import type { MysqlPools, PoolOptions } from './mysql-pools.js';

/** Per-call options of {@link createKysely}. */
export interface CreateKyselyOptions extends PoolOptions {
  /** Passed to Kysely as is (plugins, logging). */
  readonly kysely?: Omit<KyselyConfig, 'dialect'>;
}

/**
 * A Kysely instance over the budgeted pool of `url` in `pools` (Kysely's `MysqlDialect`).
 *
 * The pool belongs to `pools`: `db.destroy()` does not end it; `pools.end()` does.
 *
 * @example
 * ```ts
 * interface DB { users: { id: string; email: string } }
 * const db = createKysely<DB>(pools, parseConnectionUrl('mysql://app:pw@db1/accounts'));
 * const users = await db.selectFrom('users').select(['id', 'email']).execute();
 * ```
 */
export function createKysely<DB>(pools: MysqlPools, url: ConnectionUrl, options: CreateKyselyOptions = {}): Kysely<DB> {
  const pool = pools.callbackPool(url, options.connectionLimit === undefined ? {} : { connectionLimit: options.connectionLimit });
  const borrowed: MysqlPool = {
    getConnection: (callback) => pool.getConnection(callback),
    // The registry owns the pool: Kysely's destroy() must not end it under other users.
    end: (callback) => callback(undefined),
  };
  return new Kysely<DB>({ ...options.kysely, dialect: new MysqlDialect({ pool: borrowed }) });
}
