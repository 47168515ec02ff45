import type { ControlStore } from '@cleave/control';
import type { Queryable, TransactionalPool } from '@cleave/mysql';
import type { ThrottleGate } from './throttle/throttle-gate.js';

/**
 * A pool on one server: a mysql2 promise pool (`ServerPool.promise`), or anything with its
 * `query` (both the `(sql, values)` and the `(options)` forms) and `getConnection`. The processors
 * only borrow connections from it, never open any.
 */
export type BackfillPool = Queryable & TransactionalPool;

/**
 * The pool of a server named in the plan (`plan.source.server`, `plan.targets[t].server`). The
 * worker resolves names through its server config and {@link MysqlPools}, so that a worker opens
 * at most its pool size per server whatever the number of jobs. Queries name the database
 * explicitly, so the pool's default database does not matter.
 *
 * @example
 * const servers: ServerResolver = (name) => pools.pool(config.servers[name]).promise;
 */
export type ServerResolver = (serverName: string) => BackfillPool;

/** One line for the worker's log (it adds the job and the process). */
export interface BackfillLogEntry {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
  readonly migrationId: string;
  readonly unit?: string;
  readonly segmentNo?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What both processors need from the worker. */
export interface BackfillDeps {
  readonly store: ControlStore;
  readonly servers: ServerResolver;
  /** Who does the work (worker id), recorded as the segment owner and the events' actor. */
  readonly owner: string;
  /** Waited on between chunks. @defaultValue always open */
  readonly gate?: Pick<ThrottleGate, 'waitUntilOpen'>;
  /** Stops a copy between chunks (after the checkpoint) with a `CleaveError('ABORTED')`. */
  readonly signal?: AbortSignal;
  readonly log?: (entry: BackfillLogEntry) => void;
}
