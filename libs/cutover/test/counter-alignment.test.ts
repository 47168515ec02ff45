import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabases } from '@cleave/testing';
import { openFixture } from './cutover-fixture.js';

// Ids must never be handed out twice across a switch of the write primary: a row inserted on the
// old primary and deleted before the copy reached it leaves the new primary's counter behind.
describe('a switch of the write primary raises the auto-increment counters of the moved tables', () => {
  const dbs = useTestDatabases('counters');
  let fx: Awaited<ReturnType<typeof openFixture>>;
  let target: mysql.Pool;
  const ddl = 'CREATE TABLE accounts_t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)';

  beforeAll(async () => {
    fx = await openFixture(dbs());
    const e = dbs().target1.endpoint;
    target = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, database: dbs().name, connectionLimit: 3 });
    await (await dbs().admin('source')).query(ddl);
    await (await dbs().admin('target1')).query(ddl);
  });
  afterAll(async () => {
    await target.end();
    await fx.close();
  });

  const counter = async (db: mysql.Pool | mysql.Connection, database: string): Promise<number> => {
    const [[row]] = (await db.query('SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [database, 'accounts_t'])) as unknown as [[{ n: number }]];
    return Number(row!.n);
  };
  const sourceCounter = async () => counter(await dbs().admin('source'), dbs().name);
  const targetCounter = async () => counter(target, dbs().name);
  /** Inserts `n` rows on a side and deletes them again: only its counter moves. */
  const burn = async (db: mysql.Pool | mysql.Connection, n: number) => {
    for (let i = 0; i < n; i += 1) await db.query('INSERT INTO accounts_t (v) VALUES (0)');
    await db.query('DELETE FROM accounts_t WHERE v = 0');
  };

  it('forward, rollback and forward again; a table held by a transaction aborts the switch, which then succeeds', async () => {
    const source = await dbs().admin('source');
    await source.query('INSERT INTO accounts_t (v) SELECT seq FROM seq_1_to_6');
    await target.query('INSERT INTO accounts_t (v) SELECT seq FROM seq_1_to_6'); // the copy
    await burn(source, 4); // inserted and deleted before the copy reached them
    const [sourceNext, targetNext] = [await sourceCounter(), await targetCounter()];
    expect(targetNext).toBeLessThan(sourceNext);

    const m = await fx.readyMigration('counters', ['accounts_t']);
    const c = fx.cutover({ servers: (name) => (name === 'source' ? fx.source : target) });
    // No router and no capture here: the switches run on the operator's word.
    const accept = { acceptUncapturedWrites: true };
    await c.change(m.id, { to: 'verified', ...accept });
    await c.change(m.id, { to: 'reads_switched', ...accept });
    expect(await targetCounter()).toBe(targetNext); // only a switch of the write primary aligns

    const forward = await c.change(m.id, { to: 'writes_switched', ...accept });
    expect(forward.outcome).toBe('done');
    expect(await targetCounter()).toBe(sourceNext);
    const [inserted] = (await target.query('INSERT INTO accounts_t (v) VALUES (7)')) as unknown as [{ insertId: number }];
    expect(inserted.insertId).toBe(sourceNext); // not targetNext: that id belonged to a row of the old primary
    const notes = (await fx.store.events(m.id)).filter((e) => e.kind === 'note' && e.details?.['cutover'] === 'counters');
    expect(notes.map((e) => e.details?.['raised'])).toEqual([[{ server: 'target1', database: dbs().name, table: 'accounts_t', from: String(targetNext), to: String(sourceNext) }]]);

    // Rollback: the source becomes the primary again and must not reuse ids the target gave out.
    await burn(target, 4);
    const targetAfter = await targetCounter();
    expect(await sourceCounter()).toBeLessThan(targetAfter);
    const back = await c.rollback(m.id, { reason: 'test' });
    await fx.cleanVerification(m.id); // the primary moved back: the next writes switch needs a pass after it
    expect(back.outcome).toBe('done');
    expect(await sourceCounter()).toBe(targetAfter);

    // A transaction holding the table on the new primary: the ALTER waits its second, then the
    // switch is aborted (writes released, the old epoch kept), and succeeds once it ended.
    await burn(source, 4);
    const sourceAfter = await sourceCounter();
    const holder = await target.getConnection();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT COUNT(*) FROM accounts_t');
      const held = await c.change(m.id, { to: 'writes_switched', ...accept });
      expect(held.outcome).toBe('aborted');
      expect(held.reason).toContain(`could not raise the AUTO_INCREMENT of ${dbs().name}.accounts_t on target1 from ${targetAfter} to ${sourceAfter} within 1 s: a transaction holds the table`);
      expect((await fx.store.getMigration(m.id)).phase).toBe('reads_switched');
      expect(await fx.fleet.fences([m.id])).toEqual(new Map());
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    expect((await c.change(m.id, { to: 'writes_switched', ...accept })).outcome).toBe('done');
    expect(await targetCounter()).toBe(sourceAfter);
  });
});
