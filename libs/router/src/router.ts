import { CompiledQuery, MysqlQueryCompiler, type QueryResult, type RootOperationNode, type TransactionSettings } from 'kysely';
import { CleaveError, type MigrationSide } from '@cleave/core';
import { encodeShadowKeys } from '@cleave/control';
import { applyKeys, confirmApplies, prepareApply, readApplyImages, writeApplies, imagesFromRaw, mysqlErrno, rawImageSelectList, rawTypeCast, readCatalog, rowKey, tableShape, type AppliedKeys, type ApplyKeysArgs, type KeyTuple, type PendingConfirm, type PreparedApply, type RawRow, type SyncOptions, type TableShape } from '@cleave/mysql';
import { ConfirmBatcher } from './confirm-batcher.js';
import { FailureRecorder } from './failure-recorder.js';
import { LaneBatcher } from './lane-batcher.js';
import { analyzeQuery, updatedColumns, type QueryAnalysis, type TableName } from './query-analysis.js';
import { mentionsTable, parseRawSql } from './raw-sql.js';
import type { CleaveDialectConfig, RouterLog, ShadowFailureStore } from './router-config.js';
import { newRouterId, RouterControl } from './router-control.js';
import { RouterError } from './router-error.js';
import { NOOP_METRICS, type RouterMetrics } from './router-metrics.js';
import { acquire, asTransactionalPool, run, type RouterPool, type RouterPoolConnection } from './router-pool.js';
import { shardEndpoint, shardKeyValue, sideEndpoints, type CoveredTable, type Endpoint, type RoutingTable } from './routing-table.js';
import { ShadowReader } from './shadow-reader.js';
import { WriteGate } from './write-gate.js';
import { planWriteKeys, statementKeyValues, type WriteKeyPlan, type WriteResult } from './write-keys.js';

/**
 * Row images on the dual-write path are built here from plain column reads: a one-row image read
 * then costs the primary about a third of the server-built form's CPU (its CONCAT/HEX expression
 * is mostly parse and setup), and the primary is the server the migration exists to relieve.
 */
const SYNC_OPTIONS: SyncOptions = { imageLiterals: 'client' };

/** What the router knows about one server's pool. */
interface ServerInfo {
  readonly database: string;
  readonly autoIncMode: number;
  /** MariaDB (has `SET STATEMENT`): writes can be bounded per statement and applied optimistically. */
  readonly mariadb: boolean;
}

/**
 * An autocommit dual write runs only with at least this much lease left; its statement is bounded
 * by `max_statement_time` to the lease minus this margin, so it commits or dies while the lease holds.
 */
const AUTOCOMMIT_LEASE_MARGIN_MS = 100;
const NO_EXIT = (): void => undefined;
/** ER_STATEMENT_TIMEOUT: the statement hit its max_statement_time and was rolled back. */
const ER_STATEMENT_TIMEOUT = 1969;

/** Where one statement runs. */
export interface Route {
  readonly server: string;
  /** More than one server: a shard read fanned out (rows concatenated). */
  readonly fanout: readonly string[];
  /** The written covered table, when the write has a shadow. */
  readonly dual: { readonly covered: CoveredTable; readonly primary: MigrationSide; readonly shadow: MigrationSide } | undefined;
  /** Migrations whose writes this statement is (gated by fences). */
  readonly gate: readonly string[];
  /** For reads: the covered tables and the side read (shadow-read candidates). */
  readonly read: { readonly covered: CoveredTable; readonly side: MigrationSide } | undefined;
  readonly side: 'source' | 'target' | 'home' | 'fanout';
}

/** A status snapshot of the router (for health endpoints). */
export interface RouterStatus {
  readonly routerId: string;
  readonly leaseValid: boolean;
  readonly migrations: ReadonlyArray<{ id: string; name: string; phase: string; epoch: number; fenced: boolean }>;
  readonly heldWrites: number;
  readonly pendingFailures: number;
  readonly lastControlError: string | null;
}

const isOkPacket = (r: unknown): r is { insertId: number | string; affectedRows: number; changedRows?: number } =>
  typeof r === 'object' && r !== null && 'insertId' in r && 'affectedRows' in r;

/** The result Kysely expects, like its MysqlConnection builds it. */
export function toQueryResult<R>(result: unknown): QueryResult<R> {
  if (isOkPacket(result)) {
    const { insertId, affectedRows, changedRows } = result;
    return {
      insertId: insertId !== undefined && insertId !== null && insertId.toString() !== '0' ? BigInt(insertId) : undefined,
      numAffectedRows: affectedRows !== undefined && affectedRows !== null ? BigInt(affectedRows) : undefined,
      numChangedRows: changedRows !== undefined && changedRows !== null ? BigInt(changedRows) : undefined,
      rows: [],
    } as QueryResult<R>;
  }
  return { rows: (Array.isArray(result) ? result : []) as R[] };
}

/** Shadow work of one statement, applied after the primary commit. */
interface ShadowWork {
  readonly covered: CoveredTable;
  readonly primary: MigrationSide;
  readonly shadow: MigrationSide;
  readonly primaryServer: string;
  readonly shape: TableShape;
  readonly keys: KeyTuple[];
  /** The rows' images as the primary committed them (INSERT … RETURNING), when known. */
  readonly images?: readonly RawRow[];
}

/** No migration gate held yet (a statement outside a transaction, or a transaction's first). */
const NONE_ENTERED: ReadonlySet<string> = new Set();


/** The parts of a SELECT whose per-shard answers concatenate into the whole answer. */
const MERGEABLE_SELECT_PARTS = new Set(['kind', 'from', 'selections', 'where']);

/** A statement kind as people name it: `AlterTableNode` -> `ALTER TABLE`, `truncate` -> `TRUNCATE`. */
function describeStatement(statement: string): string {
  const words = statement.replace(/Node$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  return `${/^[AEIOU]/.test(words) ? 'an' : 'a'} ${words} statement`;
}

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
 * The routing engine behind {@link CleaveDialect}: decides where each statement runs, runs dual
 * writes, holds writes during fences, records failed shadow writes.
 */
export class Router {
  readonly routerId: string;
  readonly #config: CleaveDialectConfig;
  readonly #home: string;
  readonly #servers = new Map<string, ServerInfo>();
  readonly #shapes = new Map<string, Promise<TableShape>>();
  readonly #compiler = new MysqlQueryCompiler();
  readonly #log: RouterLog;
  readonly metrics: RouterMetrics;
  readonly control: RouterControl;
  readonly gate: WriteGate;
  readonly #failures: FailureRecorder;
  readonly #shadowReader: ShadowReader;
  readonly #shadowDownUntil = new Map<string, number>();
  /** Each server's pool as the sync primitives take it, made once. */
  readonly #promisePools = new Map<string, ReturnType<typeof asTransactionalPool>>();
  /** The image reads of dual writes, batched per primary table (a `UNION ALL` per batch). */
  readonly #imageReads = new LaneBatcher<ApplyKeysArgs, RawRow[]>(async (_lane, items) =>
    (await readApplyImages(items[0]!.source, items)).map((value) => ({ status: 'fulfilled', value }) as const),
  );
  /** The shadow writes of dual writes, batched per (primary table, shadow table). */
  readonly #applies = new LaneBatcher<PreparedApply, AppliedKeys>((_lane, items) => writeApplies(items));
  /** The confirms of shadow applies, batched per (primary table, shadow table) (see ConfirmBatcher). */
  readonly #confirms = new ConfirmBatcher<PendingConfirm>(confirmApplies);
  /** Routes by (cached, frozen) query analysis, valid for one routing table. */
  readonly #routes = new WeakMap<QueryAnalysis, { table: RoutingTable; routes: [Route | undefined, Route | undefined] }>();
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
        this.#prewarmShapes();
      },
      idle: (id) => this.gate.idle(id),
      pendingFailures: (id) => this.#failures.pendingFor(id),
      drainReport: (id) => this.#drainReport(id),
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
  }

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
   * Loads the shape of every covered table on each of its sides ahead of use: a switch makes the
   * other side the primary, and reading its catalog on the first write after the fence (an
   * information_schema query on a busy server) would lengthen the write pause.
   */
  #prewarmShapes(): void {
    for (const covered of this.control.table.covered()) {
      if (covered.migration.phase === 'planned') continue;
      for (const endpoint of [covered.source, ...sideEndpoints(covered, 'target')]) {
        if (this.#config.servers[endpoint.server] === undefined) continue; // #checkEndpoints reports it
        this.shape(endpoint, covered.table).catch(() => undefined); // retried on next use or change
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

  get #homeDatabase(): string {
    return this.#servers.get(this.#home)?.database ?? '';
  }

  // ---- routing ------------------------------------------------------------------------------

  /**
   * Decides where a statement runs. `inTransaction`: reads of covered tables go to the primary.
   * Routes of statements that name no sharded table depend only on the analysis (cached per SQL
   * text) and the routing table (replaced on every reload), so they are cached on both.
   */
  route(input: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean): Route {
    const table = this.control.table;
    const cached = this.#routes.get(input);
    const key = inTransaction ? 1 : 0;
    if (cached !== undefined && cached.table === table && cached.routes[key] !== undefined) return cached.routes[key];
    const route = this.#computeRoute(input, node, sql, inTransaction);
    if (!input.raw && input.rawFragments === '' && input.tables.every((name) => table.lookup(name, this.#homeDatabase)?.move.kind !== 'shard')) {
      const entry = cached !== undefined && cached.table === table ? cached : { table, routes: [undefined, undefined] as [Route | undefined, Route | undefined] };
      entry.routes[key] = Object.freeze(route);
      this.#routes.set(input, entry);
    }
    return route;
  }

  #computeRoute(input: QueryAnalysis, node: RootOperationNode, sql: string, inTransaction: boolean): Route {
    const table = this.control.table;
    const home = this.#homeDatabase;
    let analysis = input;
    if (analysis.rawFragments !== '' && table.covered().some((c) => mentionsTable(analysis.rawFragments, c.table))) {
      // Raw fragments inside a built query name a migrated table: find all tables with the parser.
      const parsed = parseRawSql(sql);
      if (parsed === null) analysis = { ...analysis, unparsed: true };
      else analysis = { ...analysis, tables: [...analysis.tables, ...parsed.tables.filter((t) => !analysis.tables.some((a) => a.table === t.table && a.schema === t.schema))] };
    }
    if (analysis.unparsed) {
      const hit = table.covered().filter((c) => mentionsTable(sql, c.table));
      if (hit.length > 0) {
        throw this.#refuse(
          new RouterError('raw-sql-unroutable', `raw SQL that the router cannot parse names migrated table(s) ${hit.map((c) => c.table).join(', ')}: refusing rather than guessing where it goes`, {
            hint: 'Write the statement with the query builder, or as one plain statement the MariaDB grammar accepts.',
          }),
        );
      }
      return { server: this.#home, fanout: [], dual: undefined, gate: [], read: undefined, side: 'home' };
    }
    this.#refuseUncarriable(analysis, table, home);
    const isWrite = analysis.kind === 'insert' || analysis.kind === 'update' || analysis.kind === 'delete' || (analysis.raw && analysis.kind === 'other');
    const placements: Array<{ name: TableName; servers: string[]; covered: CoveredTable | undefined }> = [];
    let dual: Route['dual'];
    let read: Route['read'];
    const gate = new Set<string>();
    let fanoutAllowed = false;
    for (const name of analysis.tables) {
      const covered = table.lookup(name, home);
      if (covered === undefined) {
        placements.push({ name, servers: [this.#home], covered });
        continue;
      }
      const routing = covered.routing;
      const written = analysis.written !== undefined && analysis.written.table === name.table && (analysis.written.schema ?? home) === (name.schema ?? home);
      const side: MigrationSide = isWrite || inTransaction ? routing.primary : routing.reads;
      let keys: string[] | undefined;
      if (covered.move.kind === 'shard' && covered.migration.phase !== 'planned') {
        const values = analysis.raw ? undefined : statementKeyValues(node, covered.move.column);
        const move = covered.move;
        keys = values?.map((v) => shardKeyValue(move.type, v)).filter((v): v is string => v !== undefined);
        if (keys !== undefined && keys.length !== values?.length) keys = undefined;
        if (written && keys === undefined) {
          throw this.#refuse(
            new RouterError('shard-key-missing', `a write to sharded table ${covered.table} must give its shard key ${move.column} (in the inserted values, or as = / IN in the WHERE)`, {
              hint: `Add ${move.column} to the statement; without it the router cannot tell which shard the rows belong to.`,
            }),
          );
        }
        if (analysis.raw && written) {
          throw this.#refuse(new RouterError('unsupported-write', `raw SQL writes to sharded table ${covered.table} are not routed; use the query builder`));
        }
        if (written && updatedColumns(node).includes(move.column)) {
          throw this.#refuse(
            new RouterError('unsupported-write', `an UPDATE of sharded table ${covered.table} that sets its shard key ${move.column} could move rows to another shard, where neither shard's copy nor verification would follow them`, {
              hint: `Delete the row and insert it with the new ${move.column} (two statements), or leave ${move.column} unchanged.`,
            }),
          );
        }
      }
      const servers = sideEndpoints(covered, side, side === 'target' ? keys : undefined).map((e) => e.server);
      if (side === 'target' && covered.move.kind === 'shard' && keys === undefined && !isWrite) fanoutAllowed = true;
      placements.push({ name, servers, covered });
      if (written) {
        if (covered.migration.phase !== 'finalized') gate.add(covered.migration.id);
        if (routing.shadow !== null && covered.shadowWrites) {
          if (analysis.raw) {
            throw this.#refuse(
              new RouterError('unsupported-write', `raw SQL writes to ${covered.table} cannot be dual-written (phase ${covered.migration.phase}); use the query builder`, {
                hint: 'The router finds the touched rows from the query builder’s operation nodes.',
              }),
            );
          }
          dual = { covered, primary: routing.primary, shadow: routing.shadow };
        }
      } else if (!isWrite && !inTransaction && read === undefined) {
        read = { covered, side };
      }
    }
    if (isWrite && analysis.written !== undefined && placements.length === 0) placements.push({ name: analysis.written, servers: [this.#home], covered: undefined });
    const all = [...new Set(placements.flatMap((p) => p.servers))];
    if (all.length === 0) return { server: this.#home, fanout: [], dual, gate: [...gate], read, side: 'home' };
    if (all.length > 1) {
      const single = placements.length === 1 && fanoutAllowed;
      if (single && this.#mergeable(node)) {
        return { server: all[0]!, fanout: all, dual: undefined, gate: [], read: undefined, side: 'fanout' };
      }
      if (single) {
        throw this.#refuse(
          new RouterError('shard-fanout-unsupported', `a read of sharded table ${placements[0]!.name.table} without its shard key goes to ${all.join(', ')}, and its ORDER BY / LIMIT / GROUP BY / aggregate cannot be merged`, {
            hint: 'Give the shard key (= or IN), or drop the ORDER BY / LIMIT / aggregate and merge in the service.',
          }),
        );
      }
      const where = placements.map((p) => `${p.name.table} -> ${p.servers.join('+')}`).join(', ');
      throw this.#refuse(
        new RouterError(inTransaction ? 'cross-server-transaction' : 'cross-server-query', `the query's tables live on different servers in the current phase (${where}): a cross-server join cannot run`, {
          hint: 'Split the query per server and join in the service (the plan listed it under brokenStatements).',
        }),
      );
    }
    const covered = placements.find((p) => p.covered !== undefined)?.covered;
    const side = covered === undefined ? 'home' : (isWrite || inTransaction ? covered.routing.primary : covered.routing.reads);
    return { server: all[0]!, fanout: [], dual, gate: [...gate], read, side };
  }

  /**
   * Refuses what cannot be carried to both sides of a migration in flight: statements that are
   * neither reads nor row writes (DDL, TRUNCATE, RENAME, DROP, ...) naming a moved table, and
   * multi-table UPDATE/DELETE touching one (the router gates and copies one written table).
   */
  #refuseUncarriable(analysis: QueryAnalysis, table: RoutingTable, home: string): void {
    const moving = (phases: readonly string[]) =>
      analysis.tables.map((name) => table.lookup(name, home)).filter((c): c is CoveredTable => c !== undefined && !phases.includes(c.migration.phase));
    if (analysis.kind === 'other') {
      const hit = moving(['finalized'])[0];
      if (hit !== undefined) {
        throw this.#refuse(
          new RouterError('unsupported-statement', `${describeStatement(analysis.statement)} names ${hit.table}, which migration ${hit.migration.name} is moving (phase ${hit.migration.phase}): only reads and row writes are carried to both sides`, {
            hint: 'Change the schema of a moved table before `cleave start` or after `cleave finalize` (or `cleave cancel`); until then the copy, capture and verification rely on both sides having the same definition.',
          }),
        );
      }
    }
    if (analysis.multiTableWrite) {
      const hit = moving(['planned', 'finalized'])[0];
      if (hit !== undefined) {
        throw this.#refuse(
          new RouterError('unsupported-write', `a multi-table ${analysis.kind.toUpperCase()} writes ${hit.table}, which migration ${hit.migration.name} is moving (phase ${hit.migration.phase}): the router holds and copies the rows of one written table per statement`, {
            hint: `Write ${hit.table} in a statement of its own.`,
          }),
        );
      }
    }
  }

  /**
   * Whether a read's rows from every shard, concatenated, are its answer: an allow-list of shapes
   * (one table, a WHERE, plain columns or `*`). DISTINCT, aggregates, ORDER BY, LIMIT, GROUP BY,
   * joins, expressions and raw fragments would need a merge the router does not do.
   */
  #mergeable(node: RootOperationNode): boolean {
    if (node.kind !== 'SelectQueryNode') return false;
    const n = node as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(n)) {
      if (value !== undefined && !MERGEABLE_SELECT_PARTS.has(key)) return false;
    }
    const selections = (n['selections'] as Array<{ selection?: { kind?: string; node?: { kind?: string } } }> | undefined) ?? [];
    return selections.every(({ selection }) => {
      const inner = selection?.kind === 'AliasNode' ? selection.node : selection;
      return inner?.kind === 'ReferenceNode' || inner?.kind === 'SelectAllNode' || inner?.kind === 'ColumnNode';
    });
  }

  #refuse(error: RouterError): RouterError {
    this.metrics.increment('cleave_router_refused_total', { reason: error.reason });
    return error;
  }

  // ---- dual writes ---------------------------------------------------------------------------

  /** The shape of a covered table on one side. */
  shape(endpoint: Endpoint, table: string): Promise<TableShape> {
    const key = `${endpoint.server}/${endpoint.database}/${table}`;
    let shape = this.#shapes.get(key);
    if (shape === undefined) {
      shape = (async () => {
        const catalog = await readCatalog(this.#promisePool(endpoint.server), endpoint.database, { tables: [table] });
        return tableShape(catalog.tables[0]!, endpoint.database);
      })();
      shape.catch(() => this.#shapes.delete(key));
      this.#shapes.set(key, shape);
    }
    return shape;
  }

  /** Plans the touched-key search of a dual write. */
  async planDual(route: Route, node: RootOperationNode): Promise<{ plan: WriteKeyPlan; shape: TableShape; endpoint: Endpoint }> {
    const dual = route.dual!;
    const endpoint: Endpoint = { server: route.server, database: dual.primary === 'source' ? dual.covered.source.database : this.#servers.get(route.server)!.database };
    const shape = await this.shape(endpoint, dual.covered.table);
    return { plan: planWriteKeys(node, shape, this.#compiler, this.#servers.get(route.server)?.autoIncMode ?? 1), shape, endpoint };
  }

  /**
   * Applies shadow work after the primary committed; never throws (failures are recorded).
   * Resolves when the caller may go on; `settled` once every sync finished (the confirms too: a
   * write stays in flight for fences until then). Reads the primary through its pool, batched
   * with the shadow work of concurrent writes: the image read, the shadow write and the confirm
   * each go in one statement per table for whatever queued while the last one ran.
   */
  async applyShadow(work: ShadowWork): Promise<{ settled: Promise<unknown> }> {
    const syncs: Promise<unknown>[] = [];
    if (work.keys.length === 0) return { settled: Promise.resolve() };
    const { covered } = work;
    // Group keys by the shadow endpoint (shard targets by key).
    const groups = new Map<string, { endpoint: Endpoint; keys: KeyTuple[] }>();
    const add = (endpoint: Endpoint, key: KeyTuple) => {
      const id = `${endpoint.server}/${endpoint.database}`;
      const group = groups.get(id) ?? { endpoint, keys: [] };
      group.keys.push(key);
      groups.set(id, group);
    };
    const move = covered.move;
    for (const key of work.keys) {
      if (work.shadow === 'source') add(covered.source, key);
      else if (move.kind === 'tables') add(move.target, key);
      else {
        const at = work.shape.keyColumns.indexOf(move.column);
        const part = key[at];
        const endpoint = at < 0 || part === undefined ? undefined : shardEndpoint(covered, Buffer.isBuffer(part) ? `0x${part.toString('hex')}` : part);
        if (endpoint === undefined) {
          await this.#recordFailure(work, [key], new Error(`shard key ${move.column} is not part of the table's key; cannot place the row`));
          continue;
        }
        add(endpoint, key);
      }
    }
    for (const { endpoint, keys } of groups.values()) {
      const started = performance.now();
      const downUntil = this.#shadowDownUntil.get(endpoint.server) ?? 0;
      if (performance.now() < downUntil) {
        this.metrics.increment('cleave_router_shadow_applies_total', { result: 'skipped', path: 'apply' });
        await this.#recordFailure(work, keys, new Error(`shadow server ${endpoint.server} failed recently; apply skipped`));
        continue;
      }
      const timeoutMs = this.#config.shadowTimeoutMs ?? 2_000;
      try {
        const primaryTable = tableLane(work.primaryServer, work.shape);
        const lane = pairLane(work.primaryServer, work.shape, endpoint);
        const args: ApplyKeysArgs = {
          source: this.#promisePool(work.primaryServer),
          target: this.#promisePool(endpoint.server),
          sourceShape: work.shape,
          targetTable: { database: endpoint.database, table: covered.table },
          keys,
          options: covered.migration.guardEpoch === undefined ? SYNC_OPTIONS : { ...SYNC_OPTIONS, guard: { migrationId: covered.migration.id, epoch: covered.migration.guardEpoch } },
          targetFlavor: this.#servers.get(endpoint.server)?.mariadb === true ? 'mariadb' : 'mysql',
        };
        // Images known from the statement cover every key only when the keys all go to one place.
        const apply = this.#apply(primaryTable, lane, args, work.images !== undefined && groups.size === 1 ? work.images : undefined);
        // The confirm runs once the apply landed, however long it takes: an apply the caller
        // stopped waiting for still writes an image read earlier, which only the confirm's re-read
        // can catch as stale. It never fails the caller: a failure is recorded for repair.
        const confirm = apply.then(
          (applied) =>
            (applied.pending === undefined ? Promise.resolve(false) : this.#confirms.confirm(lane, this.#promisePool(work.primaryServer), applied.pending)).then(
              (raced) => {
                if (raced) this.metrics.increment('cleave_router_shadow_applies_total', { result: 'raced', path: 'apply' });
              },
              (error: unknown) => this.#recordFailure(work, keys, error),
            ),
          () => undefined, // the apply's own failure is recorded below
        );
        syncs.push(confirm);
        await withTimeout(apply, timeoutMs);
        // The caller waits for the confirm only where it could observe the shadow (its reads go
        // there); elsewhere the confirm finishes off its path, still counted as in flight, so a
        // fence waits for it.
        if (covered.routing.reads === work.shadow) await withTimeout(confirm, timeoutMs).catch(() => undefined);
        this.#shadowDownUntil.delete(endpoint.server);
        this.metrics.increment('cleave_router_shadow_applies_total', { result: 'ok', path: 'apply' });
        this.metrics.observe('cleave_router_shadow_apply_ms', { result: 'ok', path: 'apply' }, performance.now() - started);
      } catch (error) {
        this.#shadowDownUntil.set(endpoint.server, performance.now() + (this.#config.shadowRetryAfterMs ?? 1_000));
        this.metrics.increment('cleave_router_shadow_applies_total', { result: 'failed', path: 'apply' });
        this.metrics.observe('cleave_router_shadow_apply_ms', { result: 'failed', path: 'apply' }, performance.now() - started);
        await this.#recordFailure(work, keys, error);
      }
    }
    return { settled: Promise.all(syncs) };
  }

  /**
   * One apply, batched: the keys' images (unless `known`) in the primary table's image-read lane,
   * then the write in the (primary table, shadow table) lane; the locked form alone where the
   * optimistic one does not fit (see `prepareApply`).
   */
  async #apply(primaryTable: string, lane: string, args: ApplyKeysArgs, known: readonly RawRow[] | undefined): Promise<AppliedKeys> {
    const images = known ?? (await this.#imageReads.submit(primaryTable, args));
    const prepared = prepareApply(args, images);
    return prepared === undefined ? applyKeys(args) : this.#applies.submit(lane, prepared);
  }

  async #recordFailure(work: ShadowWork, keys: readonly KeyTuple[], error: unknown): Promise<void> {
    const message = (error as Error).message ?? String(error);
    this.#log({ level: 'warn', message: 'shadow write failed; recorded for repair', migrationId: work.covered.migration.id, table: work.covered.table, keys: keys.length, error: message });
    const { guardEpoch } = work.covered.migration;
    await this.#failures.record({
      migrationId: work.covered.migration.id,
      table: work.covered.table,
      keyValues: encodeShadowKeys(keys),
      error: message,
      ...(guardEpoch === undefined ? {} : { guardEpoch }),
      at: Date.now(),
    });
  }

  /** What a migration's in-flight writes wait for: their count and the busy batching lanes. */
  #drainReport(migrationId: string): Record<string, unknown> {
    return {
      inFlight: this.gate.inFlight(migrationId),
      held: this.gate.held,
      busyLanes: {
        imageReads: this.#imageReads.busyLanes(),
        applies: this.#applies.busyLanes(),
        confirms: this.#confirms.busyLanes(),
      },
    };
  }

  /** Schedules a shadow read of a routed read (sampled, off the caller's path). */
  shadowRead(route: Route, compiled: CompiledQuery, rows: readonly unknown[]): void {
    const read = route.read;
    if (read === undefined || route.fanout.length > 0) return;
    const phase = read.covered.migration.phase;
    if (phase === 'planned' || phase === 'dual_write' || phase === 'finalized') return; // the other side is incomplete or gone
    const other: MigrationSide = read.side === 'source' ? 'target' : 'source';
    const servers = sideEndpoints(read.covered, other).map((e) => e.server);
    if (servers.length !== 1) return;
    const pool = this.pool(servers[0]!);
    this.#shadowReader.maybeCompare(read.covered.table, compiled, rows, pool, read.covered);
  }

  // ---- execution -------------------------------------------------------------------------------

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
    const first = this.route(analysis, node, sql, inTransaction);
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
    const route = this.control.table !== table ? this.route(analysis, node, sql, inTransaction) : first;
    return { route, exit: () => this.gate.exit(pending) };
  }

  /** Whether writes to these migrations may still commit (lease still current). */
  mayCommit(ids: readonly string[]): boolean {
    return ids.every(() => this.control.leaseValid);
  }

  /** Runs one statement outside a transaction. */
  async executeAlone<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const started = performance.now();
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    for (let attempt = 1; ; attempt += 1) {
      // Reads (no write gate) route synchronously: no promise hop on the hot path.
      const direct = this.#ready && !this.#closed ? this.route(analysis, compiled.query, compiled.sql, false) : undefined;
      const { route, exit } = direct !== undefined && direct.gate.length === 0 ? { route: direct, exit: NO_EXIT } : await this.admit(analysis, compiled.query, compiled.sql, false);
      // A dual write stays in flight (for fences) until its shadow work settled.
      let settled: Promise<unknown> | undefined;
      try {
        this.metrics.increment('cleave_router_queries_total', { kind: analysis.kind, side: route.side });
        if (route.fanout.length > 0) {
          const results = await Promise.all(route.fanout.map((server) => this.#runOn(server, compiled)));
          return { rows: results.flatMap((r) => (Array.isArray(r) ? r : [])) as R[] };
        }
        if (route.dual === undefined) {
          const result = await this.#runOn(route.server, compiled);
          if (route.gate.length > 0 && !this.mayCommit(route.gate)) {
            // Autocommit statements cannot be rolled back; the gate was checked just before.
            this.#log({ level: 'warn', message: 'lease lapsed while a write ran', server: route.server });
          }
          const out = toQueryResult<R>(result);
          if (route.read !== undefined) this.shadowRead(route, compiled, out.rows);
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
    const pool = this.pool(server);
    return new Promise((resolve, reject) => {
      pool.getConnection((error, connection) => {
        if (error) {
          reject(error);
          return;
        }
        connection.query(compiled.sql, compiled.parameters as unknown[], (queryError, result) => {
          connection.release();
          if (queryError) reject(queryError);
          else resolve(result);
        });
      });
    });
  }

  /**
   * The primary statement of a dual write as one autocommit statement, when that is safe:
   * the touched keys come from the statement itself, the server can bound the statement's time
   * (MariaDB's `SET STATEMENT max_statement_time`) to the lease left, and this is a first
   * attempt. `undefined`: run it in a primary transaction instead (keys looked up inside it,
   * lease re-checked before COMMIT).
   */
  #autocommitSql(plan: WriteKeyPlan, server: string, sql: string, attempt: number): string | undefined {
    if (plan.inTransaction || attempt > 1 || this.#servers.get(server)?.mariadb !== true) return undefined;
    const remaining = this.control.leaseRemainingMs();
    if (remaining === Number.POSITIVE_INFINITY) return sql; // no control plane: no lease to outlive
    if (remaining < 2 * AUTOCOMMIT_LEASE_MARGIN_MS) return undefined;
    return `SET STATEMENT max_statement_time = ${((remaining - AUTOCOMMIT_LEASE_MARGIN_MS) / 1000).toFixed(3)} FOR ${sql}`;
  }

  /** Whether an autocommit write was interrupted at its lease bound (nothing committed; it is retried in a transaction). */
  #hitLeaseBound(error: unknown, server: string): boolean {
    if (mysqlErrno(error) !== ER_STATEMENT_TIMEOUT) return false;
    this.#log({ level: 'info', message: 'a write ran into its lease bound and was interrupted (nothing committed); retrying it in a transaction', server });
    return true;
  }

  /**
   * One dual write: the primary statement (autocommit, or a transaction that finds the keys),
   * then the shadow apply. `settled` resolves when no shadow work uses the primary connection.
   */
  async #dualWrite<R>(
    route: Route,
    compiled: CompiledQuery,
    attempt: number,
  ): Promise<{ outcome: QueryResult<R> | 'lease-lapsed'; settled: Promise<unknown> }> {
    const { plan, shape } = await this.planDual(route, compiled.query);
    const connection = await acquire(this.pool(route.server));
    let settled: Promise<unknown> = Promise.resolve();
    let connectionReleased = false;
    const releaseConnection = () => {
      if (connectionReleased) return;
      connectionReleased = true;
      connection.release();
    };
    try {
      let result: unknown;
      let keys: KeyTuple[];
      const autocommit = this.#autocommitSql(plan, route.server, compiled.sql, attempt);
      let images: RawRow[] | undefined;
      if (autocommit !== undefined) {
        keys = await plan.before(connection);
        const returning = plan.returnsImages === true && this.#servers.get(route.server)?.mariadb === true && route.dual!.covered.move.kind === 'tables';
        try {
          if (returning) {
            // The rows' images come back with the insert: no separate read of the primary.
            const returned = (await run(connection, { sql: `${autocommit} RETURNING ${rawImageSelectList(shape)}`, rowsAsArray: true, typeCast: rawTypeCast }, compiled.parameters)) as RawRow[];
            images = imagesFromRaw(shape, returned);
            const positions = shape.keyShapeColumns.map((_, i) => i);
            keys.push(...images.map((image) => rowKey(shape, image, positions)));
            const autoIncrement = shape.catalog.columns.some((c) => c.autoIncrement);
            result = { insertId: autoIncrement && images.length > 0 ? String(keys[0]![0]) : 0, affectedRows: images.length };
          } else {
            result = await run(connection, autocommit, compiled.parameters);
          }
        } catch (error) {
          // Interrupted at the lease bound: nothing committed; retried in a transaction.
          if (this.#hitLeaseBound(error, route.server)) return { outcome: 'lease-lapsed', settled };
          throw error;
        }
        if (images === undefined) keys.push(...(await plan.after(connection, (isOkPacket(result) ? result : {}) as WriteResult)));
      } else {
        await run(connection, 'BEGIN');
        try {
          keys = await plan.before(connection);
          result = await run(connection, compiled.sql, compiled.parameters);
          keys.push(...(await plan.after(connection, (isOkPacket(result) ? result : {}) as WriteResult)));
          if (!this.mayCommit(route.gate)) {
            await run(connection, 'ROLLBACK');
            return { outcome: 'lease-lapsed', settled };
          }
          await run(connection, 'COMMIT');
        } catch (error) {
          await run(connection, 'ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      const dual = route.dual!;
      // Committed: the connection goes back to the pool before the shadow work, which reads the
      // primary through the pool (a write holding its connection while it waits for such a read
      // could leave the pool without one for the read).
      releaseConnection();
      ({ settled } = await this.applyShadow({ covered: dual.covered, primary: dual.primary, shadow: dual.shadow, primaryServer: route.server, shape, keys, ...(images === undefined ? {} : { images }) }));
      return { outcome: toQueryResult<R>(result), settled };
    } finally {
      releaseConnection();
    }
  }

  /** A transaction's state: one server, shadow work applied after commit. */
  transaction(settings: TransactionSettings): RouterTransaction {
    return new RouterTransaction(this, settings);
  }
}

/** A Kysely transaction through the router: pinned to the server of its first statement. */
export class RouterTransaction {
  readonly #router: Router;
  readonly #settings: TransactionSettings;
  #server: string | undefined;
  #connection: RouterPoolConnection | undefined;
  readonly #gate = new Set<string>();
  readonly #exits: Array<() => void> = [];
  readonly #work: ShadowWork[] = [];

  constructor(router: Router, settings: TransactionSettings) {
    this.#router = router;
    this.#settings = settings;
  }

  async execute<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    const { route, exit } = await this.#router.admit(analysis, compiled.query, compiled.sql, true, this.#gate);
    const newGate = route.gate.filter((id) => !this.#gate.has(id));
    if (newGate.length > 0) {
      route.gate.forEach((id) => this.#gate.add(id));
      this.#exits.push(exit); // in flight until commit/rollback
    } else {
      exit();
    }
    if (route.fanout.length > 0) throw new RouterError('cross-server-transaction', 'a read without the shard key spans servers and cannot run inside a transaction');
    const connection = await this.#pin(route.server);
    this.#router.metrics.increment('cleave_router_queries_total', { kind: analysis.kind, side: route.side });
    if (route.dual === undefined) return toQueryResult<R>(await run(connection, compiled.sql, compiled.parameters));
    const { plan, shape } = await this.#router.planDual(route, compiled.query);
    const keys = await plan.before(connection);
    const result = await run(connection, compiled.sql, compiled.parameters);
    keys.push(...(await plan.after(connection, (isOkPacket(result) ? result : {}) as WriteResult)));
    const dual = route.dual;
    this.#work.push({ covered: dual.covered, primary: dual.primary, shadow: dual.shadow, primaryServer: route.server, shape, keys });
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
      this.#connection = await acquire(this.#router.pool(server));
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
      if (!this.#router.mayCommit([...this.#gate])) {
        await run(connection, 'rollback').catch(() => undefined);
        throw new RouterError('write-held-timeout', 'the control-plane lease lapsed during this transaction; it was rolled back so that no write reaches a primary that may have changed', {
          hint: 'Retry the transaction.',
        });
      }
      await run(connection, 'commit');
      // Committed: the connection goes back to the pool before the shadow work reads the primary.
      this.#releaseConnection();
      const settled: Promise<unknown>[] = [];
      for (const work of this.#work) settled.push((await this.#router.applyShadow(work)).settled);
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

/** The batching lane of a primary table (its image reads). */
function tableLane(server: string, shape: TableShape): string {
  return `${server}/${shape.database}.${shape.table}`;
}

/** The batching lane of a (primary table, shadow table) pair (its shadow writes and confirms). */
function pairLane(server: string, shape: TableShape, shadow: Endpoint): string {
  return `${tableLane(server, shape)}>${shadow.server}/${shadow.database}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shadow apply took longer than ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export type { ShadowWork };
