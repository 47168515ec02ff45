import { createPool, type Pool, type PoolConnection, type PoolOptions as Mysql2PoolOptions } from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import type { ConnectionUrl } from './connection-url.js';
import { MysqlLibError } from './mysql-error.js';
import { MYSQL2_FIDELITY_OPTIONS, SESSION_SETUP_SQL } from './session-settings.js';

/** Construction settings of {@link MysqlPools}. */
export interface MysqlPoolsConfig {
  /**
   * The most connections that all pools of this registry together may open to one server
   * (`host:port`): the sum of their `connectionLimit`s cannot exceed it.
   * @defaultValue 20
   */
  readonly maxConnectionsPerServer?: number;
  /** Per-server budgets that override `maxConnectionsPerServer`, keyed by `ConnectionUrl.serverKey`. */
  readonly serverBudgets?: Readonly<Record<string, number>>;
  /**
   * The `connectionLimit` of a pool when {@link MysqlPools.pool} is not given one.
   * @defaultValue 5
   */
  readonly defaultConnectionLimit?: number;
  /**
   * Milliseconds to wait for a TCP connection and handshake.
   * @defaultValue 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Milliseconds after which an idle connection is closed.
   * @defaultValue 60000
   */
  readonly idleTimeoutMs?: number;
  /**
   * Called when the session setup (`SET NAMES`, `time_zone`, `sql_mode`) fails on a new
   * connection. The connection is destroyed either way, so no query runs with other settings.
   */
  readonly onSessionSetupError?: (error: Error, serverKey: string) => void;
  /**
   * Let the pools' connections run several statements, separated by `;`, in one round trip
   * (mysql2's `multipleStatements`). Only for pools that send nothing but SQL whose every value
   * is a validated or hex literal, as the sync primitives build it (`SyncSession`): with
   * batches, a value interpolated unescaped could run a statement of its own.
   * @defaultValue false
   */
  readonly statementBatches?: boolean;
  /**
   * Capture the caller's stack for each query, so that a query's error shows where it was
   * called (mysql2's `trace`). Costs a stack capture per query: off for a hot path whose errors
   * are wrapped with their context anyway (a capture stream's syncs).
   * @defaultValue true
   */
  readonly callSiteStacks?: boolean;
}

/** Per-call options of {@link MysqlPools.pool}. */
export interface PoolOptions {
  /**
   * The most connections this pool opens at once; counted against the server's budget.
   * @defaultValue `MysqlPoolsConfig.defaultConnectionLimit`
   */
  readonly connectionLimit?: number;
}

/** Counters of one server (`host:port`). */
export interface ServerPoolStats {
  /** The most connections the registry may open to this server. */
  readonly budget: number;
  /** Sum of the `connectionLimit`s of the open pools on this server. */
  readonly reserved: number;
  /** Number of open pools on this server. */
  readonly pools: number;
  /** Connections opened to this server since the registry was created (never decreases). */
  readonly connectionsOpened: number;
  /** New connections whose session setup failed (and that were destroyed). */
  readonly sessionSetupErrors: number;
}

/** A snapshot of {@link MysqlPools} counters. */
export interface MysqlPoolsStats {
  /** Keyed by `ConnectionUrl.serverKey`. */
  readonly servers: Readonly<Record<string, ServerPoolStats>>;
  /** Connections opened to all servers. */
  readonly connectionsOpened: number;
}

/** One budgeted pool: the same mysql2 pool seen through its promise and its callback API. */
export interface ServerPool {
  /** `user@host:port/database`, no password. */
  readonly label: string;
  readonly serverKey: string;
  readonly connectionLimit: number;
  /** Promise API, for cleave's own queries. */
  readonly promise: PromisePool;
  /** Callback API (what Kysely's `MysqlDialect` needs). */
  readonly callback: Pool;
}

interface ServerState {
  budget: number;
  reserved: number;
  pools: number;
  connectionsOpened: number;
  sessionSetupErrors: number;
}

interface PoolEntry {
  readonly handle: ServerPool;
  readonly password: string | undefined;
  ended: Promise<void> | undefined;
}

const DEFAULTS = {
  maxConnectionsPerServer: 20,
  defaultConnectionLimit: 5,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  statementBatches: false,
  callSiteStacks: true,
} as const;

function requirePositiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new MysqlLibError('INVALID_POOL_CONFIG', `${what} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

function poolLabel(url: ConnectionUrl): string {
  return `${url.user}@${url.serverKey}${url.database === undefined ? '' : `/${url.database}`}`;
}

function endPool(pool: Pool): Promise<void> {
  return new Promise((resolve, reject) => {
    pool.end((error) => (error ? reject(error) : resolve()));
  });
}

/**
 * A registry of mysql2 pools: one pool per (server, user, database), each connection set up
 * with cleave's session settings (UTC, {@link SESSION_SQL_MODE}, utf8mb4) before any query runs
 * on it, and a hard budget of connections per server.
 *
 * @example
 * ```ts
 * const pools = new MysqlPools({ maxConnectionsPerServer: 10 });
 * const source = pools.pool(parseConnectionUrl('mysql://app:pw@db1/accounts'), { connectionLimit: 4 });
 * const [rows] = await source.promise.query('SELECT 1 AS one');
 * pools.stats().servers['db1:3306']?.connectionsOpened; // 1
 * await pools.end();
 * ```
 */
export class MysqlPools {
  readonly #config: Readonly<Required<Omit<MysqlPoolsConfig, 'onSessionSetupError'>>> &
    Pick<MysqlPoolsConfig, 'onSessionSetupError'>;
  readonly #pools = new Map<string, PoolEntry>();
  readonly #servers = new Map<string, ServerState>();
  #ended: Promise<void> | undefined;

  constructor(config: MysqlPoolsConfig = {}) {
    const serverBudgets: Record<string, number> = {};
    for (const [key, budget] of Object.entries(config.serverBudgets ?? {})) {
      serverBudgets[key.toLowerCase()] = requirePositiveInteger(budget, `serverBudgets["${key}"]`);
    }
    this.#config = Object.freeze({
      maxConnectionsPerServer: requirePositiveInteger(
        config.maxConnectionsPerServer ?? DEFAULTS.maxConnectionsPerServer,
        'maxConnectionsPerServer',
      ),
      defaultConnectionLimit: requirePositiveInteger(
        config.defaultConnectionLimit ?? DEFAULTS.defaultConnectionLimit,
        'defaultConnectionLimit',
      ),
      connectTimeoutMs: requirePositiveInteger(config.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, 'connectTimeoutMs'),
      idleTimeoutMs: requirePositiveInteger(config.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs, 'idleTimeoutMs'),
      serverBudgets: Object.freeze(serverBudgets),
      statementBatches: config.statementBatches ?? DEFAULTS.statementBatches,
      callSiteStacks: config.callSiteStacks ?? DEFAULTS.callSiteStacks,
      ...(config.onSessionSetupError === undefined ? {} : { onSessionSetupError: config.onSessionSetupError }),
    });
  }

  /** True once {@link MysqlPools.end} was called. */
  get closed(): boolean {
    return this.#ended !== undefined;
  }

  /**
   * The pool for `url`'s (server, user, database), created on first use.
   *
   * Throws `CONNECTION_BUDGET_EXCEEDED` when creating it would let this registry open more
   * connections to the server than its budget, `POOL_CONFLICT` when the pool exists with another
   * password or another explicit `connectionLimit`, and `POOLS_CLOSED` after {@link MysqlPools.end}.
   */
  pool(url: ConnectionUrl, options: PoolOptions = {}): ServerPool {
    if (this.#ended !== undefined) {
      throw new MysqlLibError('POOLS_CLOSED', `Cannot open a pool for ${poolLabel(url)}: the pools were ended.`, {
        hint: 'Create a new MysqlPools, or end it only at shutdown.',
      });
    }
    const key = JSON.stringify([url.serverKey, url.user, url.database ?? null]);
    const existing = this.#pools.get(key);
    if (existing !== undefined) {
      if (existing.password !== url.password()) {
        throw new MysqlLibError(
          'POOL_CONFLICT',
          `A pool for ${existing.handle.label} already exists with another password: use one password per user and server.`,
        );
      }
      if (options.connectionLimit !== undefined && options.connectionLimit !== existing.handle.connectionLimit) {
        throw new MysqlLibError(
          'POOL_CONFLICT',
          `A pool for ${existing.handle.label} already exists with connectionLimit ${existing.handle.connectionLimit}; ` +
            `asked for ${options.connectionLimit}: ask for the same limit, or omit it to share the pool.`,
        );
      }
      return existing.handle;
    }

    const connectionLimit = requirePositiveInteger(
      options.connectionLimit ?? this.#config.defaultConnectionLimit,
      'connectionLimit',
    );
    const server = this.#server(url.serverKey);
    if (server.reserved + connectionLimit > server.budget) {
      throw new MysqlLibError(
        'CONNECTION_BUDGET_EXCEEDED',
        `Connection budget exceeded for server ${url.serverKey}: a pool for ${poolLabel(url)} asks for ` +
          `${connectionLimit} connection(s) but ${server.reserved} of ${server.budget} are already reserved ` +
          `by ${server.pools} pool(s).`,
        {
          hint: 'Lower connectionLimit, end a pool you no longer need, or raise maxConnectionsPerServer/serverBudgets.',
        },
      );
    }

    const password = url.password();
    const mysql2Options: Mysql2PoolOptions = {
      ...MYSQL2_FIDELITY_OPTIONS,
      multipleStatements: this.#config.statementBatches,
      trace: this.#config.callSiteStacks,
      host: url.host,
      port: url.port,
      user: url.user,
      ...(password === undefined ? {} : { password }),
      ...(url.database === undefined ? {} : { database: url.database }),
      connectionLimit,
      maxIdle: connectionLimit,
      idleTimeout: this.#config.idleTimeoutMs,
      connectTimeout: this.#config.connectTimeoutMs,
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      resetOnRelease: false,
    };
    const callback = createPool(mysql2Options);
    callback.on('connection', (connection: PoolConnection) => this.#setUpSession(connection, url.serverKey));
    const handle: ServerPool = Object.freeze({
      label: poolLabel(url),
      serverKey: url.serverKey,
      connectionLimit,
      promise: callback.promise(),
      callback,
      [Symbol.for('nodejs.util.inspect.custom')]: () => `ServerPool <${poolLabel(url)} x${connectionLimit}>`,
    });
    server.reserved += connectionLimit;
    server.pools += 1;
    this.#pools.set(key, { handle, password, ended: undefined });
    return handle;
  }

  /** Shortcut for `pool(url, options).promise`. */
  promisePool(url: ConnectionUrl, options?: PoolOptions): PromisePool {
    return this.pool(url, options).promise;
  }

  /** Shortcut for `pool(url, options).callback`. */
  callbackPool(url: ConnectionUrl, options?: PoolOptions): Pool {
    return this.pool(url, options).callback;
  }

  /** Ends the pool of `url`'s (server, user, database), if any, and returns its connections to the budget. */
  async endPool(url: ConnectionUrl): Promise<void> {
    const key = JSON.stringify([url.serverKey, url.user, url.database ?? null]);
    const entry = this.#pools.get(key);
    if (entry === undefined) return;
    this.#pools.delete(key);
    const server = this.#server(url.serverKey);
    server.reserved -= entry.handle.connectionLimit;
    server.pools -= 1;
    entry.ended ??= endPool(entry.handle.callback);
    await entry.ended;
  }

  /** A snapshot of the per-server counters. */
  stats(): MysqlPoolsStats {
    const servers: Record<string, ServerPoolStats> = {};
    let connectionsOpened = 0;
    for (const [serverKey, state] of [...this.#servers].sort(([a], [b]) => a.localeCompare(b))) {
      servers[serverKey] = Object.freeze({ ...state });
      connectionsOpened += state.connectionsOpened;
    }
    return Object.freeze({ servers: Object.freeze(servers), connectionsOpened });
  }

  /** Closes every pool (waiting for their connections to close). Idempotent. */
  end(): Promise<void> {
    this.#ended ??= (async () => {
      const entries = [...this.#pools.values()];
      this.#pools.clear();
      for (const state of this.#servers.values()) {
        state.reserved = 0;
        state.pools = 0;
      }
      const results = await Promise.allSettled(
        entries.map((entry) => (entry.ended ??= endPool(entry.handle.callback))),
      );
      const failure = results.find((result) => result.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
    })();
    return this.#ended;
  }

  /** What `util.inspect` and `console.log` show (never a pool's config, which holds passwords). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MysqlPools <${[...this.#pools.values()].map((entry) => entry.handle.label).join(', ')}>`;
  }

  #server(serverKey: string): ServerState {
    let state = this.#servers.get(serverKey);
    if (state === undefined) {
      state = {
        budget: this.#config.serverBudgets[serverKey] ?? this.#config.maxConnectionsPerServer,
        reserved: 0,
        pools: 0,
        connectionsOpened: 0,
        sessionSetupErrors: 0,
      };
      this.#servers.set(serverKey, state);
    }
    return state;
  }

  /**
   * Runs on mysql2's 'connection' event, before the connection is handed to the caller. mysql2
   * runs a connection's commands in order, so this SET runs before any query of the caller.
   */
  #setUpSession(connection: PoolConnection, serverKey: string): void {
    const server = this.#server(serverKey);
    server.connectionsOpened += 1;
    connection.query(SESSION_SETUP_SQL, (error: Error | null) => {
      if (error === null) return;
      server.sessionSetupErrors += 1;
      connection.destroy();
      this.#config.onSessionSetupError?.(error, serverKey);
    });
  }
}
