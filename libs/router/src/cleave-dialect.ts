import {
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { RouterError } from './router-error.js';
import { analyzeQuery } from './query-analysis.js';
import type { CleaveDialectConfig } from './router-config.js';
import { Router } from './router.js';
import type { RouterTransaction } from './router-transaction.js';
import { acquire, type RouterPoolConnection } from './router-pool.js';

/** One Kysely connection: statements route one by one; a transaction pins to one server. */
class CleaveConnection implements DatabaseConnection {
  readonly #router: Router;
  transaction: RouterTransaction | undefined;

  constructor(router: Router) {
    this.#router = router;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.transaction === undefined ? this.#router.executeAlone<R>(compiled) : this.transaction.execute<R>(compiled);
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    // Streams route like any read, on their own connection (not inside a transaction).
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    const { route, exit } = await this.#router.admit(analysis, compiled.query, compiled.sql, this.transaction !== undefined);
    exit();
    if (route.gate.length > 0 || route.dual !== undefined) {
      throw new RouterError('unsupported-write', 'a write cannot be streamed through the router (it would be neither held by a fence nor copied to the other side); execute it instead');
    }
    if (route.merge !== undefined && route.merge.kind !== 'rows') {
      throw new RouterError('shard-fanout-unsupported', 'a read of a sharded table without its shard key that orders or aggregates cannot be streamed: its shards are merged only once each answered; execute it instead', {
        hint: 'Execute the read (the router merges its shards), or give the shard key to stream one shard.',
      });
    }
    // A read fanned out over shards (a shape whose rows concatenate): each shard's rows in turn.
    for (const server of route.fanout.length > 0 ? route.fanout : [route.server]) {
      const connection: RouterPoolConnection = await acquire(this.#router.pool(server));
      try {
        const stream = connection.query(compiled.sql, compiled.parameters as unknown[]).stream({ objectMode: true, ...(chunkSize === undefined ? {} : { highWaterMark: chunkSize }) });
        for await (const row of stream) yield { rows: [row as R] };
      } finally {
        connection.release();
      }
    }
  }
}

class CleaveDriver implements Driver {
  readonly #router: Router;

  constructor(router: Router) {
    this.#router = router;
  }

  async init(): Promise<void> {
    await this.#router.start();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new CleaveConnection(this.#router);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    (connection as CleaveConnection).transaction = this.#router.transaction(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as CleaveConnection;
    const tx = c.transaction;
    c.transaction = undefined;
    await tx?.commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as CleaveConnection;
    const tx = c.transaction;
    c.transaction = undefined;
    await tx?.rollback();
  }

  async releaseConnection(): Promise<void> {
    // Connections are taken per statement (or per transaction) and returned by the router.
  }

  async destroy(): Promise<void> {
    await this.#router.close();
  }
}

/**
 * A Kysely dialect that routes every query by the migrations covering its tables: reads and
 * writes go where the migration's phase says, writes are dual-written (primary, then the touched
 * rows copied to the shadow side by key), held during a switch's fence, and failed shadow writes
 * are recorded for repair. The service's query code does not change.
 *
 * @example
 * ```ts
 * const store = await ControlStore.open({ pool: controlPool });
 * const dialect = new CleaveDialect({
 *   servers: { source: sourcePool, target1: target1Pool }, // the service's own mysql2 pools
 *   store, failures: store,
 *   channel: new RoutingChannel({ redis }),
 *   journalPath: '/var/lib/my-service/cleave-journal.jsonl',
 * });
 * const db = new Kysely<DB>({ dialect });
 * await db.insertInto('users').values({ email: 'a@example.com' }).execute(); // dual-written
 * ```
 */
export class CleaveDialect implements Dialect {
  /** The routing engine (status, shutdown). */
  readonly router: Router;

  constructor(config: CleaveDialectConfig) {
    this.router = new Router(config);
  }

  createDriver(): Driver {
    return new CleaveDriver(this.router);
  }

  createQueryCompiler(): QueryCompiler {
    return new MysqlQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new MysqlAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new MysqlIntrospector(db);
  }
}
