// Real servers for integration tests: the local source MariaDB that @cleave/testing starts
// (tools/services), a private database per test file, dropped at the end.
import { endpointUrl, mysqlEndpoints, servicesConfig, uniqueName } from '@cleave/testing';
import { parseConnectionUrl, type ConnectionUrl } from '../src/connection-url.js';
import { quoteIdentifier } from '../src/identifier.js';
import { MysqlPools } from '../src/mysql-pools.js';

/** A private database on the test server. */
export interface TestDatabase {
  /** The server URL with `database` set to the private database. */
  readonly url: ConnectionUrl;
  /** The server URL without a database. */
  readonly serverUrl: ConnectionUrl;
  readonly database: string;
  /** Pools for the test's own use (ended by `drop()`). */
  readonly pools: MysqlPools;
  /** Runs statements one by one on the private database. */
  exec(...statements: string[]): Promise<void>;
  /** Drops the database and ends the pools. */
  drop(): Promise<void>;
}

/** The test server's URL (no database). */
export function testServerUrl(): ConnectionUrl {
  return parseConnectionUrl(endpointUrl(mysqlEndpoints(servicesConfig(process.env)).source));
}


/** Creates a uniquely named database for one test file. Call `drop()` in `afterAll`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const database = uniqueName('mysql');
  const pools = new MysqlPools({ maxConnectionsPerServer: 10 });
  const admin = pools.promisePool(serverUrl, { connectionLimit: 2 });
  await admin.query(`CREATE DATABASE ${quoteIdentifier(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  const url = serverUrl.withDatabase(database);
  const pool = pools.promisePool(url, { connectionLimit: 4 });
  return {
    url,
    serverUrl,
    database,
    pools,
    async exec(...statements: string[]) {
      for (const statement of statements) await pool.query(statement);
    },
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`);
      } finally {
        await pools.end();
      }
    },
  };
}
