import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncKeys } from './sync-rows.js';
import type { TableShape } from './table-shape.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

// A binlog reader sees a transaction's events before its commit is visible to other sessions: the
// sync it triggers must not copy the row as it was before that transaction.
describe('syncKeys with lockSourceRows: a transaction still committing on the source', () => {
  const dbs = useTestDatabases('lock source rows');
  let fx: SyncFixture;
  let shape: TableShape;

  beforeAll(async () => {
    fx = await syncFixture(dbs(), 4);
    const ddl = 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)';
    await fx.sourceAdmin.query(ddl);
    await fx.targetAdmin.query(ddl);
    await fx.sourceAdmin.query("INSERT INTO t VALUES (1, 'before')");
    await fx.targetAdmin.query("INSERT INTO t VALUES (1, 'before')");
    shape = await fx.shape('t');
  });
  afterAll(async () => {
    await fx.end();
  });

  const sync = (lockSourceRows: boolean) =>
    syncKeys({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: 't' }, keys: [['1']], options: { lockSourceRows } });
  const targetValue = async () => ((await fx.targetAdmin.query('SELECT v FROM t WHERE id = 1')) as unknown as [Array<{ v: string }>])[0][0]?.v;

  it('waits for the transaction holding the row and copies what it committed (a plain read copies the old row)', async () => {
    const writer = await fx.source.getConnection();
    try {
      await writer.query({ sql: 'BEGIN' });
      await writer.query({ sql: "UPDATE t SET v = 'after' WHERE id = 1" });
      // A plain read does not wait: it copies the committed old row while the update is in flight.
      await sync(false);
      expect(await targetValue()).toBe('before');
      let done = false;
      const locked = sync(true).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(done, 'the locking read waited for the open transaction').toBe(false);
      await writer.query({ sql: 'COMMIT' });
      await locked;
      expect(await targetValue()).toBe('after');
    } finally {
      writer.release();
    }
  });
});
