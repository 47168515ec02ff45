import { useTestDatabases, waitForLockWaits } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denyWrites, GuardRefusedError, markShadowReads, removeGuard, setGuard, type GuardedTables } from '../guard/placement-guard.js';
import { SyncSession } from './sync-session.js';
import type { TableShape } from './table-shape.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';
import { countedSessionPool } from './test/counted-pool.js';

const LOCK_WAIT = { lockWaitSeconds: 5 };

describe("SyncSession.syncCapturedKeys: the capture's sync, unlocked where nobody reads the shadow (real MariaDB)", () => {
  const dbs = useTestDatabases('capsync');
  let fx: SyncFixture;
  let side: GuardedTables;
  const guard = { migrationId: 'mc', epoch: 3 };

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) {
      await admin.query('CREATE TABLE items (id BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20) NOT NULL)');
      await admin.query('CREATE TABLE handles (id INT PRIMARY KEY, handle VARCHAR(20) NOT NULL, UNIQUE KEY handle (handle))');
      await admin.query('CREATE TABLE named (name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, note VARCHAR(20) NOT NULL)');
    }
    // Both sides start equal (as after a copy), before the guard denies the shadow.
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query("INSERT INTO items SELECT seq, CONCAT('n', seq) FROM seq_1_to_20");
    side = { migrationId: guard.migrationId, migrationName: 'split', database: dbs().name, tables: ['items', 'handles', 'named'] };
    await denyWrites(fx.target, side, guard.epoch, LOCK_WAIT);
  });
  afterAll(async () => {
    await removeGuard(fx.target, side, LOCK_WAIT).catch(() => undefined);
    await fx.end();
  });

  const syncOf = (session: SyncSession, shape: TableShape, keys: string[]) =>
    session.syncCapturedKeys({
      source: fx.source,
      sourceShape: shape,
      targetTable: { database: shape.database, table: shape.table },
      keys: keys.map((key) => [key]),
      options: { guard, imageLiterals: 'client', lockSourceRows: true },
    });
  const sameSides = async (table: string, orderBy = '1') => expect(await fx.hexRows(fx.targetAdmin, table, orderBy)).toEqual(await fx.hexRows(fx.sourceAdmin, table, orderBy));

  it('inserts, updates and deletes with one round trip to the shadow, after the primary read', async () => {
    const { pool, counts, end } = countedSessionPool(dbs().target1.url, { statementBatches: true });
    try {
      const session = new SyncSession(pool, guard);
      const items = await fx.shape('items');
      await fx.sourceAdmin.query("UPDATE items SET note = 'first' WHERE id IN (1, 2, 3, 4)");
      const first = await syncOf(session, items, ['1', '2', '3', '4']);
      expect(first).toMatchObject({ lockedKeys: 0, sourceRows: 4 });
      expect(counts.roundTrips).toBe(1);
      await sameSides('items');

      await fx.sourceAdmin.query("UPDATE items SET note = 'changed' WHERE id = 2");
      await fx.sourceAdmin.query('DELETE FROM items WHERE id IN (3, 4)');
      await fx.sourceAdmin.query("INSERT INTO items VALUES (21, 'new')");
      counts.roundTrips = 0;
      const second = await syncOf(session, items, ['2', '3', '4', '21', '99']);
      expect(second).toMatchObject({ lockedKeys: 0, sourceRows: 2, deleted: 2 });
      expect(counts.roundTrips).toBe(1);
      await sameSides('items');
    } finally {
      await end();
    }
  });

  it('rewrites a key whose bytes changed under a _ci collation, and resolves swapped unique values through the locked sync', async () => {
    const { pool, end } = countedSessionPool(dbs().target1.url, { statementBatches: true });
    try {
      const session = new SyncSession(pool, guard);
      const named = await fx.shape('named');
      await fx.sourceAdmin.query("INSERT INTO named VALUES ('abc', 'one'), ('Zo ', 'two')");
      expect(await syncOf(session, named, ['abc', 'Zo '])).toMatchObject({ lockedKeys: 0 });
      // Only the case changes, and a trailing space goes: collation-equal keys with other bytes.
      await fx.sourceAdmin.query("UPDATE named SET name = 'ABC' WHERE name = 'abc'");
      await fx.sourceAdmin.query("UPDATE named SET name = 'Zo' WHERE name = 'Zo '");
      expect(await syncOf(session, named, ['abc', 'ABC', 'Zo ', 'Zo'])).toMatchObject({ lockedKeys: 0, deleted: 0 });
      await sameSides('named', 'HEX(name)');

      const handles = await fx.shape('handles');
      await fx.sourceAdmin.query("INSERT INTO handles VALUES (1, 'a'), (2, 'b')");
      await syncOf(session, handles, ['1', '2']);
      await fx.sourceAdmin.query("UPDATE handles SET handle = 'c' WHERE id = 1");
      await fx.sourceAdmin.query("UPDATE handles SET handle = 'a' WHERE id = 2");
      // Row 2 takes 'a' before row 1 gave it up on the shadow: the batch fails, the locked sync resolves it.
      expect(await syncOf(session, handles, ['2'])).toMatchObject({ lockedKeys: 1 });
      await sameSides('handles');
      // A unique conflict concerns its rows only: the next sync is unlocked again.
      await fx.sourceAdmin.query("UPDATE handles SET handle = 'd' WHERE id = 1");
      expect(await syncOf(session, handles, ['1'])).toMatchObject({ lockedKeys: 0 });
      await sameSides('handles');
    } finally {
      await end();
    }
  });

  it('keeps to the locked sync while the shadow serves reads, and is refused where the guard moved on', async () => {
    const { pool, counts, end } = countedSessionPool(dbs().target1.url, { statementBatches: true });
    try {
      const session = new SyncSession(pool, guard);
      const items = await fx.shape('items');
      await markShadowReads(fx.target, side, true, LOCK_WAIT);
      await fx.sourceAdmin.query("UPDATE items SET note = 'read' WHERE id = 5");
      // One try (refused by the guard row, rolled back), then the locked sync.
      expect(await syncOf(session, items, ['5'])).toMatchObject({ lockedKeys: 1 });
      await sameSides('items');
      // No more tries while it serves reads: guard and lock, then the writes and commit.
      await fx.sourceAdmin.query("UPDATE items SET note = 'read' WHERE id = 6");
      counts.roundTrips = 0;
      expect(await syncOf(session, items, ['6'])).toMatchObject({ lockedKeys: 1 });
      expect(counts.roundTrips).toBe(2);
      await sameSides('items');

      // Nobody reads it again: the next locked sync reads the row and the one after is unlocked.
      await markShadowReads(fx.target, side, false, LOCK_WAIT);
      await fx.sourceAdmin.query("UPDATE items SET note = 'quiet' WHERE id = 7");
      expect(await syncOf(session, items, ['7'])).toMatchObject({ lockedKeys: 1 });
      await fx.sourceAdmin.query("UPDATE items SET note = 'quiet' WHERE id = 8");
      expect(await syncOf(session, items, ['8'])).toMatchObject({ lockedKeys: 0 });
      await sameSides('items');

      // The epoch moved on, then the shadow became the primary: the locked sync refuses, nothing written.
      for (const state of [{ denied: true, epoch: guard.epoch + 1 }, { denied: false, epoch: guard.epoch + 1 }]) {
        await setGuard(fx.target, side, state, LOCK_WAIT);
        await fx.sourceAdmin.query("UPDATE items SET note = CONCAT(note, '!') WHERE id = 9");
        await expect(syncOf(session, items, ['9'])).rejects.toBeInstanceOf(GuardRefusedError);
        expect((await fx.hexRows(fx.targetAdmin, 'items')).find((row) => row[0] === '9')).not.toEqual((await fx.hexRows(fx.sourceAdmin, 'items')).find((row) => row[0] === '9'));
      }
      // The guard back as it was: the row is synced again.
      await denyWrites(fx.target, side, guard.epoch, LOCK_WAIT);
      await syncOf(session, items, ['9']);
      await sameSides('items');
    } finally {
      await denyWrites(fx.target, side, guard.epoch, LOCK_WAIT);
      await end();
    }
  });

  it("a switch's mark of the guard row waits for an unlocked sync in flight, and later syncs see it", async () => {
    const { pool, end } = countedSessionPool(dbs().target1.url, { statementBatches: true });
    const holder = await dbs().admin('target1');
    try {
      const session = new SyncSession(pool, guard);
      const items = await fx.shape('items');
      await fx.sourceAdmin.query("UPDATE items SET note = 'held' WHERE id = 10");
      // Another shadow transaction holds row 10: the sync's batch passes the guard, then waits in its upsert.
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM items WHERE id = 10 FOR UPDATE');
      const order: string[] = [];
      const syncing = syncOf(session, items, ['10']).then((result) => {
        order.push('sync');
        return result;
      });
      await waitForLockWaits(fx.targetAdmin, 1, 'the sync to wait for row 10 on the shadow');
      const marking = markShadowReads(fx.target, side, true, LOCK_WAIT).then(() => order.push('mark'));
      await waitForLockWaits(fx.targetAdmin, 2, "the mark to wait for the guard row's shared lock");
      await holder.query('ROLLBACK');
      expect(await syncing).toMatchObject({ lockedKeys: 0 });
      await marking;
      expect(order).toEqual(['sync', 'mark']);
      await sameSides('items');
      await fx.sourceAdmin.query("UPDATE items SET note = 'after' WHERE id = 10");
      expect(await syncOf(session, items, ['10'])).toMatchObject({ lockedKeys: 1 });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await markShadowReads(fx.target, side, false, LOCK_WAIT);
      await end();
    }
  });
});
