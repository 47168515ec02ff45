import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import {
  MARIADB_INSTANCE_NAMES,
  endpointUrl,
  mysqlEndpoints,
  servicesConfig,
  type MariadbInstanceName,
  type MysqlEndpoint,
  type ServicesConfig,
} from './services/services-config.js';
import { uniqueName } from './unique-name.js';

export interface TestDatabase {
  readonly server: MariadbInstanceName;
  readonly endpoint: MysqlEndpoint;
  readonly database: string;
  /** `mysql://cleave:…@127.0.0.1:port/database` */
  readonly url: string;
}

/** One test's private databases (same name on each server), Redis prefix and queue prefix. */
export interface TestDatabases {
  readonly name: string;
  readonly source: TestDatabase;
  readonly target1: TestDatabase;
  readonly target2: TestDatabase;
  readonly redis: { readonly host: string; readonly port: number; readonly url: string };
  /** Prefix for every Redis key the test writes, ends with `:`. */
  readonly redisPrefix: string;
  /** Prefix for BullMQ queue names (no `:`). */
  readonly queuePrefix: string;
  /** Runs SQL as the admin account on a server, independent of the code under test. */
  admin(server: MariadbInstanceName): Promise<mysql.Connection>;
  drop(): Promise<void>;
}

async function adminConnection(endpoint: MysqlEndpoint, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    multipleStatements: true,
    charset: 'utf8mb4_general_ci',
  });
}

/**
 * Creates fresh, uniquely named databases on the source and both targets, for one test file.
 * Call `drop()` afterwards (or use `useTestDatabases()` in vitest).
 */
export async function createTestDatabases(label = 't', config: ServicesConfig = servicesConfig(process.env)): Promise<TestDatabases> {
  const name = uniqueName(label);
  const endpoints = mysqlEndpoints(config);
  const opened: mysql.Connection[] = [];
  const dbs = {} as Record<MariadbInstanceName, TestDatabase>;
  for (const server of MARIADB_INSTANCE_NAMES) {
    const conn = await adminConnection(endpoints[server]);
    try {
      await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    } finally {
      await conn.end();
    }
    dbs[server] = { server, endpoint: endpoints[server], database: name, url: endpointUrl(endpoints[server], name) };
  }
  const redisPrefix = `${name}:`;
  const redis = { host: config.host, port: config.redis.port, url: `redis://${config.host}:${config.redis.port}` };
  return {
    name,
    ...dbs,
    redis,
    redisPrefix,
    queuePrefix: name,
    async admin(server) {
      const conn = await adminConnection(endpoints[server], name);
      opened.push(conn);
      return conn;
    },
    async drop() {
      await Promise.all(opened.splice(0).map((c) => c.end().catch(() => undefined)));
      for (const server of MARIADB_INSTANCE_NAMES) {
        const conn = await adminConnection(endpoints[server]).catch(() => null);
        if (!conn) continue; // a test may have stopped this server on purpose
        // Also the control database that cleaveEnv() points cleave at.
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await conn.query(`DROP DATABASE IF EXISTS \`${name}_control\``).finally(() => conn.end());
      }
      const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
          if (keys.length) await client.del(...keys);
          cursor = next;
        } while (cursor !== '0');
        // BullMQ keys: bull:<queuePrefix>…
        cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `bull:${name}*`, 'COUNT', 1000);
          if (keys.length) await client.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}
