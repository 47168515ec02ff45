import type { PooledConnection, SyncQueryable, TransactionalPool, QueryOptions } from '@cleave/mysql';

/** The mysql2 callback connection methods the router uses (structural: no mysql2 type dependency). */
export interface RouterPoolConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown, fields: unknown) => void): void;
  query(options: QueryOptions, values: unknown[] | null, callback: (error: Error | null, result: unknown, fields: unknown) => void): void;
  query(sql: string, values: unknown[]): { stream(options: { objectMode: true; highWaterMark?: number }): AsyncIterable<unknown> };
  release(): void;
}

/**
 * A mysql2 pool as the service creates it (`mysql.createPool(...)`, or `MysqlPools#pool(url).callback`),
 * the same object a Kysely `MysqlDialect` takes. The router borrows connections from it and never
 * ends it (the service owns its pools).
 */
export interface RouterPool {
  getConnection(callback: (error: Error | null, connection: RouterPoolConnection) => void): void;
  /** mysql2's promise view of the same pool (used for cleave's shadow applies and catalog reads). */
  promise(): TransactionalPool & { query(sql: string, values?: unknown[]): Promise<[unknown, unknown]> };
}

/** Takes a connection from a pool. */
export function acquire(pool: RouterPool): Promise<RouterPoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))));
}

/** Runs one query on a callback connection. */
export function run(connection: RouterPoolConnection, sql: string | QueryOptions, values: readonly unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result));
    // mysql2 does not modify the values: no copy per statement.
    if (typeof sql === 'string') connection.query(sql, values as unknown[], done);
    else connection.query(sql, values as unknown[], done);
  });
}

/** A connection seen as the promise `Queryable` the sync primitives read through. */
export function asQueryable(connection: RouterPoolConnection): SyncQueryable & PooledConnection {
  return {
    query: (options: QueryOptions) =>
      new Promise((resolve, reject) =>
        connection.query(options, options.values ?? [], (error, result, fields) => (error ? reject(error) : resolve([result, fields]))),
      ),
    release: () => undefined,
  };
}
