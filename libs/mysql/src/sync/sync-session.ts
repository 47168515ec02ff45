import { CleaveError } from '@cleave/core';
import { GUARD_STATE } from '../guard/placement-guard.js';
import { syncCapturedKeys, type CapturedSyncResult, type UnlockedSyncState } from './captured-keys.js';
import type { PooledConnection, TransactionalPool } from './queryable.js';
import { destroy, setSyncSession, syncKeysWith, type SyncConnections, type SyncGuard, type SyncKeysArgs, type SyncResult } from './sync-rows.js';

/**
 * A writer's syncs under one guard on a pool of their own: each of the pool's connections gets
 * the sync session (foreign key checks off, autocommit off, READ COMMITTED, the guard epoch) once,
 * the first time it serves, and keeps it; two round trips less per sync than a shared pool, where
 * each sync sets and resets its session. The pool must serve nothing else (its connections carry
 * those settings); a connection that broke or failed mid-transaction is closed, not reused.
 *
 * @example
 * ```ts
 * const pools = new MysqlPools({ maxConnectionsPerServer: 4 });
 * const session = new SyncSession(pools.pool(targetUrl).promise, { migrationId, epoch });
 * await session.syncKeys({ source, sourceShape: shape, targetTable, keys, options: { guard: { migrationId, epoch } } });
 * await pools.end();
 * ```
 */
export class SyncSession {
  readonly #pool: TransactionalPool;
  readonly #guard: SyncGuard | undefined;
  /** The connections (mysql2's, under each checkout's wrapper) whose session is set. */
  readonly #prepared = new WeakSet<object>();
  readonly #connections: SyncConnections;
  readonly #unlocked: UnlockedSyncState = { locked: false, unsupported: false };

  /** `target`: a pool for these syncs only. `guard`: the epoch every sync of this session writes under. */
  constructor(target: TransactionalPool, guard?: SyncGuard) {
    this.#pool = target;
    this.#guard = guard;
    this.#connections = {
      batches: runsStatementBatches(target),
      take: async (ctx) => {
        const conn = await this.#pool.getConnection();
        const identity = connectionIdentity(conn);
        if (this.#prepared.has(identity)) return conn;
        await setSyncSession(conn, ctx, 'session');
        this.#prepared.add(identity);
        return conn;
      },
      give: (_ctx, conn, reusable) => (reusable ? conn.release() : destroy(conn)),
      guardRead: (state) => {
        this.#unlocked.locked = state !== GUARD_STATE.shadow;
      },
    };
  }

  /** `syncKeys` (the locked sync) on this session's pool; the options' guard must be the session's. */
  async syncKeys(args: Omit<SyncKeysArgs, 'target'>): Promise<SyncResult> {
    this.#requireSessionGuard(args);
    return syncKeysWith({ ...args, target: this.#pool }, this.#connections);
  }

  /**
   * The binlog capture's sync of keys it read changing: the primary's rows under a shared lock,
   * then one round trip to the shadow, while the shadow's guard row says nobody reads it (see
   * captured-keys.ts for why that order is right for a binlog reader, and only for one);
   * {@link syncKeys} otherwise, and for what that round trip could not apply. Unlocked only on a
   * pool that runs statement batches, under a guard, on MariaDB.
   */
  async syncCapturedKeys(args: Omit<SyncKeysArgs, 'target'>): Promise<CapturedSyncResult> {
    this.#requireSessionGuard(args);
    return syncCapturedKeys({ ...args, target: this.#pool }, this.#connections, this.#unlocked);
  }

  #requireSessionGuard(args: Omit<SyncKeysArgs, 'target'>): void {
    const guard = args.options?.guard;
    if (guard?.migrationId !== this.#guard?.migrationId || guard?.epoch !== this.#guard?.epoch) {
      throw new CleaveError('INVALID_ARGUMENT', `a sync session set for guard ${JSON.stringify(this.#guard ?? null)} was asked to sync under ${JSON.stringify(guard ?? null)}: open a session (and a pool) per guard epoch`);
    }
  }
}

/** A mysql2 pool made with `multipleStatements` (`MysqlPools`' `statementBatches`): its syncs fold statements into fewer round trips. */
function runsStatementBatches(pool: TransactionalPool): boolean {
  const inner = (pool as { pool?: { config?: { connectionConfig?: { multipleStatements?: unknown } } } }).pool;
  return inner?.config?.connectionConfig?.multipleStatements === true;
}

/** The server connection behind a checkout: mysql2's promise pool wraps the same connection anew each time. */
function connectionIdentity(conn: PooledConnection): object {
  const inner = (conn as { connection?: unknown }).connection;
  return typeof inner === 'object' && inner !== null ? inner : conn;
}
