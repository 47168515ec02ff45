import type { RoutingChannel } from '@cleave/control';
import type { RouterMetrics } from './router-metrics.js';
import type { MigrationSource } from './router-control.js';
import type { RouterPool } from './router-pool.js';

/** One log entry of the router (plug in pino, console, …). */
export interface RouterLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly [field: string]: unknown;
}

/** Where the router's log entries go. */
export type RouterLog = (entry: RouterLogEntry) => void;

/** Where a failed shadow write is recorded: a `ControlStore` fits. */
export interface ShadowFailureStore {
  /** `options.guardEpoch`: the placement the write was routed under (see `ControlStore.recordShadowFailure`). */
  recordShadowFailure(migrationId: string, table: string, keyValues: string, error: string, options?: { guardEpoch?: number }): Promise<void>;
}

/** Construction settings of {@link CleaveDialect}. */
export interface CleaveDialectConfig {
  /**
   * The service's own mysql2 pools, by server name as the plans name them (`source`, `target1`…).
   * Each pool's default database must be the database the plans name on that server. The router
   * borrows connections and never ends these pools.
   */
  readonly servers: Readonly<Record<string, RouterPool>>;
  /**
   * The server of every table no migration covers.
   * @defaultValue 'source'
   */
  readonly home?: string;
  /** The migrations to route by: a `ControlStore` (or anything with `listMigrations()`). */
  readonly store: MigrationSource;
  /**
   * The Redis routing channel: lease, fences, epoch pushes and acks. Without it the router only
   * polls the store, takes part in no fence and is not counted by the coordinator: fine for
   * development, not for a switch under load.
   */
  readonly channel?: RoutingChannel;
  /**
   * Durable record of failed shadow writes (repaired by the worker).
   * @defaultValue `store`, when it can record them (a `ControlStore` can). Without either this or
   * `journalPath` the router refuses to start: a failed shadow write would live only in memory.
   */
  readonly failures?: ShadowFailureStore;
  /**
   * A file the router appends failed shadow writes to (JSON lines, fsync'd) when the failure store
   * cannot be reached either; drained into the store when it is back (at start, then every few
   * seconds). Without it such failures are retried from memory only and lost if the process dies.
   */
  readonly journalPath?: string;
  /** The name this service registers with (shown by `cleave status`). @defaultValue 'service' */
  readonly service?: string;
  /** @defaultValue host-pid-random */
  readonly routerId?: string;
  /**
   * Milliseconds a lease lasts without a heartbeat (heartbeats every third of it).
   * @defaultValue 3000
   */
  readonly leaseTtlMs?: number;
  /**
   * Milliseconds between polls of the store and fences (the fallback for lost pub/sub messages).
   * @defaultValue 1000
   */
  readonly pollMs?: number;
  /**
   * Milliseconds a write may be held by a fence or a lapsed lease before it fails (not run).
   * @defaultValue 30000
   */
  readonly holdTimeoutMs?: number;
  /**
   * Most writes held at once; more fail at once.
   * @defaultValue 10000
   */
  readonly maxHeldWrites?: number;
  /**
   * Milliseconds after a fence arrived when, if writes of the migration are still in flight (so
   * the fence is not acknowledged yet), the router logs a warning with what they wait for: the
   * in-flight count and each busy batching lane (queued items, age of the running batch). The
   * coordinator's ack deadline is 2 s by default, so this names the cause before a switch aborts.
   * @defaultValue 1000
   */
  readonly slowDrainLogMs?: number;
  /**
   * Milliseconds a shadow apply may take before the caller stops waiting for it (it is recorded
   * as failed and repaired; the apply itself may still finish).
   * @defaultValue 2000
   */
  readonly shadowTimeoutMs?: number;
  /**
   * After a shadow server failed, milliseconds during which shadow applies to it are not tried
   * (recorded straight away), so an outage does not slow every caller down.
   * @defaultValue 1000
   */
  readonly shadowRetryAfterMs?: number;
  /**
   * Milliseconds a statement of the router's own (image reads, shadow writes, confirms, their
   * locked fallbacks) may go unanswered before its connection is destroyed and the statement
   * fails. The shadow work of concurrent writes to a table is batched, one statement at a time:
   * a server that stops answering without closing the connection (a network black hole) would
   * otherwise hold up that table's shadow work until TCP gives up. Keep it above the servers'
   * `innodb_lock_wait_timeout`, so that a lock wait fails on the server first.
   * @defaultValue 60000
   */
  readonly shadowStatementTimeoutMs?: number;
  /** Shadow reads: a sample of reads also runs on the other side and is compared. */
  readonly shadowReads?: {
    /** Share of eligible reads (0..1). @defaultValue 0 */
    readonly sampleRate: number;
    /** Most shadow reads running at once; more are skipped. @defaultValue 4 */
    readonly maxConcurrent?: number;
  };
  /** Counters and histograms (register them with prom-client or your metrics library). */
  readonly metrics?: RouterMetrics;
  readonly log?: RouterLog;
}
