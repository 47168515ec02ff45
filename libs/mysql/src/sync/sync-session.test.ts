import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denyWrites, GuardRefusedError, removeGuard, setGuard, type GuardedTables } from '../guard/placement-guard.js';
import { SyncSession } from './sync-session.js';
import type { TableShape } from './table-shape.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';
import { countedSessionPool } from './test/counted-pool.js';

describe('SyncSession: syncs on a pool of their own, each connection set up once (real MariaDB)', () => {
  const dbs = useTestDatabases('syncsess');
  let fx: SyncFixture;
  let items: TableShape;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query('CREATE TABLE items (id BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20) NOT NULL)');
    await fx.sourceAdmin.query("INSERT INTO items SELECT seq, CONCAT('n', seq) FROM seq_1_to_20");
    items = await fx.shape('items');
  });
  afterAll(async () => {
    await fx.end();
  });

  const dedicatedPool = (settings: { statementBatches?: boolean } = {}) => countedSessionPool(dbs().target1.url, settings);

  const sync = (session: SyncSession, ids: number[], guard?: { migrationId: string; epoch: number }) =>
    session.syncKeys({ source: fx.source, sourceShape: items, targetTable: { database: items.database, table: 'items' }, keys: ids.map((id) => [String(id)]), ...(guard ? { options: { guard } } : {}) });
  /** Both sides' rows of these ids, hex-compared. */
  const rowsOf = async (side: 'source' | 'target', ids: number[]) =>
    (await fx.hexRows(side === 'source' ? fx.sourceAdmin : fx.targetAdmin, 'items', 'id')).filter((row) => ids.includes(Number(row[0])));

  it('sets each connection up once, and sets up a new one when the server ended the last', async () => {
    const { pool, counts, end } = dedicatedPool();
    try {
      const session = new SyncSession(pool);
      await sync(session, [1, 2, 3]);
      await fx.sourceAdmin.query("UPDATE items SET note = 'changed' WHERE id = 2");
      await sync(session, [2, 4]);
      expect(await rowsOf('target', [1, 2, 3, 4])).toEqual(await rowsOf('source', [1, 2, 3, 4]));
      expect(counts.sessionSetups).toBe(1);

      // The server ends the connection between two syncs: the next sync sets up another and lands.
      const [ids] = (await fx.targetAdmin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [dbs().name])) as unknown as [Array<{ id: number }>];
      for (const { id } of ids) await fx.targetAdmin.query(`KILL CONNECTION ${Number(id)}`);
      await fx.sourceAdmin.query("UPDATE items SET note = 'again' WHERE id = 3");
      await sync(session, [3, 5]);
      expect(await rowsOf('target', [3, 5])).toEqual(await rowsOf('source', [3, 5]));
      expect(counts.sessionSetups).toBe(2);
    } finally {
      await end();
    }
  });

  it('refuses a sync under another guard than the one its session was set for', async () => {
    const { pool, end } = dedicatedPool();
    try {
      const session = new SyncSession(pool, { migrationId: 'm1', epoch: 2 });
      await expect(sync(session, [1], { migrationId: 'm1', epoch: 3 })).rejects.toThrow(/open a session \(and a pool\) per guard epoch/);
      await expect(sync(session, [1])).rejects.toThrow(/open a session \(and a pool\) per guard epoch/);
    } finally {
      await end();
    }
  });

  it('on a pool that runs statement batches: guard and lock in one round trip, writes and commit in another, with the same outcomes', async () => {
    const { pool, counts, end } = dedicatedPool({ statementBatches: true });
    const side: GuardedTables = { migrationId: 'mb', migrationName: 'split', database: items.database, tables: ['items', 'handles'] };
    const guard = { migrationId: 'mb', epoch: 5 };
    try {
      for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query('CREATE TABLE handles (id INT PRIMARY KEY, handle VARCHAR(20) NOT NULL, UNIQUE KEY handle (handle))');
      await fx.sourceAdmin.query("INSERT INTO handles VALUES (1, 'a'), (2, 'b')");
      const handles = await fx.shape('handles');
      await denyWrites(fx.target, side, 5, { lockWaitSeconds: 5 });
      const session = new SyncSession(pool, guard);
      const syncOf = (shape: TableShape, ids: number[]) =>
        session.syncKeys({ source: fx.source, sourceShape: shape, targetTable: { database: shape.database, table: shape.table }, keys: ids.map((id) => [String(id)]), options: { guard } });

      // Inserts: guard and lock, writes, commit (the inserted rows are re-checked on the source before it).
      await syncOf(items, [6, 7, 8]);
      expect(counts.roundTrips).toBe(3);
      expect(await rowsOf('target', [6, 7, 8])).toEqual(await rowsOf('source', [6, 7, 8]));

      // An update and a delete, nothing inserted: two round trips.
      await fx.sourceAdmin.query("UPDATE items SET note = 'batched' WHERE id = 7");
      await fx.sourceAdmin.query('DELETE FROM items WHERE id = 8');
      counts.roundTrips = 0;
      await syncOf(items, [7, 8]);
      expect(counts.roundTrips).toBe(2);
      expect(await rowsOf('target', [6, 7, 8])).toEqual(await rowsOf('source', [6, 7, 8]));

      // A unique value moved between rows: the batch's write fails on the stale holder, which is synced too.
      await syncOf(handles, [1, 2]);
      await fx.sourceAdmin.query("UPDATE handles SET handle = 'c' WHERE id = 1");
      await fx.sourceAdmin.query("UPDATE handles SET handle = 'a' WHERE id = 2");
      await syncOf(handles, [2]);
      expect(await fx.hexRows(fx.targetAdmin, 'handles', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'handles', 'id'));

      // The guard moved on: refused in the batch that reads it, before anything is written.
      await setGuard(fx.target, side, { denied: true, epoch: 6 }, { lockWaitSeconds: 5 });
      await fx.sourceAdmin.query("UPDATE items SET note = 'stale view' WHERE id = 6");
      const refused = await syncOf(items, [6]).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(GuardRefusedError);
      expect((refused as Error).message).toContain('is guarded at epoch 6 for migration mb; a writer under guard epoch 5 may not write it');
      expect((await rowsOf('target', [6]))[0]).not.toEqual((await rowsOf('source', [6]))[0]);
    } finally {
      await end();
      await removeGuard(fx.target, side, { lockWaitSeconds: 5 });
    }
  });
});
