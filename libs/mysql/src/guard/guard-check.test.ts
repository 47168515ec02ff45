import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareApply, readApplyImages, writeApplies } from '../sync/apply-keys.js';
import { GUARDED_SYNC_IDLE_SECONDS, syncKeys } from '../sync/sync-rows.js';
import type { TableShape } from '../sync/table-shape.js';
import { syncFixture, type SyncFixture } from '../sync/test/sync-fixture.js';
import { GuardRefusedError, denyWrites, setGuard, type GuardedTables } from './placement-guard.js';

/** A table `t` on both servers, `rows` on the source only, and the guard's description of the target side. */
async function guardFixture(dbs: Parameters<typeof syncFixture>[0], migrationId: string, rows: string) {
  const fx = await syncFixture(dbs, 4);
  const ddl = 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)';
  await fx.sourceAdmin.query(ddl);
  await fx.targetAdmin.query(ddl);
  await fx.sourceAdmin.query(`INSERT INTO t VALUES ${rows}`);
  const shape = await fx.shape('t');
  const side: GuardedTables = { migrationId, migrationName: 'split', database: shape.database, tables: ['t'] };
  return { fx, shape, side };
}

// The primary side has no guard triggers: a cleave writer's own transaction checks the guard row.
describe('a cleave sync checks the placement guard of the side it writes (real MariaDB)', () => {
  const dbs = useTestDatabases('guard check');
  let fx: SyncFixture;
  let shape: TableShape;
  let side: GuardedTables;
  const options = { lockWaitSeconds: 5 };

  beforeAll(async () => {
    ({ fx, shape, side } = await guardFixture(dbs(), 'g1', "(1, 'primary')"));
  });
  afterAll(async () => {
    await fx.end();
  });

  const sync = (guard: { migrationId: string; epoch: number } | undefined) =>
    syncKeys({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: 't' }, keys: [['1']], ...(guard ? { options: { guard } } : {}) }).then(
      () => null,
      (error: unknown) => error,
    );
  const targetRows = async () => ((await fx.targetAdmin.query('SELECT id, v FROM t')) as unknown as [unknown[]])[0];

  it('writes a denied side under its epoch; refuses a stale epoch and a side that became the primary, before writing', async () => {
    expect(await sync({ migrationId: 'g1', epoch: 1 })).toBeNull(); // no guard in this database yet: nothing to check
    await fx.targetAdmin.query('DELETE FROM t');
    await denyWrites(fx.target, side, 3, options);
    expect(await sync({ migrationId: 'g1', epoch: 3 })).toBeNull();
    expect(await targetRows()).toEqual([{ id: 1, v: 'primary' }]);

    await fx.sourceAdmin.query("UPDATE t SET v = 'newer' WHERE id = 1");
    const stale = await sync({ migrationId: 'g1', epoch: 2 });
    expect(stale).toBeInstanceOf(GuardRefusedError);
    expect((stale as Error).message).toContain('is guarded at epoch 3 for migration g1; a writer under guard epoch 2 may not write it');
    // The target became the primary (a switch flipped its row open): the old view may not write it.
    await setGuard(fx.target, side, { denied: false, epoch: 4 }, options);
    const flipped = await sync({ migrationId: 'g1', epoch: 3 });
    expect(flipped).toBeInstanceOf(GuardRefusedError);
    expect((flipped as Error).message).toContain('is the write primary of migration g1 now');
    expect(await targetRows()).toEqual([{ id: 1, v: 'primary' }]); // nothing written by the refused syncs
  });
});

describe('a guarded sync stalled inside its transaction (real MariaDB)', () => {
  const dbs = useTestDatabases('guard stall');
  let fx: SyncFixture;
  let shape: TableShape;
  let side: GuardedTables;
  const options = { lockWaitSeconds: 2 };

  beforeAll(async () => {
    ({ fx, shape, side } = await guardFixture(dbs(), 's1', "(1, 'one')"));
    await denyWrites(fx.target, side, 3, options);
  });
  afterAll(async () => {
    await fx.end();
  });

  it(`loses its transaction after ${GUARDED_SYNC_IDLE_SECONDS} s idle, so a switch can flip the guard row; its retry is then refused by the new epoch`, { timeout: 60_000 }, async () => {
    // An application transaction holds the source row: the capture's sync (guard row and target
    // rows locked, then the source read under a shared lock) waits on it, its target transaction idle.
    const holder = await dbs().admin('source');
    await holder.query('START TRANSACTION');
    await holder.query('SELECT id FROM t WHERE id = 1 FOR UPDATE');
    const started = Date.now();
    const sync = syncKeys({
      source: fx.source,
      target: fx.target,
      sourceShape: shape,
      targetTable: { database: shape.database, table: 't' },
      keys: [['1']],
      options: { guard: { migrationId: 's1', epoch: 3 }, lockSourceRows: true },
    }).then(
      () => null,
      (error: unknown) => error,
    );
    try {
      // A switch's flip waits 2 s for the guard row at a time; it is retried until the stalled
      // sync's transaction is gone. The source row stays locked meanwhile (the sync still waits).
      let flippedAfterMs: number | undefined;
      while (flippedAfterMs === undefined && Date.now() - started < 40_000) {
        try {
          await setGuard(fx.target, side, { denied: false, epoch: 4 }, options);
          flippedAfterMs = Date.now() - started;
        } catch (error) {
          if (!/Lock wait timeout/i.test((error as Error).message)) throw error;
        }
      }
      expect(flippedAfterMs, 'the guard row flip never got the lock the stalled sync held').toBeDefined();
      expect(flippedAfterMs!).toBeGreaterThanOrEqual(GUARDED_SYNC_IDLE_SECONDS * 1000 - 500);
    } finally {
      await holder.query('ROLLBACK');
    }
    // The sync retries on a new connection and meets the new epoch: refused, nothing written.
    const outcome = await sync;
    expect(outcome).toBeInstanceOf(GuardRefusedError);
    const [rows] = (await fx.targetAdmin.query('SELECT id FROM t')) as unknown as [unknown[]];
    expect(rows).toEqual([]);
  });
});

describe("the router's optimistic apply checks the placement guard too (real MariaDB)", () => {
  const dbs = useTestDatabases('guard apply');
  let fx: SyncFixture;
  let shape: TableShape;
  let side: GuardedTables;
  const options = { lockWaitSeconds: 5 };

  beforeAll(async () => {
    ({ fx, shape, side } = await guardFixture(dbs(), 'a1', "(1, 'one'), (2, 'two')"));
    await denyWrites(fx.target, side, 5, options);
  });
  afterAll(async () => {
    await fx.end();
  });

  const apply = async (key: number, epoch: number) => {
    const args = { source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: 't' }, keys: [[String(key)]], targetFlavor: 'mariadb' as const, options: { guard: { migrationId: 'a1', epoch } } };
    const prepared = prepareApply(args, (await readApplyImages(fx.source, [args]))[0]!)!;
    const [outcome] = await writeApplies([prepared]);
    return outcome!;
  };

  it('writes under the current epoch; a side that became the primary refuses the old view, nothing written', async () => {
    expect((await apply(1, 5)).status).toBe('fulfilled');
    await setGuard(fx.target, side, { denied: false, epoch: 6 }, options);
    const late = await apply(2, 5);
    expect(late.status).toBe('rejected');
    expect((late as PromiseRejectedResult).reason).toBeInstanceOf(GuardRefusedError);
    const [rows] = (await fx.targetAdmin.query('SELECT id, v FROM t ORDER BY id')) as unknown as [unknown[]];
    expect(rows).toEqual([{ id: 1, v: 'one' }]);
  });

  it("leaves no guard epoch (nor its idle limit) on the caller's pooled connections", async () => {
    await setGuard(fx.target, side, { denied: true, epoch: 7 }, options);
    expect((await apply(2, 7)).status).toBe('fulfilled');
    // Every connection of the pool at once: each was handed back only after its session was reset.
    const conns = await Promise.all([1, 2, 3, 4].map(() => fx.target.getConnection()));
    try {
      for (const conn of conns) {
        const [[row]] = (await conn.query('SELECT @cleave_epoch AS epoch, @@session.idle_transaction_timeout AS idle, @@global.idle_transaction_timeout AS globalIdle')) as unknown as [[{ epoch: unknown; idle: unknown; globalIdle: unknown }]];
        expect(row.epoch).toBeNull();
        expect(Number(row.idle)).toBe(Number(row.globalIdle));
      }
    } finally {
      for (const conn of conns) conn.release();
    }
  });

  it('a writer stalled inside a guarded transaction loses it (and its lock on the guard row) within seconds: the flip of the row does not wait on it', { timeout: 30_000 }, async () => {
    // What the router's guarded apply does before it writes, then nothing (a process stopped there).
    const stalled = await fx.target.getConnection();
    try {
      await stalled.query("SET @cleave_epoch = 7, SESSION idle_transaction_timeout = 2");
      await stalled.query('START TRANSACTION');
      await stalled.query(`SELECT epoch FROM \`${shape.database}\`._cleave_guard WHERE migration_id = 'a1' LOCK IN SHARE MODE`);
      const started = Date.now();
      await setGuard(fx.target, side, { denied: false, epoch: 8 }, options); // waits up to 5 s for the lock
      console.log(`[guard] the flip waited ${Date.now() - started} ms for the stalled transaction`);
      await expect(stalled.query('SELECT 1')).rejects.toThrow(); // the server ended it
    } finally {
      stalled.destroy();
    }
  });
});
