import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTestDatabases } from './test-databases.js';
import { useTestDatabases } from './use-test-databases.js';

describe('test databases', () => {
  const dbs = useTestDatabases('testing lib');

  it('gives each test file the same fresh database name on all three servers', async () => {
    const { name, source, target1, target2 } = dbs();
    expect(name).toMatch(/^testing_lib_[0-9a-f]{10}$/);
    for (const db of [source, target1, target2]) {
      expect(db.database).toBe(name);
      const conn = await dbs().admin(db.server);
      const [rows] = await conn.query('SELECT DATABASE() AS db, CAST(@@port AS CHAR) AS port');
      expect(rows).toEqual([{ db: name, port: String(db.endpoint.port) }]);
    }
    expect(new Set([source.endpoint.port, target1.endpoint.port, target2.endpoint.port]).size).toBe(3);
  });

  it('drop() removes the databases and the Redis keys under the prefix, and nothing else', async () => {
    const other = await createTestDatabases('other');
    const redis = new Redis(other.redis.port, other.redis.host);
    try {
      await redis.set(`${other.redisPrefix}k`, '1');
      await redis.set(`${dbs().redisPrefix}k`, '1');
      await other.drop();
      expect(await redis.exists(`${other.redisPrefix}k`)).toBe(0);
      expect(await redis.exists(`${dbs().redisPrefix}k`)).toBe(1);
      const conn = await dbs().admin('source');
      const [rows] = await conn.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)', [other.name, dbs().name]);
      expect(rows).toEqual([{ SCHEMA_NAME: dbs().name }]);
    } finally {
      redis.disconnect();
    }
  });
});
