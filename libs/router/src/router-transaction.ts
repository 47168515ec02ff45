import type { CompiledQuery, QueryResult, RootOperationNode, TransactionSettings } from 'kysely';
import type { TableShape } from '@cleave/mysql';
import { writeInTransaction, toQueryResult } from './primary-write.js';
import { analyzeQuery, type QueryAnalysis } from './query-analysis.js';
import type { Route } from './route-planner.js';
import { RouterError } from './router-error.js';
import type { RouterMetrics } from './router-metrics.js';
import { acquire, run, type RouterPool, type RouterPoolConnection } from './router-pool.js';
import { shadowWork, type ShadowWork } from './shadow-side.js';
import type { WriteKeyPlan } from './write-keys.js';

/** How a dual write finds its keys, its table's shape, and the shadow work of the child rows it cascades to. */
export interface DualPlan {
  readonly plan: WriteKeyPlan;
  readonly shape: TableShape;
  /** After the primary write: the shadow work of child rows its foreign keys changed. */
  cascaded(): ShadowWork[];
}

/** What a transaction asks of the router: admission, pools, key plans, the shadow side, the lease. */
export interface TransactionHost {
  readonly metrics: RouterMetrics;
  admit(analysis: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean, entered: ReadonlySet<string>): Promise<{ route: Route; exit: () => void }>;
  pool(server: string): RouterPool;
  planDual(route: Route, node: RootOperationNode): Promise<DualPlan>;
  applyShadow(work: ShadowWork): Promise<{ settled: Promise<unknown> }>;
  mayCommit(ids: readonly string[]): boolean;
}

/**
 * A Kysely transaction through the router: pinned to the server of its first statement; its
 * writes stay in flight for fences until it ends, and their shadow work is applied after COMMIT.
 */
export class RouterTransaction {
  readonly #host: TransactionHost;
  readonly #settings: TransactionSettings;
  #server: string | undefined;
  #connection: RouterPoolConnection | undefined;
  readonly #gate = new Set<string>();
  readonly #exits: Array<() => void> = [];
  readonly #work: ShadowWork[] = [];

  constructor(host: TransactionHost, settings: TransactionSettings) {
    this.#host = host;
    this.#settings = settings;
  }

  async execute<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    const { route, exit } = await this.#host.admit(analysis, compiled.query, compiled.sql, true, this.#gate);
    const newGate = route.gate.filter((id) => !this.#gate.has(id));
    if (newGate.length > 0) {
      route.gate.forEach((id) => this.#gate.add(id));
      this.#exits.push(exit); // in flight until commit/rollback
    } else {
      exit();
    }
    if (route.fanout.length > 0) throw new RouterError('cross-server-transaction', 'a read without the shard key spans servers and cannot run inside a transaction');
    const connection = await this.#pin(route.server);
    this.#host.metrics.increment('cleave_router_queries_total', { kind: analysis.kind, side: route.side });
    if (route.dual === undefined) return toQueryResult<R>(await run(connection, compiled.sql, compiled.parameters));
    const { plan, shape, cascaded } = await this.#host.planDual(route, compiled.query);
    const { result, keys } = await writeInTransaction(connection, compiled, plan);
    this.#work.push(shadowWork(route.dual, route.server, shape, keys), ...cascaded());
    return toQueryResult<R>(result);
  }

  async #pin(server: string): Promise<RouterPoolConnection> {
    if (this.#server !== undefined && this.#server !== server) {
      throw new RouterError('cross-server-transaction', `this transaction runs on server "${this.#server}" and a statement needs server "${server}": a transaction cannot span servers`, {
        hint: 'Split the transaction per server (the plan listed it under brokenStatements).',
      });
    }
    if (this.#connection === undefined) {
      this.#server = server;
      this.#connection = await acquire(this.#host.pool(server));
      const parts: string[] = [];
      if (this.#settings.isolationLevel) parts.push(`isolation level ${this.#settings.isolationLevel}`);
      if (this.#settings.accessMode) parts.push(this.#settings.accessMode);
      if (parts.length > 0) await run(this.#connection, `set transaction ${parts.join(', ')}`);
      await run(this.#connection, 'begin');
    }
    return this.#connection;
  }

  async commit(): Promise<void> {
    const connection = this.#connection;
    try {
      if (connection === undefined) return;
      if (!this.#host.mayCommit([...this.#gate])) {
        await run(connection, 'rollback').catch(() => undefined);
        throw new RouterError('write-held-timeout', 'the control-plane lease lapsed during this transaction; it was rolled back so that no write reaches a primary that may have changed', {
          hint: 'Retry the transaction.',
        });
      }
      await run(connection, 'commit');
      // Committed: the connection goes back to the pool before the shadow work reads the primary.
      this.#releaseConnection();
      const settled: Promise<unknown>[] = [];
      for (const work of this.#work) settled.push((await this.#host.applyShadow(work)).settled);
      this.#end(Promise.all(settled));
    } finally {
      this.#end();
    }
  }

  async rollback(): Promise<void> {
    try {
      if (this.#connection !== undefined) await run(this.#connection, 'rollback');
    } finally {
      this.#work.length = 0; // nothing is shadowed after a rollback
      this.#end();
    }
  }

  #releaseConnection(): void {
    this.#connection?.release();
    this.#connection = undefined;
  }

  /** Ends the transaction: its connection goes back to the pool, its writes leave the gate after `settled`. */
  #end(settled: Promise<unknown> = Promise.resolve()): void {
    this.#releaseConnection();
    this.#server = undefined;
    const exits = this.#exits.splice(0);
    void settled.then(() => {
      for (const exit of exits) exit();
    });
    this.#gate.clear();
  }
}
