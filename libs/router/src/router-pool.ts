import type { PooledConnection, SyncQueryable, TransactionalPool, QueryOptions } from '@cleave/mysql';

/** The mysql2 callback connection methods the router uses (structural: no mysql2 type dependency). */
export interface RouterPoolConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown, fields: unknown) => void): void;
  query(options: QueryOptions, values: unknown[] | null, callback: (error: Error | null, result: unknown, fields: unknown) => void): void;
  query(sql: string, values: unknown[]): { stream(options: { objectMode: true; highWaterMark?: number }): AsyncIterable<unknown> };
  release(): void;
  /** Closes the connection and takes it out of its pool (mysql2's pool connections have it). */
  destroy?(): void;
}

/**
 * A mysql2 pool as the service creates it (`mysql.createPool(...)`, or `MysqlPools#pool(url).callback`),
 * the same object a Kysely `MysqlDialect` takes. The router borrows connections from it and never
 * ends it (the service owns its pools).
 */
export interface RouterPool {
  getConnection(callback: (error: Error | null, connection: RouterPoolConnection) => void): void;
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

/** mysql2's error when a statement's `timeout` passed without an answer (the connection is then unusable). */
const STATEMENT_TIMED_OUT = 'PROTOCOL_SEQUENCE_TIMEOUT';

/**
 * A connection seen as the promise `Queryable` the sync primitives read through. `release`: what
 * its `release()` does (by default nothing: whoever took the connection releases it).
 * `timeoutMs`: a statement unanswered that long fails, and the connection is destroyed (mysql2
 * only reports the timeout; the half-done command would otherwise go back to the pool).
 */
function asQueryable(connection: RouterPoolConnection, release: () => void = () => undefined, timeoutMs?: number): SyncQueryable & PooledConnection {
  return {
    query: (options: QueryOptions) =>
      new Promise((resolve, reject) =>
        // `null` values: mysql2 then skips its placeholder scan (the sync primitives' SQL holds literals only).
        connection.query(timeoutMs === undefined ? options : { ...options, timeout: timeoutMs } as QueryOptions, options.values ?? null, (error, result, fields) => {
          if (error) {
            if ((error as { code?: string }).code === STATEMENT_TIMED_OUT) connection.destroy?.();
            reject(error);
          } else resolve([result, fields]);
        }),
      ),
    release,
    destroy: () => (connection.destroy === undefined ? release() : connection.destroy()),
  };
}

/**
 * A service pool seen as the promise pool the sync primitives take (shadow applies, confirms,
 * catalog reads). Not mysql2's `pool.promise()`: that wrapper captures a stack trace per query,
 * a few % of the router's CPU on the dual-write path.
 */
export function asTransactionalPool(pool: RouterPool, timeoutMs?: number): TransactionalPool & SyncQueryable & { query(sql: string, values?: unknown[]): Promise<[unknown, unknown]> } {
  return {
    // Options (the sync primitives) or SQL text and values (the catalog reader).
    query: async (options: QueryOptions | string, values?: unknown[]) => {
      const connection = await acquire(pool);
      try {
        return await asQueryable(connection, undefined, timeoutMs).query(typeof options === 'string' ? { sql: options, values: values ?? null } : options);
      } finally {
        connection.release();
      }
    },
    getConnection: async () => {
      const connection = await acquire(pool);
      return asQueryable(connection, () => connection.release(), timeoutMs);
    },
  };
}
