import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CleaveError } from '@cleave/core';
import { Redis } from 'ioredis';
import { ControlStore, RoutingChannel, resolveCleaveConfig, routerStatuses, serverUrl, type CleaveConfig, type RouterStatus, type ShadowReadStats } from '@cleave/control';
import { JobProducer, redisConnectionFromUrl } from '@cleave/jobs';
import { MysqlPools, type ServerPool } from '@cleave/mysql';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

function readConfigFile(file: string | undefined, cwd: string): { json: unknown; source: string } {
  const explicit = file !== undefined;
  const candidate = path.resolve(cwd, file ?? 'cleave.config.json');
  if (!existsSync(candidate)) {
    if (explicit) {
      throw new CleaveError('CONFIG_INVALID', `config file ${candidate} does not exist`, { hint: 'Pass an existing file to --config, or configure servers with CLEAVE_SERVER_<NAME> variables.' });
    }
    return { json: {}, source: 'environment' };
  }
  try {
    return { json: JSON.parse(readFileSync(candidate, 'utf8')), source: candidate };
  } catch (error) {
    throw new CleaveError('CONFIG_INVALID', `config file ${candidate} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
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

  constructor(options: GlobalOptions, env: Record<string, string | undefined> = process.env, cwd = process.cwd()) {
    const file = readConfigFile(options.config, cwd);
    this.config = resolveCleaveConfig(file.json, env, file.source);
    this.pools = new MysqlPools({ maxConnectionsPerServer: 10, defaultConnectionLimit: 4 });
  }

  /** The pool for a named server, on a database. */
  pool(server: string, database?: string): ServerPool {
    return this.pools.pool(serverUrl(this.config, server).withDatabase(database));
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
