import type { CompiledQuery, QueryResult, RootOperationNode, TransactionSettings } from 'kysely';
import { MysqlQueryCompiler } from 'kysely';
import { CleaveError, type MigrationSide } from '@cleave/core';
import type { TableShape } from '@cleave/mysql';
import { FailureRecorder } from './failure-recorder.js';
import { mergeFanout, type ShardAnswer } from './fanout-merge.js';
import { writePrimary, toQueryResult } from './primary-write.js';
import { analyzeQuery, type QueryAnalysis } from './query-analysis.js';
import { RoutePlanner, type Route } from './route-planner.js';
import type { CleaveDialectConfig, RouterLog, ShadowFailureStore } from './router-config.js';
import { newRouterId, RouterControl } from './router-control.js';
import { RouterError } from './router-error.js';
import { NOOP_METRICS, type RouterMetrics } from './router-metrics.js';
import { acquire, asTransactionalPool, type RouterPool } from './router-pool.js';
import { RouterTransaction, type DualPlan, type TransactionHost } from './router-transaction.js';
import { sideEndpoints, type Endpoint, type RoutingTable } from './routing-table.js';
import { ShadowApplier, shadowWork, type ShadowWork } from './shadow-side.js';
import { cascadingChildren, mayCascade, withCascadeKeys, type CascadeChild } from './cascade-keys.js';
import { ShadowReader } from './shadow-reader.js';
import { TableShapes } from './table-shapes.js';
import { WriteGate } from './write-gate.js';
import { PoolWarmer } from './pool-warmer.js';
import { planWriteKeys } from './write-keys.js';

/** What the router knows about one server's pool. */
interface ServerInfo {
  readonly database: string;
  readonly autoIncMode: number;
  /** MariaDB (has `SET STATEMENT`): writes can be bounded per statement and applied optimistically. */
  readonly mariadb: boolean;
}

const NO_EXIT = (): void => undefined;

/** A status snapshot of the router (for health endpoints). */
export interface RouterStatus {
  readonly routerId: string;
  readonly leaseValid: boolean;
  readonly migrations: ReadonlyArray<{ id: string; name: string; phase: string; epoch: number; fenced: boolean }>;
  readonly heldWrites: number;
  readonly pendingFailures: number;
  readonly lastControlError: string | null;
}

/** No migration gate held yet (a statement outside a transaction, or a transaction's first). */
const NONE_ENTERED: ReadonlySet<string> = new Set();

/**
 * Where failed shadow writes are recorded: `failures`, else the migration store when it can record
 * them (a `ControlStore`). A router with neither and no journal refuses to start: its failures
 * would live only in memory, and a crash would lose the only record that the shadow missed a write.
 */
function failureStoreOf(config: CleaveDialectConfig): ShadowFailureStore | undefined {
  if (config.failures !== undefined) return config.failures;
  const store = config.store as Partial<ShadowFailureStore>;
  if (typeof store.recordShadowFailure === 'function') return store as ShadowFailureStore;
  if (config.journalPath !== undefined) return undefined;
  throw new CleaveError('CONFIG_INVALID', 'the router has nowhere durable to record a failed shadow write: give it `failures` (the ControlStore) or a `journalPath`', {
    hint: 'Pass the ControlStore as `store` (it records failures too), or `failures: store`; a `journalPath` on local disk is the fallback when the store is unreachable.',
  });
}

/**
 * The routing engine behind {@link CleaveDialect}: starts and closes, admits statements (the
 * write gate, held during fences) and dispatches them where the {@link RoutePlanner} says; dual
 * writes run by the primary-write strategies, then the {@link ShadowApplier}.
 */
export class Router implements TransactionHost {
  readonly routerId: string;
  readonly #config: CleaveDialectConfig;
  readonly #home: string;
  readonly #servers = new Map<string, ServerInfo>();
  readonly #shapes = new TableShapes((server) => this.#promisePool(server));
  readonly #compiler = new MysqlQueryCompiler();
  readonly #log: RouterLog;
  readonly metrics: RouterMetrics;
  readonly control: RouterControl;
  readonly gate: WriteGate;
  readonly #failures: FailureRecorder;
  readonly #shadowReader: ShadowReader;
  readonly #shadow: ShadowApplier;
  readonly #warmer = new PoolWarmer();
  /** Each server's pool as the sync primitives take it, made once. */
  readonly #promisePools = new Map<string, ReturnType<typeof asTransactionalPool>>();
  /** Each written table's cascading children (see {@link CascadeChild}), under the routing table they were found for. */
  readonly #cascades = new Map<string, { table: RoutingTable; children: readonly CascadeChild[] }>();
  /** Made by `start()`, once the home database is known. */
  #planner: RoutePlanner | undefined;
  #started: Promise<void> | undefined;
  /** `start()` finished: statements skip awaiting it. */
  #ready = false;
  #closed = false;

  constructor(config: CleaveDialectConfig) {
    this.#config = Object.freeze({ ...config });
    this.#home = config.home ?? 'source';
    this.routerId = config.routerId ?? newRouterId();
    this.#log = config.log ?? (() => undefined);
    this.metrics = config.metrics ?? NOOP_METRICS;
    if (config.servers[this.#home] === undefined) {
      throw new CleaveError('CONFIG_INVALID', `the home server "${this.#home}" is not in servers (${Object.keys(config.servers).join(', ')})`);
    }
    this.gate = new WriteGate({
      allowed: (id) => this.control.writeAllowed(id),
      holdTimeoutMs: config.holdTimeoutMs ?? 30_000,
      maxHeld: config.maxHeldWrites ?? 10_000,
      onHeld: (ms, ids) => {
        this.metrics.observe('cleave_router_write_held_ms', {}, ms);
        this.control.recordHeld(ids, ms);
      },
    });
    this.control = new RouterControl({
      store: config.store,
      channel: config.channel,
      routerId: this.routerId,
      service: config.service ?? 'service',
      leaseTtlMs: config.leaseTtlMs ?? 3_000,
      pollMs: config.pollMs ?? 1_000,
      log: this.#log,
      onChange: () => {
        this.gate.recheck();
        this.#prewarm();
      },
      idle: (id) => this.gate.idle(id),
      pendingFailures: (id) => this.#failures.pendingFor(id),
      drainReport: (id) => ({ inFlight: this.gate.inFlight(id), held: this.gate.held, busyLanes: this.#shadow.busyLanes() }),
      slowDrainLogMs: config.slowDrainLogMs ?? 1_000,
    });
    this.#failures = new FailureRecorder({ store: failureStoreOf(config), journalPath: config.journalPath, log: this.#log, metrics: this.metrics });
    this.#shadowReader = new ShadowReader({
      sampleRate: config.shadowReads?.sampleRate ?? 0,
      maxConcurrent: config.shadowReads?.maxConcurrent ?? 4,
      log: this.#log,
      metrics: this.metrics,
      tally: this.control.shadowReads,
    });
    this.#shadow = new ShadowApplier({
      pool: (server) => this.#promisePool(server),
      mariadb: (server) => this.#servers.get(server)?.mariadb === true,
      failures: this.#failures,
      log: this.#log,
      metrics: this.metrics,
      timeoutMs: config.shadowTimeoutMs ?? 2_000,
      retryAfterMs: config.shadowRetryAfterMs ?? 1_000,
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Probes the pools, loads the routing state, registers with the control plane. Idempotent. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      for (const name of Object.keys(this.#config.servers)) {
        const [rows] = (await this.#promisePool(name).query({ sql: 'SELECT DATABASE() AS db, @@innodb_autoinc_lock_mode AS mode, VERSION() AS version' })) as unknown as [
          Array<{ db: string | null; mode: number | string; version: string }>,
        ];
        const row = rows[0]!;
        if (row.db === null) throw new CleaveError('CONFIG_INVALID', `the pool of server "${name}" has no default database: give it the database the plans name on that server`);
        this.#servers.set(name, { database: row.db, autoIncMode: Number(row.mode), mariadb: /mariadb/i.test(row.version) });
      }
      this.#planner = new RoutePlanner({ server: this.#home, database: this.#servers.get(this.#home)!.database }, (error) => this.#refused(error));
      await this.control.start();
      this.#checkEndpoints();
      this.#failures.start();
      this.#ready = true;
    })();
    return this.#started;
  }

  /**
   * Refuses new writes, fails the held ones, waits (up to the hold timeout) for the writes in
   * flight to finish, their shadow work included, then leaves the control plane and drains the
   * failure journal; does not end the pools. Deregistering first would let a switch go ahead
   * without this router's ack while its writes still run by the old epoch.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.gate.close(new RouterError('router-closed', 'the router was destroyed while this write was held'));
    const drainMs = this.#config.holdTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.gate.drained().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), drainMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (!drained) this.#log({ level: 'warn', message: `router closed with writes still in flight after ${drainMs} ms (an open transaction?)` });
    await this.#shadowReader.idle(); // their counts go out with the control plane's last report
    await this.control.stop();
    await this.#failures.stop();
  }

  status(): RouterStatus {
    return {
      routerId: this.routerId,
      leaseValid: this.control.leaseValid,
      migrations: this.control.table.migrations.map((m) => ({ id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, fenced: this.control.fences.has(m.id) })),
      heldWrites: this.gate.held,
      pendingFailures: this.#failures.pending(),
      lastControlError: this.control.lastError,
    };
  }

  /** Waits until the shadow reads in flight finished (tests, shutdown). */
  shadowReadsIdle(): Promise<void> {
    return this.#shadowReader.idle();
  }

  /**
   * Loads the shape of every covered table on each of its sides, and opens connections to each
   * of its servers, ahead of use: a switch sends reads and writes to the other side, and a
   * catalog read (an information_schema query on a busy server) or new connections on the first
   * statements after the fence would lengthen the write pause.
   */
  #prewarm(): void {
    for (const covered of this.control.table.covered()) {
      if (covered.migration.phase === 'planned') continue;
      for (const endpoint of [covered.source, ...sideEndpoints(covered, 'target')]) {
        const pool = this.#config.servers[endpoint.server];
        if (pool === undefined) continue; // #checkEndpoints reports it
        this.#shapes.get(endpoint, covered.table).catch(() => undefined); // retried on next use or change
        this.#warmer.warm(pool);
      }
    }
  }

  #checkEndpoints(): void {
    const problems: string[] = [];
    const check = (e: Endpoint, what: string) => {
      const info = this.#servers.get(e.server);
      if (info === undefined) problems.push(`${what} is on server "${e.server}", which is not in servers`);
      else if (info.database !== e.database) problems.push(`${what} is database "${e.database}" but the pool of "${e.server}" uses "${info.database}"`);
    };
    for (const covered of this.control.table.covered()) {
      if (covered.migration.phase === 'planned') continue;
      check(covered.source, `the source of ${covered.table}`);
      for (const e of sideEndpoints(covered, 'target')) check(e, `a target of ${covered.table}`);
    }
    if (problems.length > 0) this.#log({ level: 'error', message: `routing config does not match the migrations: ${problems.join('; ')}` });
  }

  pool(server: string): RouterPool {
    const pool = this.#config.servers[server];
    if (pool === undefined) {
      throw new CleaveError('CONFIG_INVALID', `a migration routes to server "${server}", which the router has no pool for`, {
        hint: `Add a pool for "${server}" to the router's servers.`,
      });
    }
    return pool;
  }

  /** Server `server`'s pool (see {@link pool}) with the promise API the sync primitives take. */
  #promisePool(server: string): ReturnType<typeof asTransactionalPool> {
    let wrapper = this.#promisePools.get(server);
    if (wrapper === undefined) {
      wrapper = asTransactionalPool(this.pool(server), this.#config.shadowStatementTimeoutMs ?? 60_000);
      this.#promisePools.set(server, wrapper);
    }
    return wrapper;
  }

  // ---- admission: the write gate, then the route ---------------------------------------------------

  /**
   * Enters the write gate and, after it, routes (so a held write routes under the new epoch).
   * `entered`: migrations whose gate the caller (a transaction) already holds. Its later
   * statements to them pass without waiting: a fence that arrived meanwhile waits for that
   * transaction, so holding its next statement would deadlock the two until the fence's ack
   * deadline aborted the switch. The epoch cannot change under them: the fence holds the switch.
   */
  async admit(analysis: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean, entered: ReadonlySet<string> = NONE_ENTERED): Promise<{ route: Route; exit: () => void }> {
    // A transaction that already holds the gate may finish while the router closes (close waits for it).
    if (this.#closed && entered.size === 0) throw new RouterError('router-closed', 'the router was destroyed');
    if (!this.#ready) await this.start();
    const table = this.control.table;
    const first = this.#route(analysis, node, sql, inTransaction);
    for (const id of first.gate) {
      const mismatch = this.control.controlMismatch(id);
      if (mismatch !== null) {
        throw this.#refuse(
          new RouterError('control-plane-mismatch', mismatch, {
            hint: "Give the router's RoutingChannel the prefix the migration records (the CLI's queue prefix followed by ':', e.g. new RoutingChannel({ redis, prefix: 'cleave:' })).",
          }),
        );
      }
    }
    const pending = entered.size === 0 ? first.gate : first.gate.filter((id) => !entered.has(id));
    if (pending.length === 0) return { route: first, exit: () => undefined };
    await this.gate.enter(pending);
    // Routed again whenever the routing changed while the write waited at the gate, however
    // briefly: a write routed under the old epoch and released by the new one must not run on
    // the old primary (re-routing only after waits over 0.5 ms let one through: two primaries
    // handed out the same auto-increment id, seen as a lost write in the cutover e2e).
    const route = this.control.table !== table ? this.#route(analysis, node, sql, inTransaction) : first;
    return { route, exit: () => this.gate.exit(pending) };
  }

  /** Where a statement runs (see {@link RoutePlanner}); only once started. */
  #route(analysis: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean): Route {
    return this.#planner!.route(this.control.table, analysis, node, sql, inTransaction);
  }

  /** Whether writes to these migrations may still commit (lease still current). */
  mayCommit(ids: readonly string[]): boolean {
    return ids.every(() => this.control.leaseValid);
  }

  #refused(error: RouterError): void {
    this.metrics.increment('cleave_router_refused_total', { reason: error.reason });
  }

  #refuse(error: RouterError): RouterError {
    this.#refused(error);
    return error;
  }

  // ---- dispatch ------------------------------------------------------------------------------------

  /** Runs one statement outside a transaction. */
  async executeAlone<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const started = performance.now();
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    for (let attempt = 1; ; attempt += 1) {
      // Reads (no write gate) route synchronously: no promise hop on the hot path.
      const direct = this.#ready && !this.#closed ? this.#route(analysis, compiled.query, compiled.sql, false) : undefined;
      const { route, exit } = direct !== undefined && direct.gate.length === 0 ? { route: direct, exit: NO_EXIT } : await this.admit(analysis, compiled.query, compiled.sql, false);
      // A dual write stays in flight (for fences) until its shadow work settled.
      let settled: Promise<unknown> | undefined;
      try {
        this.metrics.increment('cleave_router_queries_total', { kind: analysis.kind, side: route.side });
        if (route.fanout.length > 0) {
          const answers = await Promise.all(route.fanout.map((server) => this.#answerOn(server, compiled)));
          return { rows: mergeFanout(route.merge ?? { kind: 'rows' }, answers) as R[] };
        }
        if (route.dual === undefined) {
          const result = await this.#runOn(route.server, compiled);
          if (route.gate.length > 0 && !this.mayCommit(route.gate)) {
            // Autocommit statements cannot be rolled back; the gate was checked just before.
            this.#log({ level: 'warn', message: 'lease lapsed while a write ran', server: route.server });
          }
          const out = toQueryResult<R>(result);
          if (route.read !== undefined) this.#shadowRead(route, compiled, out.rows);
          return out;
        }
        const dual = await this.#dualWrite<R>(route, compiled, attempt);
        settled = dual.settled;
        const outcome = dual.outcome;
        if (outcome === 'lease-lapsed') {
          if (attempt >= 3) throw new RouterError('write-held-timeout', 'the control-plane lease kept lapsing while this write ran; it was rolled back and not run');
          continue;
        }
        return outcome;
      } finally {
        if (settled === undefined) exit();
        else void settled.then(exit);
        this.metrics.observe('cleave_router_query_ms', { kind: analysis.kind }, performance.now() - started);
      }
    }
  }

  /** One statement on a pooled connection (one promise: this is every routed read's path). */
  #runOn(server: string, compiled: CompiledQuery): Promise<unknown> {
    return this.#queryOn(server, compiled, (result) => result);
  }

  /** One shard's answer to a fanned-out read: its rows and column definitions (see {@link mergeFanout}). */
  #answerOn(server: string, compiled: CompiledQuery): Promise<ShardAnswer> {
    return this.#queryOn(server, compiled, (result, fields) => ({
      rows: Array.isArray(result) ? (result as Array<Record<string, unknown>>) : [],
      fields: Array.isArray(fields) ? (fields as ShardAnswer['fields']) : undefined,
    }));
  }

  /** Runs `compiled` on a pooled connection of `server`, resolving with `answer` of its result (no extra promise hop). */
  #queryOn<T>(server: string, compiled: CompiledQuery, answer: (result: unknown, fields: unknown) => T): Promise<T> {
    const pool = this.pool(server);
    return new Promise((resolve, reject) => {
      pool.getConnection((error, connection) => {
        if (error) {
          reject(error);
          return;
        }
        connection.query(compiled.sql, compiled.parameters as unknown[], (queryError, result, fields) => {
          connection.release();
          if (queryError) reject(queryError);
          else resolve(answer(result, fields));
        });
      });
    });
  }

  /** Schedules a shadow read of a routed read (sampled, off the caller's path). */
  #shadowRead(route: Route, compiled: CompiledQuery, rows: readonly unknown[]): void {
    const read = route.read;
    if (read === undefined || route.fanout.length > 0) return;
    const phase = read.covered.migration.phase;
    if (phase === 'planned' || phase === 'dual_write' || phase === 'finalized') return; // the other side is incomplete or gone
    const other: MigrationSide = read.side === 'source' ? 'target' : 'source';
    const servers = sideEndpoints(read.covered, other).map((e) => e.server);
    if (servers.length !== 1) return;
    this.#shadowReader.maybeCompare(read.covered.table, compiled, rows, this.pool(route.server), this.pool(servers[0]!), read.covered);
  }

  /**
   * One dual write: the primary statement (see {@link writePrimary}), then the shadow apply.
   * `settled` resolves when no shadow work uses the primary connection.
   */
  async #dualWrite<R>(route: Route, compiled: CompiledQuery, attempt: number): Promise<{ outcome: QueryResult<R> | 'lease-lapsed'; settled: Promise<unknown> }> {
    const dual = route.dual!;
    const { plan, shape, cascaded } = await this.planDual(route, compiled.query);
    const connection = await acquire(this.pool(route.server));
    let released = false;
    try {
      const mariadb = this.#servers.get(route.server)?.mariadb === true;
      const written = await writePrimary(
        {
          mariadb,
          wholeTable: dual.covered.move.kind === 'tables',
          leaseRemainingMs: () => this.control.leaseRemainingMs(),
          mayCommit: () => this.mayCommit(route.gate),
          log: this.#log,
          server: route.server,
        },
        connection,
        compiled,
        plan,
        shape,
        attempt,
      );
      if (written === 'lease-lapsed') return { outcome: written, settled: Promise.resolve() };
      // Committed: the connection goes back to the pool before the shadow work, which reads the
      // primary through the pool (a write holding its connection while it waits for such a read
      // could leave the pool without one for the read).
      released = true;
      connection.release();
      const applied = [await this.#shadow.apply(shadowWork(dual, route.server, shape, written.keys, written.images))];
      for (const work of cascaded()) applied.push(await this.#shadow.apply(work));
      return { outcome: toQueryResult<R>(written.result), settled: applied.length === 1 ? applied[0]!.settled : Promise.all(applied.map((a) => a.settled)) };
    } finally {
      if (!released) connection.release();
    }
  }

  /** A transaction's state: one server, shadow work applied after commit. */
  transaction(settings: TransactionSettings): RouterTransaction {
    return new RouterTransaction(this, settings);
  }

  // ---- key plans and shadow work (dual writes, and transactions: see TransactionHost) --------------

  /**
   * Plans the touched-key search of a dual write; `cascaded` makes the shadow work of the child
   * rows the write changes through foreign keys (after the primary write found them).
   */
  async planDual(route: Route, node: RootOperationNode): Promise<DualPlan> {
    const dual = route.dual!;
    const endpoint: Endpoint = { server: route.server, database: dual.primary === 'source' ? dual.covered.source.database : this.#servers.get(route.server)!.database };
    const shape = await this.#shapes.get(endpoint, dual.covered.table);
    const plan = planWriteKeys(node, shape, this.#compiler, this.#servers.get(route.server)?.autoIncMode ?? 1);
    const children = mayCascade(node) ? cascadingChildren(node, this.#knownCascadeChildren(route, shape) ?? (await this.#cascadeChildren(route, endpoint, shape))) : [];
    if (children.length === 0) return { plan, shape, cascaded: () => [] };
    const withChildren = withCascadeKeys(plan, shape, children);
    return {
      plan: withChildren.plan,
      shape,
      cascaded: () => withChildren.found().map(({ child, keys }) => shadowWork({ covered: child.covered, primary: dual.primary, shadow: dual.shadow }, route.server, child.shape, keys)),
    };
  }

  /**
   * The tables of the written table's migration, on the same primary server, whose foreign keys
   * reference it (see {@link CascadeChild}); per routing table, kept once read.
   */
  async #cascadeChildren(route: Route, parentEndpoint: Endpoint, parent: TableShape): Promise<readonly CascadeChild[]> {
    const table = this.control.table;
    const dual = route.dual!;
    const children: CascadeChild[] = [];
    for (const covered of table.covered()) {
      if (covered.migration.id !== dual.covered.migration.id || covered.table === parent.table) continue;
      const endpoint = (dual.primary === 'source' ? [covered.source] : sideEndpoints(covered, 'target')).find((e) => e.server === parentEndpoint.server && e.database === parentEndpoint.database);
      if (endpoint === undefined) continue;
      const shape = await this.#shapes.get(endpoint, covered.table);
      for (const foreignKey of shape.catalog.foreignKeys) {
        if (foreignKey.referencedTable === parent.table && foreignKey.referencedSchema === parent.database) children.push({ covered, shape, foreignKey });
      }
    }
    this.#cascades.set(`${route.server}/${parent.database}.${parent.table}`, { table, children });
    return children;
  }

  /** The cascading children found for the current routing table, without a promise hop (a dual write's path); `undefined` until found. */
  #knownCascadeChildren(route: Route, parent: TableShape): readonly CascadeChild[] | undefined {
    const cached = this.#cascades.get(`${route.server}/${parent.database}.${parent.table}`);
    return cached !== undefined && cached.table === this.control.table ? cached.children : undefined;
  }

  /** Applies a committed write's shadow work (see {@link ShadowApplier.apply}); never throws. */
  applyShadow(work: ShadowWork): Promise<{ settled: Promise<unknown> }> {
    return this.#shadow.apply(work);
  }
}
