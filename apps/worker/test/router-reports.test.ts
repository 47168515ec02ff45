import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import type { Plan } from '@cleave/core';
import { ControlStore, RoutingChannel, shadowReadSource, type MigrationRecord } from '@cleave/control';
import { CoordinatorLeases, Cutover, phaseChange, type CutoverConfig } from '@cleave/cutover';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { CleaveDialect, type RouterPool } from '@cleave/router';
import { cleaveEnv, controlDatabase, createSampleAccounts, uniqueName, useTestDatabases } from '@cleave/testing';
import { cleave, waitUntil } from './e2e-helpers.js';

interface DB {
  users: { id?: number | string; email: string; display_name: string; password_hash: Buffer; created_at: string; storage_used?: number };
}

describe('routers report shadow reads and held writes to the control plane (real MariaDB + Redis)', () => {
  const dbs = useTestDatabases('rreports');
  let pools: MysqlPools;
  let store: ControlStore;
  let redis: Redis;
  let channel: RoutingChannel;
  const prefix = () => `${dbs().queuePrefix}:`;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) {
      const admin = await dbs().admin(s);
      await createSampleAccounts(admin);
      // The same three users on both sides, as a finished backfill leaves them.
      for (const id of [1, 2, 3]) {
        const at = '2024-01-01 00:00:00';
        await admin.query('INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [id, `rr-${id}@example.com`, `user ${id}`, Buffer.from('x'), at, at]);
      }
    }
    pools = new MysqlPools({ maxConnectionsPerServer: 30 });
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    channel = new RoutingChannel({ redis, prefix: prefix() });
  });

  // The coordinator waits for every live router: each test's router leaves after it.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await channel.close();
    redis.disconnect();
    await pools.end();
  });

  /** A migration of `users` to target1, put in reads_switched directly (reads from the target). */
  async function readsSwitched(): Promise<MigrationRecord> {
    const plan = {
      version: 1,
      name: uniqueName('rr'),
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    let m = await store.createMigration(plan, { actor: 'test' });
    for (const to of ['dual_write', 'verified', 'reads_switched'] as const) m = await store.changePhase(m.id, { from: m.phase, to, expectedEpoch: m.epoch }, { actor: 'test' });
    const run = await store.startVerificationRun(m.id); // the writes switch needs a clean pass
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: true });
    return m;
  }

  /** A router that compares every read (sampleRate 1) and sees only `migration`. */
  function routerFor(migration: MigrationRecord) {
    const routerChannel = new RoutingChannel({ redis, prefix: prefix() });
    const dialect = new CleaveDialect({
      servers: {
        source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 5 }).callback as unknown as RouterPool,
        target1: pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 5 }).callback as unknown as RouterPool,
      },
      store: { listMigrations: async () => (await store.listMigrations()).filter((m) => m.id === migration.id) },
      failures: store,
      channel: routerChannel,
      shadowReads: { sampleRate: 1 },
    });
    const db = new Kysely<DB>({ dialect });
    cleanups.push(async () => {
      await db.destroy();
      await routerChannel.close();
    });
    return { db, router: dialect.router };
  }

  const cutover = (overrides: Partial<CutoverConfig> = {}) =>
    new Cutover({
      store,
      fleet: channel,
      leases: new CoordinatorLeases({ redis, prefix: prefix() }),
      actor: 'test',
      servers: (name) => pools.pool(parseConnectionUrl(name === 'source' ? dbs().source.url : dbs().target1.url)).promise,
      shadowReads: shadowReadSource(channel),
      ...overrides,
    });

  const shadowCheck = async (m: MigrationRecord) =>
    (await cutover().evaluate(await store.getMigration(m.id), phaseChange('reads_switched', 'writes_switched'))).find((c) => c.name === 'shadow-read-mismatches-zero');

  it('a row changed directly on the target shows up as a shadow-read mismatch, and the switch of writes is refused naming the count', async () => {
    const m = await readsSwitched();
    const { db, router } = routerFor(m);
    for (const id of [1, 2, 3]) await db.selectFrom('users').selectAll().where('id', '=', id).execute();
    await router.shadowReadsIdle();
    // A write that bypassed the routers: only the target (the side reads are served from) has it.
    await (await dbs().admin('target1')).query("UPDATE users SET display_name = 'changed-on-target' WHERE id = 2");
    const served = await db.selectFrom('users').select(['id', 'display_name']).where('id', '=', 2).executeTakeFirstOrThrow();
    expect(served.display_name).toBe('changed-on-target'); // the caller's result is not changed by the comparison
    await router.shadowReadsIdle();

    const stats = await waitUntil('the mismatch reported to the control plane', async () => {
      const s = await channel.shadowReadStats(m.id);
      return s.mismatched > 0 && s.compared >= 4 ? s : undefined;
    }, 15_000, 50);
    expect(stats).toMatchObject({ compared: 4, mismatched: 1, errors: 0, routers: [router.routerId] });
    expect(stats.byEpoch).toEqual([{ epoch: m.epoch, phase: 'reads_switched', compared: 4, mismatched: 1, errors: 0 }]);
    expect(stats.recentMismatches).toEqual([expect.objectContaining({ routerId: router.routerId, table: 'users', epoch: m.epoch, servedOnly: 1, otherOnly: 1 })]);
    expect(JSON.stringify(stats)).not.toContain('changed-on-target'); // no row values leave the router

    const check = await shadowCheck(m);
    expect(check).toMatchObject({ status: 'fail' });
    expect(check?.detail).toContain(`1 of 4 shadow reads differed in reads_switched (epoch ${m.epoch}) (tables: users); latest: users: \`select`);
    // The way out: what repairs it and how the count starts over.
    expect(check?.detail).toContain(`make the sides equal (\`cleave verify ${m.name} --repair\``);
    expect(check?.detail).toContain(`the count covers epoch ${m.epoch} only, so start a fresh one by switching reads again (\`cleave rollback ${m.name}\` then \`cleave cutover ${m.name}\`)`);
    await expect(cutover().change(m.id)).rejects.toThrow(/shadow-read-mismatches-zero \(1 of 4 shadow reads differed/);
    expect((await store.getMigration(m.id)).phase).toBe('reads_switched');

    // `cleave status` shows the shadow reads.
    const status = await cleave(['status', m.id], cleaveEnv(dbs()));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('shadow reads:');
    expect(status.stdout).toContain(`this phase (epoch ${m.epoch}): 4 compared, 1 mismatched (25.00%), 0 failed to run`);
    expect(status.stdout).toContain('0 failed to run; 1 router reported');

    await (await dbs().admin('target1')).query("UPDATE users SET display_name = 'user 2', updated_at = '2024-01-01 00:00:00' WHERE id = 2"); // repaired for the next test
  });

  it('a difference that is gone when both sides are read again (a write in flight) is a race, not a mismatch', async () => {
    const m = await readsSwitched();
    const { db, router } = routerFor(m);
    const target = await dbs().admin('target1');
    // The served side differs while the read runs, then equals the other side again, as when a
    // write's shadow apply lands a few ms after a read of the shadow.
    await target.query("UPDATE users SET display_name = 'in flight' WHERE id = 3");
    const served = await db.selectFrom('users').select(['id', 'display_name']).where('id', '=', 3).executeTakeFirstOrThrow();
    expect(served.display_name).toBe('in flight');
    await target.query("UPDATE users SET display_name = 'user 3', updated_at = '2024-01-01 00:00:00' WHERE id = 3");
    await router.shadowReadsIdle();
    const stats = await waitUntil('the comparison reported', async () => {
      const s = await channel.shadowReadStats(m.id);
      return s.compared >= 1 ? s : undefined;
    }, 15_000, 50);
    // The first comparison differed ('in flight' against 'user 3'); the re-read of both found them equal.
    expect(stats).toMatchObject({ compared: 1, mismatched: 0, errors: 0 });
  });

  it('with no difference the check passes; a write held by the fence is reported with the switch (count, max, p99)', async () => {
    const m = await readsSwitched();
    const { db, router } = routerFor(m);
    for (const id of [1, 2, 3]) await db.selectFrom('users').selectAll().where('id', '=', id).execute();
    await router.shadowReadsIdle();
    await waitUntil('the comparisons reported', async () => (await channel.shadowReadStats(m.id)).compared >= 3, 15_000, 50);
    expect(await shadowCheck(m)).toMatchObject({ status: 'pass', detail: `3 shadow reads compared in reads_switched (epoch ${m.epoch}), none differed` });

    let held: Promise<unknown> | undefined;
    const result = await cutover({
      onStep: async (point) => {
        if (point !== 'fence-acked') return;
        // Every router acked the fence: a write now is held until the new epoch is applied.
        held = db.updateTable('users').set({ storage_used: 7 }).where('id', '=', 1).execute();
        await waitUntil('the write is held', async () => router.status().heldWrites === 1, 10_000, 10);
      },
    }).change(m.id);
    expect(result).toMatchObject({ outcome: 'done', to: 'writes_switched' });
    await held;

    const done = (await store.events(m.id)).filter((e) => e.kind === 'note' && e.details?.['cutover'] === 'done').at(-1);
    const heldWrites = done?.details?.['heldWrites'] as { routers: number; count: number; maxMs: number; p99Ms: number; unreported: string[] };
    expect(heldWrites).toMatchObject({ routers: 1, unreported: [] });
    expect(heldWrites.count).toBeGreaterThanOrEqual(1);
    expect(heldWrites.maxMs).toBeGreaterThan(0);
    expect(heldWrites.p99Ms).toBeGreaterThan(0);
    expect(done?.details?.['writePause']).toBeTruthy(); // next to the coordinator's own measure

    const status = await cleave(['status', m.id], cleaveEnv(dbs()));
    expect(status.stdout).toMatch(/\[write pause <= [\d.]+ m?s; held writes [1-9]\d* \(max [\d.]+ m?s, p99 [\d.]+ m?s\) from 1 router\]/);
  });
});
