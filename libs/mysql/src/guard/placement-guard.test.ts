import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { useTestDatabases } from '@cleave/testing';
import { GUARD_TABLE, allowWrites, denyWrites, isGuardRefusal, prepareGuard, removeGuard, setGuard, type GuardedTables } from './placement-guard.js';

describe('placement guard (real MariaDB): the side that is not the primary refuses writes without the current epoch', () => {
  const dbs = useTestDatabases('placement guard');
  let pool: mysql.Pool;
  let side: GuardedTables;
  const options = { lockWaitSeconds: 5 };

  beforeAll(async () => {
    const e = dbs().target1.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, database: dbs().name, connectionLimit: 4 });
    await pool.query('CREATE TABLE accounts (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await pool.query("INSERT INTO accounts VALUES (1, 'one'), (2, 'two')");
    side = { migrationId: 'abc123', migrationName: 'split-mail', database: dbs().name, tables: ['accounts'] };
  });
  afterAll(async () => {
    await pool.end();
  });

  /** Runs statements on one connection with `@cleave_epoch` set to `epoch` (undefined: not set). */
  async function as(epoch: number | undefined, ...statements: string[]): Promise<unknown> {
    const conn = await pool.getConnection();
    try {
      if (epoch !== undefined) await conn.query(`SET @cleave_epoch = ${epoch}`);
      for (const sql of statements) await conn.query(sql);
      return null;
    } catch (error) {
      return error;
    } finally {
      conn.release();
    }
  }

  it('refuses inserts, updates and deletes from a session without the epoch or with another, naming the table and migration; lets the current epoch through', async () => {
    await denyWrites(pool, side, 3, options);
    for (const sql of ["INSERT INTO accounts VALUES (3, 'three')", "UPDATE accounts SET v = 'x' WHERE id = 1", 'DELETE FROM accounts WHERE id = 2']) {
      const plain = await as(undefined, sql);
      expect(isGuardRefusal(plain), sql).toBe(true);
      expect((plain as Error).message).toBe('cleave guard: accounts here is not the write primary of migration split-mail; see cleave status');
      expect(isGuardRefusal(await as(2, sql)), `${sql} with a stale epoch`).toBe(true);
    }
    expect(await as(3, "INSERT INTO accounts VALUES (3, 'three')", "UPDATE accounts SET v = 'uno' WHERE id = 1", 'DELETE FROM accounts WHERE id = 2')).toBeNull();
    const [rows] = await pool.query('SELECT id, v FROM accounts ORDER BY id');
    expect(rows).toEqual([
      { id: 1, v: 'uno' },
      { id: 3, v: 'three' },
    ]);
  });

  it('moving the epoch waits for a write in flight under the old one, then refuses the old one', async () => {
    const writer = await pool.getConnection();
    try {
      await writer.query('SET @cleave_epoch = 3');
      await writer.query('BEGIN');
      await writer.query("INSERT INTO accounts VALUES (4, 'in flight')");
      let moved = false;
      const move = denyWrites(pool, side, 4, options).then(() => (moved = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(moved, 'the epoch moved while a write under the old one was open').toBe(false);
      await writer.query('COMMIT');
      await move;
      expect(isGuardRefusal(await as(3, "INSERT INTO accounts VALUES (5, 'late')"))).toBe(true);
      expect(await as(4, "INSERT INTO accounts VALUES (5, 'current')")).toBeNull();
    } finally {
      writer.release();
    }
  });

  it('prepared triggers let every write through until the row denies (a switch flips only the row while writes are held)', async () => {
    const other: GuardedTables = { ...side, migrationId: 'def456' };
    await pool.query('CREATE TABLE IF NOT EXISTS prepared (id INT PRIMARY KEY)');
    const prepared: GuardedTables = { ...other, tables: ['prepared'] };
    await prepareGuard(pool, prepared, options);
    expect(await as(undefined, 'INSERT INTO prepared VALUES (1)')).toBeNull();
    await setGuard(pool, prepared, { denied: true, epoch: 7 }, options);
    expect(isGuardRefusal(await as(undefined, 'INSERT INTO prepared VALUES (2)'))).toBe(true);
    expect(await as(7, 'INSERT INTO prepared VALUES (2)')).toBeNull();
    await setGuard(pool, prepared, { denied: false, epoch: 8 }, options);
    expect(await as(undefined, 'INSERT INTO prepared VALUES (3)')).toBeNull();
    await removeGuard(pool, prepared, options);
  });

  it('allowWrites lets everyone write again (the primary side); removeGuard leaves nothing behind', async () => {
    await allowWrites(pool, side, options);
    expect(await as(undefined, "INSERT INTO accounts VALUES (6, 'anyone')")).toBeNull();
    await denyWrites(pool, side, 5, options);
    expect(isGuardRefusal(await as(undefined, 'DELETE FROM accounts WHERE id = 6'))).toBe(true);
    await removeGuard(pool, side, options);
    expect(await as(undefined, 'DELETE FROM accounts WHERE id = 6')).toBeNull();
    const [triggers] = await pool.query('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [dbs().name]);
    expect(triggers).toEqual([]);
    const [guardRows] = await pool.query(`SELECT * FROM ${GUARD_TABLE}`);
    expect(guardRows).toEqual([]);
  });
});
