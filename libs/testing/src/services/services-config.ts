import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The three private MariaDB instances cleave's tools, tests and demo use. */
export const MARIADB_INSTANCE_NAMES = ['source', 'target1', 'target2'] as const;
export type MariadbInstanceName = (typeof MARIADB_INSTANCE_NAMES)[number];

export interface MariadbInstanceConfig {
  readonly name: MariadbInstanceName;
  readonly port: number;
  /**
   * Writes a ROW binlog, as a production primary does: every instance, since a target becomes the
   * primary after the writes switch and cleave's reverse capture reads its binlog.
   */
  readonly binlog: boolean;
  readonly serverId: number;
  readonly dir: string;
}

export interface RedisInstanceConfig {
  readonly port: number;
  readonly dir: string;
}

export interface ServicesConfig {
  readonly rootDir: string;
  readonly host: string;
  readonly user: string;
  readonly password: string;
  readonly mariadb: readonly MariadbInstanceConfig[];
  readonly redis: RedisInstanceConfig;
}

/** Default ports: away from a system MariaDB (3306) and Redis (6379). */
export const DEFAULT_PORTS = { source: 33061, target1: 33062, target2: 33063, redis: 63790 } as const;

const PORT_VARIABLES = {
  source: 'CLEAVE_SOURCE_PORT',
  target1: 'CLEAVE_TARGET1_PORT',
  target2: 'CLEAVE_TARGET2_PORT',
  redis: 'CLEAVE_REDIS_PORT',
} as const;

/** The workspace root, found from this file's place in libs/testing/src/services. */
export const WORKSPACE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function portFrom(env: Record<string, string | undefined>, key: keyof typeof PORT_VARIABLES): number {
  const variable = PORT_VARIABLES[key];
  const raw = env[variable];
  if (raw === undefined || raw === '') return DEFAULT_PORTS[key];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${variable}=${raw} is not a TCP port: set it to a number between 1 and 65535`);
  }
  return port;
}

/**
 * Where the local services live and listen. Everything is overridable through the given
 * environment (ports: CLEAVE_SOURCE_PORT, CLEAVE_TARGET1_PORT, CLEAVE_TARGET2_PORT,
 * CLEAVE_REDIS_PORT; data: CLEAVE_SERVICES_DIR).
 */
export function servicesConfig(env: Record<string, string | undefined>): ServicesConfig {
  const rootDir = path.resolve(env['CLEAVE_SERVICES_DIR'] || path.join(WORKSPACE_ROOT, '.cleave', 'services'));
  const mariadb = MARIADB_INSTANCE_NAMES.map((name, i) => ({
    name,
    port: portFrom(env, name),
    binlog: true,
    serverId: i + 1,
    dir: path.join(rootDir, name),
  }));
  const ports = [...mariadb.map((m) => m.port), portFrom(env, 'redis')];
  if (new Set(ports).size !== ports.length) {
    throw new Error(`local service ports must differ, got ${ports.join(', ')}: check the CLEAVE_*_PORT variables`);
  }
  return Object.freeze({
    rootDir,
    host: '127.0.0.1',
    // A local, loopback-only account; real deployments pass their own credentials by environment.
    user: 'cleave',
    password: env['CLEAVE_SERVICES_PASSWORD'] || 'cleave-local-only',
    mariadb,
    redis: { port: portFrom(env, 'redis'), dir: path.join(rootDir, 'redis') },
  });
}

export interface MysqlEndpoint {
  readonly name: MariadbInstanceName;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** The connection URL of a local instance, optionally for one database. */
export function endpointUrl(endpoint: MysqlEndpoint, database?: string): string {
  const auth = `${encodeURIComponent(endpoint.user)}:${encodeURIComponent(endpoint.password)}`;
  return `mysql://${auth}@${endpoint.host}:${endpoint.port}/${database ? encodeURIComponent(database) : ''}`;
}

export function mysqlEndpoints(config: ServicesConfig): Record<MariadbInstanceName, MysqlEndpoint> {
  const out = {} as Record<MariadbInstanceName, MysqlEndpoint>;
  for (const m of config.mariadb) {
    out[m.name] = { name: m.name, host: config.host, port: m.port, user: config.user, password: config.password };
  }
  return out;
}
