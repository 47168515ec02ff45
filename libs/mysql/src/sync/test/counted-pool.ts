// Test-only: a sync session's pool of one connection that counts what its syncs send.
import { parseConnectionUrl } from '../../connection-url.js';
import { MysqlPools } from '../../mysql-pools.js';
import type { PooledConnection, QueryOptions, TransactionalPool } from '../queryable.js';

/** Counts of a {@link countedSessionPool}: statements that set a sync's session, and the round trips of the syncs. */
export interface PoolCounts {
  sessionSetups: number;
  roundTrips: number;
}

/**
 * A pool of one connection to `url` for a `SyncSession`, counting the statements that set a sync's
 * session and the round trips of the syncs. `statementBatches`: a pool made to run them.
 */
export function countedSessionPool(url: string, settings: { statementBatches?: boolean } = {}): { pool: TransactionalPool; counts: PoolCounts; end: () => Promise<void> } {
  const pools = new MysqlPools({ maxConnectionsPerServer: 1, ...settings });
  const pool = pools.pool(parseConnectionUrl(url), { connectionLimit: 1 }).promise as unknown as TransactionalPool;
  const counts: PoolCounts = { sessionSetups: 0, roundTrips: 0 };
  const counted: TransactionalPool & { pool: unknown } = {
    pool: (pool as unknown as { pool: unknown }).pool, // what tells a session that its pool runs batches
    query: (options) => pool.query(options),
    getConnection: async () => {
      const conn = await pool.getConnection();
      return {
        ...conn,
        connection: (conn as unknown as { connection: unknown }).connection,
        query: (options: QueryOptions) => {
          if (options.sql.startsWith('SET @cleave_sync_fkc')) counts.sessionSetups += 1;
          else if (!options.sql.startsWith('SET SESSION TRANSACTION')) counts.roundTrips += 1;
          return conn.query(options);
        },
        release: () => conn.release(),
        destroy: () => conn.destroy?.(),
      } as PooledConnection;
    },
  };
  return { pool: counted, counts, end: () => pools.end() };
}
