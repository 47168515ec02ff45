import { sql } from 'kysely';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely } from '../src/create-kysely.js';
import { MysqlPools } from '../src/mysql-pools.js';
import { createTestDatabase, type TestDatabase } from './servers.js';

interface DB {
  accounts: { id: string; email: string; balance: string; created_at: string };
}

describe('createKysely', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.exec(
      'CREATE TABLE accounts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, email VARCHAR(255) NOT NULL, balance DECIMAL(65,30) NOT NULL, created_at DATETIME(6) NOT NULL)',
    );
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("runs Kysely queries over the registry's pool with the session settings", async () => {
    const pools = new MysqlPools();
    try {
      const kysely = createKysely<DB>(pools, db.url, { connectionLimit: 2 });
      const session = await sql<{ tz: string }>`SELECT @@session.time_zone AS tz`.execute(kysely);
      expect(session.rows).toEqual([{ tz: '+00:00' }]);

      await kysely
        .insertInto('accounts')
        .values({ id: '18446744073709551615', email: "o'neil\\x@example.com", balance: '0.000000000000000000000000000001', created_at: '0000-00-00 00:00:00.000000' })
        .execute();
      const rows = await kysely.selectFrom('accounts').selectAll().execute();
      expect(rows).toEqual([
        { id: '18446744073709551615', email: "o'neil\\x@example.com", balance: '0.000000000000000000000000000001', created_at: '0000-00-00 00:00:00.000000' },
      ]);
      expect(pools.stats().servers[db.url.serverKey]).toMatchObject({ reserved: 2, pools: 1 });

      // destroy() leaves the shared pool to the registry.
      await kysely.destroy();
      const [after] = await pools.promisePool(db.url).query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM accounts');
      expect(after[0]?.['n']).toBe('1');
      const again = createKysely<DB>(pools, db.url);
      expect(await again.selectFrom('accounts').select('email').executeTakeFirst()).toEqual({ email: "o'neil\\x@example.com" });
    } finally {
      await pools.end();
    }
  });

  it('is bound by the budget', () => {
    const pools = new MysqlPools({ maxConnectionsPerServer: 2 });
    expect(() => createKysely<DB>(pools, db.url, { connectionLimit: 3 })).toThrow(/Connection budget exceeded/);
  });
});
