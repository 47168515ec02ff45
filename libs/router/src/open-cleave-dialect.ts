import { Redis } from 'ioredis';
import { ControlStore, RoutingChannel, loadCleaveConfig, serverUrl, type CleaveConfig } from '@cleave/control';
import { MysqlPools } from '@cleave/mysql';
import { CleaveDialect } from './cleave-dialect.js';
import type { CleaveDialectConfig } from './router-config.js';

/** What {@link openCleaveDialect} takes: the service's data pools and where to journal; the control plane comes from cleave's config. */
export interface OpenCleaveDialectOptions extends Omit<CleaveDialectConfig, 'store' | 'failures' | 'channel' | 'journalPath'> {
  /**
   * A file on local disk where failed shadow writes go when the control store cannot be reached
   * (drained into it later). Required: without it such a failure would live only in memory.
   */
  readonly journalPath: string;
  /** cleave's config file, as the CLI takes it (`./cleave.config.json` when it exists); the environment wins. */
  readonly configFile?: string;
  /** @defaultValue process.env */
  readonly env?: Record<string, string | undefined>;
}

/** An opened dialect and the control-plane connections it owns. */
export interface OpenedCleaveDialect {
  readonly dialect: CleaveDialect;
  /** The config it was built from (servers, Redis, control store, prefix; print it with care: URLs carry passwords). */
  readonly config: CleaveConfig;
  /** After `db.destroy()` (or instead of it): closes the router, then the control store's pool and Redis. Idempotent. */
  close(): Promise<void>;
}

/**
 * The one way to build the router from cleave's own configuration (`cleave.config.json` and the
 * `CLEAVE_*` environment the CLI and the workers read): the control store it routes by and records
 * failed shadow writes in, the Redis routing channel under the same prefix as the coordinator's,
 * and the local journal as the fallback. The service keeps its own data pools.
 *
 * @example
 * ```ts
 * const { dialect, close } = await openCleaveDialect({
 *   servers: { source: sourcePool, target1: target1Pool }, // the service's mysql2 pools, by server name
 *   journalPath: '/var/lib/accounts/cleave-shadow.journal',
 *   service: 'accounts-api',
 * });
 * const db = new Kysely<DB>({ dialect });
 * // on shutdown:
 * await db.destroy();
 * await close();
 * ```
 */
export async function openCleaveDialect(options: OpenCleaveDialectOptions): Promise<OpenedCleaveDialect> {
  const { journalPath, configFile, env, ...routerOptions } = options;
  const config = loadCleaveConfig({ ...(configFile === undefined ? {} : { file: configFile }), ...(env === undefined ? {} : { env }) });
  const pools = new MysqlPools({ maxConnectionsPerServer: 4 });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  // Reported through the router's lease heartbeat (a lapsed lease holds writes), not as unhandled events.
  redis.on('error', () => undefined);
  let channel: RoutingChannel | undefined;
  try {
    const store = await ControlStore.open({ pool: pools.pool(serverUrl(config, config.control.server), { connectionLimit: 2 }).promise, database: config.control.database });
    await redis.connect();
    channel = new RoutingChannel({ redis, prefix: `${config.queuePrefix}:` });
    const dialect = new CleaveDialect({ ...routerOptions, store, failures: store, channel, journalPath });
    let closed: Promise<void> | undefined;
    const opened = channel;
    return {
      dialect,
      config,
      close: () =>
        (closed ??= (async () => {
          await dialect.router.close();
          await opened.close();
          redis.disconnect();
          await pools.end();
        })()),
    };
  } catch (error) {
    await channel?.close().catch(() => undefined);
    redis.disconnect();
    await pools.end();
    throw error;
  }
}
