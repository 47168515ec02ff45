import { Redis } from 'ioredis';
import { ControlStore, RoutingChannel, loadCleaveConfig, routerStatuses, serverUrl, type CleaveConfig, type RouterStatus, type ShadowReadStats } from '@cleave/control';
import { JobProducer, redisConnectionFromUrl } from '@cleave/jobs';
import { MysqlPools, type ServerPool } from '@cleave/mysql';
import { isUnreachableError } from './cli-errors.js';
import { requireRedis, requireServers } from './reachability.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/**
 * What a command needs from the outside world, opened lazily and closed once: the config,
 * budgeted MySQL pools, the control store and the job producer.
 */
export class CliContext {
  readonly config: CleaveConfig;
  readonly pools: MysqlPools;
  #store: Promise<ControlStore> | undefined;
  #producer: JobProducer | undefined;
  #routing: { redis: Redis; channel: RoutingChannel } | undefined;
  #redisChecked: Promise<void> | undefined;
  /** Servers this command opened a pool on, in order: the suspects when a driver error names none. */
  readonly #used = new Set<string>();

  constructor(options: GlobalOptions, env: Record<string, string | undefined> = process.env, cwd = process.cwd()) {
    this.config = loadCleaveConfig({ ...(options.config === undefined ? {} : { file: options.config }), env, cwd });
    this.pools = new MysqlPools({ maxConnectionsPerServer: 10, defaultConnectionLimit: 4 });
  }

  /** The pool for a named server, on a database. */
  pool(server: string, database?: string): ServerPool {
    const pool = this.pools.pool(serverUrl(this.config, server).withDatabase(database));
    this.#used.add(server);
    return pool;
  }

  /** `host:port` of a named server (never its credentials). */
  address(server: string): string {
    return serverUrl(this.config, server).serverKey;
  }

  /**
   * A driver's connection error ("Access denied for user …", ECONNREFUSED) names no server. This
   * probes the servers the command used and returns the error of the first that fails, which names
   * it (exit 5); any other error comes back as it was.
   */
  async nameUnreachable(error: unknown): Promise<unknown> {
    if (!isUnreachableError(error)) return error;
    try {
      await requireServers([...this.#used].map((name) => ({ name, pool: this.pool(name) })));
    } catch (named) {
      return named;
    }
    return error;
  }

  store(): Promise<ControlStore> {
    this.#store ??= ControlStore.open({ pool: this.pool(this.config.control.server).promise, database: this.config.control.database });
    return this.#store;
  }

  producer(): JobProducer {
    this.#producer ??= new JobProducer({ connection: redisConnectionFromUrl(this.config.redisUrl), queuePrefix: this.config.queuePrefix });
    return this.#producer;
  }

  /** Live routers and the epoch each acknowledged for a migration (the routing channel in Redis). */
  routers(migrationId: string): Promise<RouterStatus[]> {
    return routerStatuses(this.#channel(), migrationId);
  }

  /** The routers' shadow reads of a migration, summed (the routing channel in Redis). */
  shadowReads(migrationId: string): Promise<ShadowReadStats> {
    return this.#channel().shadowReadStats(migrationId);
  }

  /**
   * Fails fast, naming the Redis address, when Redis cannot be reached (exit 5): its clients retry
   * for a while and then print their own errors, which name no address.
   */
  requireRedis(): Promise<void> {
    this.#redisChecked ??= requireRedis(this.config.redisUrl);
    return this.#redisChecked;
  }

  /** The routing channel in Redis (the routers' leases, acks and the fence protocol). */
  routingChannel(): RoutingChannel {
    return this.#channel();
  }

  #channel(): RoutingChannel {
    if (!this.#routing) {
      const redis = new Redis(this.config.redisUrl, { maxRetriesPerRequest: 3 });
      this.#routing = { redis, channel: new RoutingChannel({ redis, prefix: `${this.config.queuePrefix}:` }) };
    }
    return this.#routing.channel;
  }

  async close(): Promise<void> {
    if (this.#routing) {
      await this.#routing.channel.close();
      this.#routing.redis.disconnect();
    }
    await this.#producer?.close();
    await this.pools.end();
  }
}
