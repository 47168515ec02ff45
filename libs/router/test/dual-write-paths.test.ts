import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import type { Plan } from '@cleave/core';
import { ControlStore, RoutingChannel, type MigrationRecord } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, hexRows, uniqueName, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, type CleaveDialectConfig, type RouterLogEntry, type RouterMetrics, type RouterPool, type RouterPoolConnection } from '../src/index.js';
import { TcpProxy } from './support/tcp-proxy.js';

interface DB {
  users: { id?: number | string; email: string; display_name: string; password_hash: Buffer; created_at: string; storage_used?: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The two paths of a dual write (one autocommit statement bounded by the lease, or a primary
// transaction), the metrics hooks, and the failure journal when the control store is down too.
describe('@cleave/router dual-write paths, metrics hooks and the failure journal (real MariaDB + Redis)', () => {
  const dbs = useTestDatabases('rpaths');
  let pools: MysqlPools;
  let servers: Record<string, RouterPool>;
  let store: ControlStore;
  let redis: Redis;
  let proxy: TcpProxy;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 40 });
    const target = parseConnectionUrl(dbs().target1.url);
    proxy = await TcpProxy.start(target.host, target.port);
    servers = {
      source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
      // The shadow side through a proxy the tests can cut.
      target1: pools.pool(parseConnectionUrl(dbs().target1.url.replace(`:${target.port}/`, `:${proxy.port}/`)), { connectionLimit: 10 })
        .callback as unknown as RouterPool,
    };
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
  });

  afterEach(async () => {
    proxy.restore();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    // The pools first: a proxy closed under idle pool connections makes mysql2 report their loss as
    // an unhandled error. But a connection whose query a stall swallowed never answers, and its
    // QUIT waits behind that query: after a bound, closing the proxy ends it (with an error).
    const ended = pools.end();
    ended.catch(() => undefined);
    await Promise.race([ended, sleep(5_000)]);
    await proxy.close();
    await ended.catch(() => undefined);
    redis.disconnect();
  });

  async function dualWriteMigration(): Promise<MigrationRecord> {
    const name = uniqueName('m');
    const plan = {
      version: 1,
      name,
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    const m = await store.createMigration(plan, { actor: 'test' });
    return store.changePhase(m.id, { from: 'planned', to: 'dual_write', expectedEpoch: m.epoch }, { actor: 'test' });
  }

  function routerFor(migration: MigrationRecord, config: Partial<CleaveDialectConfig> = {}) {
    const channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
    const dialect = new CleaveDialect({
      servers,
      store: { listMigrations: async () => (await store.listMigrations()).filter((m) => m.id === migration.id) },
      failures: store,
      channel,
      pollMs: 60_000,
      ...config,
    });
    const db = new Kysely<DB>({ dialect });
    cleanups.push(async () => {
      await db.destroy();
      await channel.close();
    });
    return { db, router: dialect.router };
  }

  const user = (email: string) => ({ email, display_name: 'paths', password_hash: Buffer.from([1, 0]), created_at: '2024-01-01 00:00:00' });
  const expectInSync = async (where: string) => {
    const name = dbs().name;
    expect(await hexRows(await dbs().admin('target1'), name, 'users', 'id', where)).toEqual(await hexRows(await dbs().admin('source'), name, 'users', 'id', where));
  };

  it('a write blocked past its lease bound is interrupted, retried in a transaction, and lands once', async () => {
    const m = await dualWriteMigration();
    const log: RouterLogEntry[] = [];
    const { db } = routerFor(m, { leaseTtlMs: 900, log: (entry) => log.push(entry) });
    const { insertId } = await db.insertInto('users').values(user('bounded@example.com')).executeTakeFirstOrThrow();
    const id = Number(insertId);
    // Another session holds the row lock longer than the router's whole lease.
    const locker = await dbs().admin('source');
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [id]);
    const write = db.updateTable('users').set({ storage_used: 77 }).where('id', '=', id).execute();
    await sleep(1_800);
    await locker.query('COMMIT');
    const [result] = await write;
    expect(result?.numUpdatedRows).toBe(1n);
    expect(log.some((e) => e.message.includes('lease bound'))).toBe(true);
    const [rows] = await (await dbs().admin('target1')).query('SELECT storage_used FROM users WHERE id = ?', [id]);
    expect(rows).toEqual([{ storage_used: '77' }]);
    await expectInSync(`id = ${id}`);
  });

  it('statement-keyed and looked-up writes both land identically, and the metrics hooks see them', async () => {
    const m = await dualWriteMigration();
    const counted: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
    const observed: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
    const metrics: RouterMetrics = {
      increment: (name, labels, value = 1) => counted.push({ name, labels: { ...labels }, value }),
      observe: (name, labels, value) => observed.push({ name, labels: { ...labels }, value }),
    };
    const { db } = routerFor(m, { metrics });
    const [inserted] = await db.insertInto('users').values([user('keyed-1@example.com'), user('keyed-2@example.com'), user('keyed-3@example.com')]).execute();
    const ids = (await db.selectFrom('users').select('id').where('email', 'like', 'keyed-%').orderBy('id').execute()).map((r) => Number(r.id));
    // The insert's result is what MySQL reports for it (first generated id, rows inserted), however the router ran it.
    expect(inserted).toMatchObject({ insertId: BigInt(ids[0]!), numInsertedOrUpdatedRows: 3n });
    await db.updateTable('users').set({ storage_used: 5 }).where('id', 'in', ids).where('email', '!=', 'keyed-2@example.com').execute(); // keys from the statement
    await db.updateTable('users').set({ storage_used: 9 }).where('email', '=', 'keyed-2@example.com').execute(); // keys looked up
    await db.deleteFrom('users').where('id', '=', ids[0]!).execute();
    await expectInSync("email LIKE 'keyed-%'");
    const [rows] = await (await dbs().admin('target1')).query("SELECT email, storage_used FROM users WHERE email LIKE 'keyed-%' ORDER BY email");
    expect(rows).toEqual([
      { email: 'keyed-2@example.com', storage_used: '9' },
      { email: 'keyed-3@example.com', storage_used: '5' },
    ]);
    const count = (name: string, labels: Record<string, string>) =>
      counted.filter((c) => c.name === name && Object.entries(labels).every(([k, v]) => c.labels[k] === v)).reduce((sum, c) => sum + c.value, 0);
    expect(count('cleave_router_queries_total', { kind: 'update', side: 'source' })).toBe(2);
    expect(count('cleave_router_queries_total', { kind: 'select' })).toBe(1);
    expect(count('cleave_router_shadow_applies_total', { result: 'ok' })).toBe(4);
    expect(observed.filter((o) => o.name === 'cleave_router_query_ms').length).toBe(5);
    expect(observed.filter((o) => o.name === 'cleave_router_shadow_apply_ms' && o.labels['result'] === 'ok').every((o) => o.value > 0)).toBe(true);
  });

  it('with the shadow and the control store both down, a failure goes to the journal and reaches the store from the next router', async () => {
    const m = await dualWriteMigration();
    const journalPath = path.join(mkdtempSync(path.join(tmpdir(), 'cleave-journal-')), 'failures.jsonl');
    const storeDown = {
      recordShadowFailure: async () => {
        throw new Error('control store unreachable');
      },
    };
    const first = routerFor(m, { failures: storeDown, journalPath, shadowTimeoutMs: 1_000 });
    await first.db.selectFrom('users').select('id').limit(1).execute();
    proxy.cut();
    const { insertId } = await first.db.insertInto('users').values(user('journaled@example.com')).executeTakeFirstOrThrow();
    expect(first.router.status().pendingFailures).toBe(1);
    const lines = readFileSync(journalPath, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ migrationId: m.id, table: 'users' });
    await cleanups.pop()!(); // the first router goes away with the failure only in its journal

    proxy.restore();
    const second = routerFor(m, { journalPath });
    await second.db.selectFrom('users').select('id').limit(1).execute(); // start() drains the journal into the store
    const deadline = Date.now() + 10_000;
    while (second.router.status().pendingFailures > 0 && Date.now() < deadline) await sleep(50);
    expect(second.router.status().pendingFailures).toBe(0);
    expect(existsSync(journalPath) ? readFileSync(journalPath, 'utf8').trim() : '').toBe('');
    const open = await store.openShadowFailures(m.id);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ table: 'users' });
    expect(open[0]!.keyValues).toContain(String(insertId));
  });

  it('an apply the caller stopped waiting for still gets its confirm: late, older images do not stay on the shadow', async () => {
    const m = await dualWriteMigration();
    // Every apply "times out" for the caller (recorded as a failure) and lands later, in any order:
    // the shadow pool is the real one behind a random delay per statement.
    const real = servers['target1']!;
    const delayed: RouterPool = {
      getConnection: (callback) =>
        real.getConnection((error, connection) => {
          if (error) return callback(error, connection);
          const late = {
            query: (sql: string, values: unknown[], done: (error: Error | null, result: unknown, fields: unknown) => void) =>
              void sleep(Math.random() * 60).then(() => {
                connection.query(sql, values, done); // not returned: a mysql2 Query is not a promise
              }),
            release: () => connection.release(),
          };
          callback(null, late as unknown as RouterPoolConnection);
        }),
    };
    const { db, router } = routerFor(m, { servers: { ...servers, target1: delayed }, shadowTimeoutMs: 1, shadowRetryAfterMs: 0 });
    const { insertId } = await db.insertInto('users').values(user('late@example.com')).executeTakeFirstOrThrow();
    const id = Number(insertId);
    for (let v = 1; v <= 60; v += 1) await db.updateTable('users').set({ storage_used: v }).where('id', '=', id).execute();
    // Late applies may put an older image back for a moment; once every write settled (its apply
    // landed and its confirm ran), the shadow holds the last value.
    await router.gate.idle(m.id);
    const [rows] = await (await dbs().admin('target1')).query('SELECT storage_used FROM users WHERE id = ?', [id]);
    expect(rows).toEqual([{ storage_used: '60' }]);
    await expectInSync(`id = ${id}`);
  });

  it('a shadow that stops answering without closing its connections holds up no later write: the statement timeout destroys the connection', async () => {
    const m = await dualWriteMigration();
    const { db, router } = routerFor(m, { shadowTimeoutMs: 200, shadowRetryAfterMs: 0, shadowStatementTimeoutMs: 800 });
    const insert = async (email: string) => Number((await db.insertInto('users').values(user(email)).executeTakeFirstOrThrow()).insertId);
    await insert('before-stall@example.com'); // the shadow pool has its connections
    await router.gate.idle(m.id);
    proxy.stall();
    let stalledId: number;
    try {
      stalledId = await insert('during-stall@example.com'); // the caller stops waiting after 200 ms; the apply hangs
      await sleep(1_200); // past the statement timeout: that connection is destroyed, the table's shadow work goes on
    } finally {
      proxy.restore();
    }
    const afterId = await insert('after-stall@example.com');
    const target = await dbs().admin('target1');
    const deadline = Date.now() + 5_000;
    let landed = false;
    while (!landed && Date.now() < deadline) {
      const [rows] = await target.query('SELECT id FROM users WHERE id = ?', [afterId]);
      landed = (rows as unknown[]).length === 1;
      if (!landed) await sleep(50);
    }
    expect(landed).toBe(true); // not stuck behind the stalled statement
    const open = await store.openShadowFailures(m.id);
    expect(open.some((failure) => failure.keyValues.includes(String(stalledId)))).toBe(true); // recorded for repair
  });
});
