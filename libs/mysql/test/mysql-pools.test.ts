import { inspect } from 'node:util';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../src/connection-url.js';
import { MysqlLibError } from '../src/mysql-error.js';
import { MysqlPools } from '../src/mysql-pools.js';
import { SESSION_SQL_MODE } from '../src/session-settings.js';
import { createTestDatabase, type TestDatabase } from './servers.js';

const SESSION_QUERY =
  'SELECT @@session.time_zone AS tz, @@session.sql_mode AS sql_mode, @@session.character_set_client AS cs_client, ' +
  '@@session.character_set_connection AS cs_connection, @@session.character_set_results AS cs_results, CONNECTION_ID() AS id';

function modes(text: unknown): string[] {
  return String(text).split(',').sort();
}

function expectSessionSettings(row: RowDataPacket | undefined): void {
  expect(row?.['tz']).toBe('+00:00');
  expect(modes(row?.['sql_mode'])).toEqual(modes(SESSION_SQL_MODE));
  expect(row?.['cs_client']).toBe('utf8mb4');
  expect(row?.['cs_connection']).toBe('utf8mb4');
  expect(row?.['cs_results']).toBe('utf8mb4');
}

function thrown(fn: () => unknown): MysqlLibError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MysqlLibError);
    return error as MysqlLibError;
  }
  throw new Error('expected a throw');
}

describe('MysqlPools against the real server', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('the very first query of a fresh pool runs with the session settings', async () => {
    const pools = new MysqlPools();
    try {
      const [rows] = await pools.promisePool(db.url).query<RowDataPacket[]>(SESSION_QUERY);
      expectSessionSettings(rows[0]);
      expect(pools.stats().servers[db.url.serverKey]?.connectionsOpened).toBe(1);
    } finally {
      await pools.end();
    }
  });

  it('also through getConnection() and the callback API', async () => {
    const pools = new MysqlPools();
    try {
      const connection = await pools.promisePool(db.url).getConnection();
      try {
        const [rows] = await connection.query<RowDataPacket[]>(SESSION_QUERY);
        expectSessionSettings(rows[0]);
      } finally {
        connection.release();
      }
      const other = new MysqlPools();
      try {
        const rows = await new Promise<RowDataPacket[]>((resolve, reject) => {
          other.callbackPool(db.url).query<RowDataPacket[]>(SESSION_QUERY, (error, result) => (error ? reject(error) : resolve(result)));
        });
        expectSessionSettings(rows[0]);
      } finally {
        await other.end();
      }
    } finally {
      await pools.end();
    }
  });

  it('every connection of a pool gets the settings, and the opened count follows', async () => {
    const pools = new MysqlPools();
    try {
      const pool = pools.promisePool(db.url, { connectionLimit: 4 });
      const results = await Promise.all(
        Array.from({ length: 4 }, () => pool.query<RowDataPacket[]>(`${SESSION_QUERY}, SLEEP(0.2) AS slept`)),
      );
      const ids = new Set(results.map(([rows]) => rows[0]?.['id']));
      expect(ids.size).toBe(4);
      for (const [rows] of results) expectSessionSettings(rows[0]);
      // Reused, not reopened.
      await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT 1')));
      expect(pools.stats()).toEqual({
        servers: {
          [db.url.serverKey]: { budget: 20, reserved: 4, pools: 1, connectionsOpened: 4, sessionSetupErrors: 0 },
        },
        connectionsOpened: 4,
      });
    } finally {
      await pools.end();
    }
  });

  it('reads values faithfully (big numbers, decimals, zero dates, JSON as written, backslashes)', async () => {
    const pool = db.pools.promisePool(db.url);
    await pool.query(`CREATE TABLE fidelity (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      big BIGINT UNSIGNED, dec65 DECIMAL(65,30), zero_dt DATETIME, zero_d DATE, ts TIMESTAMP(6) NULL,
      dt6 DATETIME(6), doc JSON, txt VARCHAR(50), bin VARBINARY(8))`);
    await pool.query('INSERT INTO fidelity VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      '18446744073709551615',
      '12345678901234567890123456789012345.123456789012345678901234567891',
      '0000-00-00 00:00:00',
      '2024-00-00',
      '2024-03-01 12:34:56.789012',
      '0000-00-00 00:00:00.000000',
      '{"b": 1,   "a": [1.50, "x"]}',
      "a\\b'c\"d",
      Buffer.from([0x00, 0x5c, 0x0a, 0x00]),
    ]);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM fidelity');
    expect(rows[0]).toEqual({
      id: '0', // NO_AUTO_VALUE_ON_ZERO: 0 stays 0
      big: '18446744073709551615',
      dec65: '12345678901234567890123456789012345.123456789012345678901234567891',
      zero_dt: '0000-00-00 00:00:00',
      zero_d: '2024-00-00',
      ts: '2024-03-01 12:34:56.789012',
      dt6: '0000-00-00 00:00:00.000000',
      doc: '{"b": 1,   "a": [1.50, "x"]}',
      txt: "a\\b'c\"d",
      bin: Buffer.from([0x00, 0x5c, 0x0a, 0x00]),
    });
    // STRICT_ALL_TABLES: too long fails instead of truncating.
    await expect(pool.query('INSERT INTO fidelity (id, txt) VALUES (5, ?)', ['x'.repeat(51)])).rejects.toThrow(/too long/i);
    // The time zone is UTC for TIMESTAMP conversions.
    const [now] = await pool.query<RowDataPacket[]>("SELECT UNIX_TIMESTAMP('1970-01-01 00:00:10') AS t");
    expect(now[0]?.['t']).toBe('10');
  });

  it('runs one statement per query', async () => {
    await expect(db.pools.promisePool(db.url).query('SELECT 1; SELECT 2')).rejects.toThrow(/syntax/i);
  });
});

describe('MysqlPools budget and lifecycle (no server needed)', () => {
  const url = parseConnectionUrl('mysql://app:s3cretPw@db1:3306/accounts');

  it('returns one pool per (server, user, database)', async () => {
    const pools = new MysqlPools();
    const a = pools.pool(url);
    expect(pools.pool(url)).toBe(a);
    expect(pools.pool(url, { connectionLimit: 5 })).toBe(a);
    expect(pools.pool(url.withDatabase('other'))).not.toBe(a);
    expect(pools.pool(parseConnectionUrl('mysql://other:pw@db1/accounts'))).not.toBe(a);
    expect(a.label).toBe('app@db1:3306/accounts');
    expect(pools.promisePool(url)).toBe(a.promise);
    expect(pools.callbackPool(url)).toBe(a.callback);
    expect(pools.stats().servers['db1:3306']).toEqual({ budget: 20, reserved: 15, pools: 3, connectionsOpened: 0, sessionSetupErrors: 0 });
    await pools.end();
  });

  it('caps the sum of connection limits per server', async () => {
    const pools = new MysqlPools({ maxConnectionsPerServer: 5, serverBudgets: { 'db2:3306': 2 } });
    pools.pool(url, { connectionLimit: 3 });
    const error = thrown(() => pools.pool(url.withDatabase('billing'), { connectionLimit: 3 }));
    expect(error.code).toBe('CONNECTION_BUDGET_EXCEEDED');
    expect(error.message).toBe(
      'Connection budget exceeded for server db1:3306: a pool for app@db1:3306/billing asks for 3 connection(s) ' +
        'but 3 of 5 are already reserved by 1 pool(s).',
    );
    expect(error.hint).toBe('Lower connectionLimit, end a pool you no longer need, or raise maxConnectionsPerServer/serverBudgets.');
    pools.pool(url.withDatabase('billing'), { connectionLimit: 2 });
    // Other servers have their own budget.
    pools.pool(parseConnectionUrl('mysql://app@db3/accounts'), { connectionLimit: 5 });
    expect(thrown(() => pools.pool(parseConnectionUrl('mysql://app@db2/accounts'), { connectionLimit: 3 })).code).toBe(
      'CONNECTION_BUDGET_EXCEEDED',
    );
    // Ending a pool gives its connections back.
    await pools.endPool(url);
    pools.pool(url.withDatabase('third'), { connectionLimit: 3 });
    expect(pools.stats().servers['db1:3306']).toMatchObject({ budget: 5, reserved: 5, pools: 2 });
    await pools.end();
  });

  it('refuses conflicting requests for the same pool', async () => {
    const pools = new MysqlPools();
    pools.pool(url, { connectionLimit: 2 });
    expect(thrown(() => pools.pool(url, { connectionLimit: 3 })).message).toBe(
      'A pool for app@db1:3306/accounts already exists with connectionLimit 2; asked for 3: ask for the same limit, or omit it to share the pool.',
    );
    const otherPassword = thrown(() => pools.pool(parseConnectionUrl('mysql://app:different@db1:3306/accounts')));
    expect(otherPassword.code).toBe('POOL_CONFLICT');
    expect(otherPassword.message).not.toContain('different');
    expect(otherPassword.message).not.toContain('s3cretPw');
    await pools.end();
  });

  it('validates its config', () => {
    expect(thrown(() => new MysqlPools({ maxConnectionsPerServer: 0 })).message).toBe(
      'maxConnectionsPerServer must be a positive integer, got 0.',
    );
    expect(thrown(() => new MysqlPools().pool(url, { connectionLimit: 1.5 })).code).toBe('INVALID_POOL_CONFIG');
  });

  it('end() is idempotent and closes the registry', async () => {
    const pools = new MysqlPools();
    pools.pool(url);
    const first = pools.end();
    expect(pools.end()).toBe(first);
    await first;
    await pools.end();
    expect(pools.closed).toBe(true);
    const error = thrown(() => pools.pool(url));
    expect(error.code).toBe('POOLS_CLOSED');
    expect(error.message).toBe('Cannot open a pool for app@db1:3306/accounts: the pools were ended.');
  });

  it('never prints a password', async () => {
    const pools = new MysqlPools();
    const handle = pools.pool(url);
    expect(inspect(pools)).toBe('MysqlPools <app@db1:3306/accounts>');
    expect(inspect(handle)).toBe('ServerPool <app@db1:3306/accounts x5>');
    expect(inspect({ pools, handle }, { depth: 5 })).not.toContain('s3cretPw');
    await pools.end();
  });
});
