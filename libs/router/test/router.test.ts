import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, sql } from 'kysely';
import { MIGRATION_PHASES, type MigrationPhase, type Plan } from '@cleave/core';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { createSampleAccounts, hexRows, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, RouterError, type RoutedMigration, type RouterPool } from '../src/index.js';

interface DB {
  users: { id?: number | string; email: string; display_name: string; password_hash: Buffer; status?: string; created_at: string; storage_used?: number };
  sessions: { id?: number | string; user_id: number; token_hash: Buffer; ip: Buffer; user_agent: string | null; created_at: string; expires_at: string };
  invoices: { user_id: number; invoice_no: number; amount: string; currency: string; issued_at: string; state?: string };
  user_settings: { user_id: number; locale?: string };
}

describe('@cleave/router routes by phase and dual-writes (real MariaDB)', () => {
  const dbs = useTestDatabases('router');
  let pools: MysqlPools;
  let servers: Record<string, RouterPool>;
  let plan: Plan;
  const routers: Kysely<DB>[] = [];
  // No failure store here: each router records failed shadow writes in its own journal.
  const journalDir = mkdtempSync(path.join(os.tmpdir(), 'cleave-router-journal-'));

  beforeAll(async () => {
    for (const s of ['source', 'target1', 'target2'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 40 });
    servers = {
      source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
      target1: pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
      target2: pools.pool(parseConnectionUrl(dbs().target2.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
    };
    const name = dbs().name;
    plan = {
      version: 1,
      name: 'split',
      source: { server: 'source', database: name },
      targets: { mail: { server: 'target1', database: name }, keys: { server: 'target2', database: name } },
      moves: [
        { kind: 'tables', tables: ['users', 'sessions'], to: 'mail' },
        { kind: 'shard', table: 'invoices', key: { column: 'user_id', type: 'integer' }, ranges: [{ from: null, to: '1500', target: 'mail' }, { from: '1500', to: null, target: 'keys' }] },
      ],
    } as Plan;
  });

  afterAll(async () => {
    for (const db of routers) await db.destroy();
    await pools.end();
  });

  it('refuses to start without a durable place for failed shadow writes (no failure store, no journal), saying what to give it', () => {
    expect(() => new CleaveDialect({ servers, store: { listMigrations: async () => [] } })).toThrow(/nowhere durable to record a failed shadow write: give it `failures` \(the ControlStore\) or a `journalPath`/);
  });

  function routerAt(phase: MigrationPhase, options: { capture?: boolean } = {}): Kysely<DB> {
    const migration: RoutedMigration = { id: 'abcdefabcdef', name: 'split', plan, phase, epoch: 1 + MIGRATION_PHASES.indexOf(phase), capture: options.capture ?? false };
    const db = new Kysely<DB>({ dialect: new CleaveDialect({ servers, store: { listMigrations: async () => [migration] }, journalPath: path.join(journalDir, `${routers.length}.jsonl`), pollMs: 60_000 }) });
    routers.push(db);
    return db;
  }

  const user = (email: string) => ({ email, display_name: 'Zoë 🦊', password_hash: Buffer.from([0, 0x5c, 0x0a, 0]), created_at: '2024-01-01 00:00:00.123456' });
  const emails = async (server: 'source' | 'target1' | 'target2') => {
    const [rows] = await (await dbs().admin(server)).query('SELECT email FROM users ORDER BY id');
    return (rows as Array<{ email: string }>).map((r) => r.email);
  };

  // Rows written in phases without a shadow (planned, finalized) live on one side only, as they should.
  const inSync = "email NOT IN ('planned@example.com', 'finalized@example.com')";
  const expectUsersInSync = async () => {
    const name = dbs().name;
    expect(await hexRows(await dbs().admin('target1'), name, 'users', 'id', inSync)).toEqual(await hexRows(await dbs().admin('source'), name, 'users', 'id', inSync));
  };

  it('reads and writes go where each phase says, and the shadow holds the primary’s row images', async () => {
    for (const phase of MIGRATION_PHASES) {
      const db = routerAt(phase);
      const email = `${phase}@example.com`;
      await db.insertInto('users').values(user(email)).execute();
      const primary = phase === 'writes_switched' || phase === 'finalized' ? 'target1' : 'source';
      const shadow = phase === 'planned' || phase === 'finalized' ? null : primary === 'source' ? 'target1' : 'source';
      expect(await emails(primary), phase).toContain(email);
      if (shadow !== null) expect(await emails(shadow), phase).toContain(email);
      else expect(await emails(primary === 'source' ? 'target1' : 'source'), phase).not.toContain(email);
      // Reads: put a row only on the side reads should use.
      const readSide = ['planned', 'dual_write', 'verified'].includes(phase) ? 'source' : 'target1';
      const marker = `read-${phase}@example.com`;
      await (await dbs().admin(readSide)).query(`INSERT INTO users (email, display_name, password_hash, created_at) VALUES ('${marker}', 'x', 'x', NOW())`);
      const found = await db.selectFrom('users').select('email').where('email', '=', marker).execute();
      expect(found, phase).toHaveLength(1);
      await (await dbs().admin(readSide)).query(`DELETE FROM users WHERE email = '${marker}'`);
    }
  });

  it('dual writes: UPDATE … WHERE, NOW()/RAND(), key changes and deletes land identically on the shadow', async () => {
    const db = routerAt('dual_write');
    for (let i = 0; i < 20; i++) await db.insertInto('users').values(user(`dw${i}@example.com`)).execute();
    await db.updateTable('users').set({ status: 'suspended', storage_used: sql`FLOOR(RAND() * 1000000)` as never }).where('email', 'like', 'dw1%').execute();
    await db.updateTable('users').set({ created_at: sql`NOW(6)` as never }).where('email', '=', 'dw2@example.com').execute();
    const [[row]] = (await (await dbs().admin('source')).query(`SELECT id FROM users WHERE email = 'dw3@example.com'`)) as unknown as [[{ id: string }]];
    await db.updateTable('users').set({ id: sql`id + 100000` as never }).where('id', '=', row.id).execute();
    await db.deleteFrom('users').where('email', 'in', ['dw4@example.com', 'dw5@example.com']).execute();
    await db.insertInto('users').values([user('multi1@example.com'), user('multi2@example.com'), user('multi3@example.com')]).execute();
    await expectUsersInSync();
  });

  it('a transaction is applied to the shadow after commit, and not at all after a rollback', async () => {
    const db = routerAt('dual_write');
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(user('tx1@example.com')).execute();
      await trx.updateTable('users').set({ status: 'active' }).where('email', '=', 'tx1@example.com').execute();
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(user('tx2@example.com')).execute();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await emails('target1')).toContain('tx1@example.com');
    expect(await emails('target1')).not.toContain('tx2@example.com');
    expect(await emails('source')).not.toContain('tx2@example.com');
    await expectUsersInSync();
  });

  it('refuses cross-server joins and key-less shard writes with clear errors; shard writes follow the key', async () => {
    const db = routerAt('reads_switched');
    const join = db.selectFrom('users').innerJoin('user_settings', 'user_settings.user_id', 'users.id').selectAll().execute();
    await expect(join).rejects.toThrow(RouterError);
    await expect(join).rejects.toThrow(/users -> target1, user_settings -> source/);
    await expect(db.updateTable('invoices').set({ state: 'paid' }).where('state', '=', 'open').execute()).rejects.toMatchObject({ reason: 'shard-key-missing' });
    const dw = routerAt('dual_write');
    await dw.insertInto('invoices').values([
      { user_id: 10, invoice_no: 1, amount: '1.5000', currency: 'EUR', issued_at: '2024-01-01' },
      { user_id: 2000, invoice_no: 1, amount: '2.5000', currency: 'CHF', issued_at: '2024-01-02' },
    ]).execute();
    await dw.updateTable('invoices').set({ state: 'paid' }).where('user_id', 'in', [10, 2000]).execute();
    const name = dbs().name;
    expect(await hexRows(await dbs().admin('target1'), name, 'invoices', 'user_id, invoice_no')).toEqual(await hexRows(await dbs().admin('source'), name, 'invoices', 'user_id, invoice_no', 'user_id < 1500'));
    expect(await hexRows(await dbs().admin('target2'), name, 'invoices', 'user_id, invoice_no')).toEqual(await hexRows(await dbs().admin('source'), name, 'invoices', 'user_id, invoice_no', 'user_id >= 1500'));
    // A read without the key fans out to both shards and merges.
    const all = await db.selectFrom('invoices').select(['user_id', 'state']).execute();
    expect(all.map((r) => String(r.user_id)).sort()).toEqual(['10', '2000']);
    // Raw SQL is parsed: a raw join across servers is refused too.
    await expect(sql`SELECT * FROM users u JOIN user_settings s ON s.user_id = u.id`.execute(db)).rejects.toMatchObject({ reason: 'cross-server-query' });
    const raw = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM users`.execute(db);
    expect(Number(raw.rows[0]!.n)).toBeGreaterThan(0);
  });

  it('refuses what it cannot carry to both sides, naming the statement and the fix: DDL and TRUNCATE on a moved table, multi-table writes, shard-key changes, unmergeable fan-out reads', async () => {
    const db = routerAt('dual_write');
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as RouterError);
    // Schema changes of a moved table, built or raw, in any phase before finalize.
    const alter = await refusal(db.schema.alterTable('users').addColumn('nickname', 'varchar(20)').execute());
    expect(alter).toMatchObject({ reason: 'unsupported-statement' });
    expect(alter?.message).toContain('an ALTER TABLE statement names users, which migration split is moving (phase dual_write)');
    expect(alter?.hint).toContain('before `cleave start` or after `cleave finalize`');
    expect(await refusal(sql`TRUNCATE TABLE sessions`.execute(db))).toMatchObject({ reason: 'unsupported-statement' });
    expect(await refusal(sql`RENAME TABLE sessions TO sessions_old`.execute(db))).toMatchObject({ reason: 'unsupported-statement' });
    const [columns] = (await (await dbs().admin('source')).query("SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'nickname'")) as unknown as [[{ n: number }]];
    expect(Number(columns[0].n)).toBe(0); // nothing ran
    // A table no migration moves: DDL runs as before.
    await db.schema.alterTable('user_settings').addColumn('theme', 'varchar(10)').execute();
    // Multi-table writes touching a moved table.
    const multi = await refusal(sql`UPDATE users u, user_settings s SET u.display_name = 'x', s.locale = 'en' WHERE s.user_id = u.id`.execute(db));
    expect(multi).toMatchObject({ reason: 'unsupported-write' });
    expect(multi?.message).toContain('a multi-table UPDATE writes');
    // Changing a row's shard key would move it across shards.
    const rehome = await refusal(db.updateTable('invoices').set({ user_id: 2000 }).where('user_id', '=', 10).where('invoice_no', '=', 1).execute());
    expect(rehome).toMatchObject({ reason: 'unsupported-write' });
    expect(rehome?.message).toContain('sets its shard key user_id');
    // Fan-out reads: only shapes whose per-shard answers merge exactly into the answer.
    const switched = routerAt('reads_switched');
    expect(await refusal(switched.selectFrom('invoices').select((eb) => ['currency', eb.fn.countAll().as('n')]).groupBy('currency').execute())).toMatchObject({ reason: 'shard-fanout-unsupported' });
    expect(await refusal(switched.selectFrom('invoices').select('currency').distinct().execute())).toMatchObject({ reason: 'shard-fanout-unsupported' });
    expect(await refusal(switched.selectFrom('invoices').select(sql<number>`max(amount)`.as('m')).execute())).toMatchObject({ reason: 'shard-fanout-unsupported' });
    expect(await refusal(switched.selectFrom('invoices').select(['user_id', 'currency']).orderBy('currency').limit(1).execute())).toMatchObject({ reason: 'shard-fanout-unsupported' }); // text under a collation
    // Merged: counts and sums added, the top rows of each shard merged by the order.
    const source = await dbs().admin('source');
    const [[whole]] = (await source.query('SELECT COUNT(*) AS n, SUM(amount) AS total, MIN(issued_at) AS first FROM invoices')) as unknown as [[{ n: string; total: string; first: string }]];
    const [merged] = await switched.selectFrom('invoices').select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('amount').as('total'), eb.fn.min('issued_at').as('first')]).execute();
    expect(merged).toEqual(whole);
    const [top] = (await source.query('SELECT user_id, invoice_no FROM invoices ORDER BY user_id DESC, invoice_no LIMIT 1')) as unknown as [Array<{ user_id: string; invoice_no: number }>];
    expect((await switched.selectFrom('invoices').select(['user_id', 'invoice_no']).orderBy('user_id', 'desc').orderBy('invoice_no').limit(1).execute()).map((r) => [String(r.user_id), r.invoice_no])).toEqual(
      top.map((r) => [String(r.user_id), r.invoice_no]),
    );
    expect(await refusal((async () => { for await (const row of switched.selectFrom('invoices').select(['user_id']).orderBy('user_id').stream()) void row; })())).toMatchObject({ reason: 'shard-fanout-unsupported' });
    // A stream of a plain fan-out read gets every shard's rows.
    const streamed: string[] = [];
    for await (const row of switched.selectFrom('invoices').select(['user_id']).stream()) streamed.push(String(row.user_id));
    const direct = await switched.selectFrom('invoices').select(['user_id']).execute();
    expect(streamed.sort()).toEqual(direct.map((r) => String(r.user_id)).sort());
    expect(new Set(streamed).size).toBeGreaterThan(1); // rows from both shards
  });

  it('with binlog capture, a routed write writes the shadow itself only where readers read it (reads_switched); raw SQL writes are left to the capture', async () => {
    const wroteShadow: string[] = [];
    for (const phase of MIGRATION_PHASES) {
      const db = routerAt(phase, { capture: true });
      const email = `capture-${phase}@example.com`;
      await db.insertInto('users').values(user(email)).execute();
      const primary = phase === 'writes_switched' || phase === 'finalized' ? 'target1' : 'source';
      const other = primary === 'source' ? 'target1' : 'source';
      expect(await emails(primary), phase).toContain(email);
      if ((await emails(other)).includes(email)) wroteShadow.push(phase);
    }
    expect(wroteShadow).toEqual(['reads_switched']);
    // Without router shadow work a raw write is routed to the primary like any write (gated, not refused).
    const db = routerAt('dual_write', { capture: true });
    await sql`UPDATE users SET status = 'suspended' WHERE email = 'capture-dual_write@example.com'`.execute(db);
    const [rows] = await (await dbs().admin('source')).query(`SELECT status FROM users WHERE email = 'capture-dual_write@example.com'`);
    expect(rows).toEqual([{ status: 'suspended' }]);
    await expect(sql`UPDATE users SET status = 'active' WHERE email = 'x'`.execute(routerAt('dual_write'))).rejects.toMatchObject({ reason: 'unsupported-write' });
    for (const server of ['source', 'target1'] as const) await (await dbs().admin(server)).query(`DELETE FROM users WHERE email LIKE 'capture-%'`);
  });
});
