import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import { MIGRATION_PHASES, type MigrationPhase, type Plan } from '@cleave/core';
import { ControlStore, RoutingChannel, type MigrationRecord } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, uniqueName, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, type CleaveDialectConfig, type RouterLogEntry, type RouterPool } from '../src/index.js';
import { TcpProxy } from './support/tcp-proxy.js';

interface DB {
  users: { id?: number | string; email: string; display_name: string; password_hash: Buffer; created_at: string; storage_used?: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails after `timeoutMs` (a deadline, not a speed claim). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}

describe('@cleave/router control plane: leases, pushed and polled epochs, fences (real MariaDB + Redis)', () => {
  const dbs = useTestDatabases('rctl');
  let pools: MysqlPools;
  let servers: Record<string, RouterPool>;
  let store: ControlStore;
  let redis: Redis;
  let channel: RoutingChannel;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 40 });
    servers = {
      source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
      target1: pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 10 }).callback as unknown as RouterPool,
    };
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
  });

  // Every test's routers leave (deregister) after it: the coordinator waits for every live router.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await channel.close();
    redis.disconnect();
    await pools.end();
  });

  /** A fresh migration of `users` to target1, stepped through the phases up to `phase`. */
  async function migrationAt(phase: MigrationPhase, options: { routingPrefix?: string } = {}): Promise<MigrationRecord> {
    const name = uniqueName('m');
    const plan = {
      version: 1,
      name,
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    let m = await store.createMigration(plan, { actor: 'test' }, options);
    for (const next of MIGRATION_PHASES.slice(1, MIGRATION_PHASES.indexOf(phase) + 1)) m = await advance(m, next);
    return m;
  }

  const advance = (m: MigrationRecord, to: MigrationPhase) => store.changePhase(m.id, { from: m.phase, to, expectedEpoch: m.epoch }, { actor: 'test' });

  /** A router that sees only `migration` (other tests' migrations of `users` stay out of its way). */
  function routerFor(migration: MigrationRecord, extra: Partial<CleaveDialectConfig> & { redis?: Redis } = {}) {
    const { redis: client, ...config } = extra;
    const routerChannel = new RoutingChannel({ redis: client ?? redis, prefix: dbs().redisPrefix });
    const dialect = new CleaveDialect({
      servers,
      store: { listMigrations: async () => (await store.listMigrations()).filter((m) => m.id === migration.id) },
      failures: store,
      channel: routerChannel,
      leaseTtlMs: 1_000,
      pollMs: 60_000,
      ...config,
    });
    const db = new Kysely<DB>({ dialect });
    cleanups.push(async () => {
      await db.destroy();
      await routerChannel.close();
    });
    return { db, router: dialect.router };
  }

  const user = (email: string) => ({ email, display_name: 'ctl', password_hash: Buffer.from('x'), created_at: '2024-01-01 00:00:00' });
  const rowsOf = async (server: 'source' | 'target1', email: string) => {
    const [rows] = await (await dbs().admin(server)).query('SELECT id, email, storage_used FROM users WHERE email = ?', [email]);
    return rows as Array<{ id: string; email: string; storage_used: string }>;
  };

  it('registers with a lease kept alive by heartbeats, learns the state, and acks its epoch', async () => {
    const m = await migrationAt('dual_write');
    const { db, router } = routerFor(m);
    await db.insertInto('users').values(user('ctl-register@example.com')).execute();
    expect((await channel.liveRouters()).map((r) => r.routerId)).toContain(router.routerId);
    expect((await channel.acks(m.id)).get(router.routerId)).toMatchObject({ epoch: m.epoch, fenceId: null });
    expect(router.status().migrations).toEqual([expect.objectContaining({ id: m.id, phase: 'dual_write', epoch: m.epoch, fenced: false })]);
    // Well past several lease lengths, the heartbeat keeps it live.
    await sleep(2_500);
    expect((await channel.liveRouters()).map((r) => r.routerId)).toContain(router.routerId);
    expect(router.status().leaseValid).toBe(true);
    // The write went to both sides (dual_write).
    expect(await rowsOf('target1', 'ctl-register@example.com')).toHaveLength(1);
  });

  it("refuses writes to a migration fenced on another routing channel prefix (it would never be held by a switch); reads still run", async () => {
    const elsewhere = await migrationAt('dual_write', { routingPrefix: 'elsewhere:' });
    const { db } = routerFor(elsewhere);
    await db.selectFrom('users').select('id').limit(1).execute();
    const refused = await db.insertInto('users').values(user('ctl-prefix@example.com')).execute().then(
      () => null,
      (error: unknown) => error as Error & { reason?: string },
    );
    expect(refused?.reason).toBe('control-plane-mismatch');
    expect(refused?.message).toContain(`is fenced on the routing channel with prefix "elsewhere:", and this router listens on "${dbs().redisPrefix}"`);
    expect(await rowsOf('source', 'ctl-prefix@example.com')).toHaveLength(0);
    // The same prefix: writes run.
    const here = await migrationAt('dual_write', { routingPrefix: dbs().redisPrefix });
    const { db: db2 } = routerFor(here);
    await db2.insertInto('users').values(user('ctl-prefix-ok@example.com')).execute();
    expect(await rowsOf('target1', 'ctl-prefix-ok@example.com')).toHaveLength(1);
  });

  it('a phase change is pushed over pub/sub (polling disabled) and acknowledged', async () => {
    let m = await migrationAt('dual_write');
    const { db, router } = routerFor(m, { pollMs: 600_000 });
    await db.selectFrom('users').select('id').limit(1).execute();
    m = await advance(m, 'verified');
    await channel.announceEpoch(m.id, m.epoch);
    expect(await channel.waitForAcks(m.id, { epoch: m.epoch }, { timeoutMs: 10_000 })).toMatchObject({ ok: true, acked: [router.routerId] });
    expect(router.status().migrations[0]).toMatchObject({ phase: 'verified', epoch: m.epoch });
  });

  it('a phase change while the router starts (after its first load read the store) is not missed until the next poll', async () => {
    const m = await migrationAt('dual_write');
    let loadRead!: () => void;
    let finishLoad!: () => void;
    const read = new Promise<void>((resolve) => (loadRead = resolve));
    const finish = new Promise<void>((resolve) => (finishLoad = resolve));
    let loads = 0;
    const { db, router } = routerFor(m, {
      pollMs: 600_000,
      store: {
        listMigrations: async () => {
          const rows = (await store.listMigrations()).filter((x) => x.id === m.id);
          if ((loads += 1) === 1) {
            loadRead();
            await finish; // the first load returns what it read before the switch
          }
          return rows;
        },
      },
    });
    const first = db.selectFrom('users').select('id').limit(1).execute(); // starts the router
    await read;
    const next = await advance(m, 'verified');
    await channel.announceEpoch(next.id, next.epoch);
    finishLoad();
    await first;
    await until(() => router.status().migrations[0]?.epoch === next.epoch, `the router to apply epoch ${next.epoch} without a poll`, 5_000);
  });

  it('a phase change whose pub/sub message is lost is found by polling and acknowledged', async () => {
    let m = await migrationAt('dual_write');
    const { db, router } = routerFor(m, { pollMs: 200 });
    await db.selectFrom('users').select('id').limit(1).execute();
    m = await advance(m, 'verified'); // no announceEpoch: the message is "lost"
    expect(await channel.waitForAcks(m.id, { epoch: m.epoch }, { timeoutMs: 10_000 })).toMatchObject({ ok: true, acked: [router.routerId] });
    expect(router.status().migrations[0]).toMatchObject({ phase: 'verified', epoch: m.epoch });
  });

  it('a fence holds writes (queued, not failed) until it is lifted; reads still run', async () => {
    const m = await migrationAt('dual_write');
    const { db, router } = routerFor(m);
    await db.selectFrom('users').select('id').limit(1).execute();
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    expect(await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 })).toMatchObject({ ok: true, acked: [router.routerId] });
    let done = false;
    const held = Promise.all([1, 2, 3].map((i) => db.insertInto('users').values(user(`ctl-held-${i}@example.com`)).execute())).then(() => (done = true));
    await until(() => router.status().heldWrites === 3, 'three held writes');
    await db.selectFrom('users').select('id').where('email', '=', 'ctl-held-1@example.com').execute(); // reads are not fenced
    await sleep(300);
    expect(done).toBe(false);
    expect(await rowsOf('source', 'ctl-held-1@example.com')).toHaveLength(0);
    await channel.unfence(m.id, fence.fenceId);
    await held;
    for (const i of [1, 2, 3]) {
      expect(await rowsOf('source', `ctl-held-${i}@example.com`)).toHaveLength(1);
      expect(await rowsOf('target1', `ctl-held-${i}@example.com`)).toHaveLength(1);
    }
    expect(router.status().heldWrites).toBe(0);
    expect((await channel.acks(m.id)).get(router.routerId)).toMatchObject({ fenceId: null });
  });

  it('the fence ack waits for the writes in flight: once acked, they are committed on both sides; a slow drain is logged with its cause', async () => {
    const m = await migrationAt('dual_write');
    const logged: RouterLogEntry[] = [];
    const { db, router } = routerFor(m, { log: (entry) => logged.push(entry), slowDrainLogMs: 300 });
    const email = 'ctl-inflight@example.com';
    await db.insertInto('users').values(user(email)).execute();
    // Hold the primary row lock so that the next write through the router stays in flight.
    const blocker = await dbs().admin('source');
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM users WHERE email = ? FOR UPDATE', [email]);
    cleanups.push(() => blocker.query('ROLLBACK'));
    let finished = false;
    const inflight = db.updateTable('users').set({ storage_used: 42 }).where('email', '=', email).execute().then(() => (finished = true));
    await sleep(200);
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    const early = await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 1_000 });
    expect(early).toMatchObject({ ok: false, missing: [router.routerId] });
    expect(finished).toBe(false);
    // Logged after 300 ms: one write in flight, blocked in its primary statement (no batching lane busy).
    const slow = logged.filter((entry) => entry.message === 'fence: writes still in flight, not acknowledged yet');
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ level: 'warn', migrationId: m.id, fenceId: fence.fenceId, inFlight: 1, held: 0, busyLanes: { imageReads: [], applies: [], confirms: [] } });
    expect(slow[0]!['afterMs']).toBeGreaterThanOrEqual(300);
    await blocker.query('COMMIT');
    expect(await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 })).toMatchObject({ ok: true });
    // The ack means: the in-flight write committed on the primary and was applied to the shadow.
    expect((await rowsOf('source', email))[0]?.storage_used).toBe('42');
    expect((await rowsOf('target1', email))[0]?.storage_used).toBe('42');
    await inflight;
    await channel.unfence(m.id, fence.fenceId);
  });

  it('failed shadow writes the router could not record in the store are reported with its acks until they are recorded', async () => {
    const m = await migrationAt('dual_write');
    let storeDown = false;
    const { db, router } = routerFor(m, {
      failures: {
        recordShadowFailure: async (...args: Parameters<ControlStore['recordShadowFailure']>) => {
          if (storeDown) throw new Error('control store unreachable (test)');
          await store.recordShadowFailure(...args);
        },
      },
    });
    await db.selectFrom('users').select('id').limit(1).execute();
    const target = await dbs().admin('target1');
    await target.query('RENAME TABLE users TO users_away'); // the shadow write fails
    cleanups.push(() => target.query('RENAME TABLE users_away TO users'));
    storeDown = true;
    await db.insertInto('users').values(user('ctl-pending-failure@example.com')).execute(); // the caller sees no error
    expect(router.status().pendingFailures).toBe(1);
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    expect((await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 })).ok).toBe(true);
    expect((await channel.acks(m.id)).get(router.routerId)).toMatchObject({ fenceId: fence.fenceId, pendingFailures: 1 });
    await channel.unfence(m.id, fence.fenceId, { epoch: m.epoch });
    storeDown = false;
    // Drained into the store (every 3 s), then re-acked by the heartbeat without them.
    await until(async () => (await channel.acks(m.id)).get(router.routerId)?.pendingFailures === undefined, 'an ack without pending failures');
    const open = await store.openShadowFailures(m.id);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ table: 'users', guardEpoch: m.guardEpoch });
  });

  it('destroy waits for the writes in flight (shadow write included) before the router leaves the control plane; new writes are refused', async () => {
    const m = await migrationAt('dual_write');
    const { db, router } = routerFor(m);
    const email = 'ctl-close-drain@example.com';
    await db.insertInto('users').values(user(email)).execute();
    const blocker = await dbs().admin('source');
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM users WHERE email = ? FOR UPDATE', [email]);
    cleanups.push(() => blocker.query('ROLLBACK'));
    const inflight = db.updateTable('users').set({ storage_used: 43 }).where('email', '=', email).execute();
    await until(() => router.gate.inFlight(m.id) === 1, 'one write in flight');
    let closed = false;
    const closing = db.destroy().then(() => (closed = true));
    await sleep(500);
    expect(closed).toBe(false);
    // Still registered: a switch now would wait for this router's ack, not skip it.
    expect((await channel.liveRouters()).map((r) => r.routerId)).toContain(router.routerId);
    await expect(db.selectFrom('users').select('id').limit(1).execute()).rejects.toThrow(/destroyed/);
    await blocker.query('COMMIT');
    await inflight;
    await closing;
    expect((await rowsOf('target1', email))[0]?.storage_used).toBe('43'); // its shadow write finished first
    expect((await channel.liveRouters()).map((r) => r.routerId)).not.toContain(router.routerId);
  });

  it('a transaction in flight when a fence arrives runs its next statements (no deadlock with the fence) and the fence acks at its commit', async () => {
    const m = await migrationAt('dual_write');
    const { db, router } = routerFor(m);
    await db.selectFrom('users').select('id').limit(1).execute();
    let fenceId = '';
    let ackedBeforeCommit = false;
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(user('ctl-trx-1@example.com')).execute();
      // The fence arrives while the transaction holds the migration's gate: the fence waits for
      // the transaction, so the transaction's next writes must not wait for the fence.
      fenceId = (await channel.fence(m.id, m.epoch, { ttlMs: 30_000 })).fenceId;
      await until(() => router.control.fences.has(m.id), 'the router saw the fence');
      await trx.insertInto('users').values(user('ctl-trx-2@example.com')).execute();
      await trx.updateTable('users').set({ storage_used: 7 }).where('email', '=', 'ctl-trx-1@example.com').execute();
      ackedBeforeCommit = (await channel.waitForAcks(m.id, { fenceId }, { timeoutMs: 300 })).ok;
    });
    expect(ackedBeforeCommit).toBe(false);
    expect(await channel.waitForAcks(m.id, { fenceId }, { timeoutMs: 10_000 })).toMatchObject({ ok: true });
    for (const side of ['source', 'target1'] as const) {
      expect((await rowsOf(side, 'ctl-trx-1@example.com'))[0]?.storage_used, side).toBe('7');
      expect(await rowsOf(side, 'ctl-trx-2@example.com'), side).toHaveLength(1);
    }
    expect(router.status().heldWrites).toBe(0);
    await channel.unfence(m.id, fenceId);
  });

  /** A router on a `reads_switched` migration that a fence holds; target1's ids start at `targetIds`. */
  async function fencedBeforeTheFlip(targetIds: number) {
    const m = await migrationAt('reads_switched');
    const { db, router } = routerFor(m);
    await db.selectFrom('users').select('id').limit(1).execute();
    // Ids from the target's auto-increment tell which side was the primary of an insert.
    await (await dbs().admin('target1')).query(`ALTER TABLE users AUTO_INCREMENT = ${targetIds}`);
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    expect((await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 })).ok).toBe(true);
    /** Inserts `emails` (held by the fence), flips to writes_switched and returns the inserts' results. */
    const insertAcrossTheFlip = async (emails: readonly string[]) => {
      const held = Promise.all(emails.map((email) => db.insertInto('users').values(user(email)).executeTakeFirstOrThrow()));
      await until(() => router.status().heldWrites === emails.length, `${emails.length} held writes`);
      const flipped = await advance(m, 'writes_switched');
      await channel.announceEpoch(flipped.id, flipped.epoch);
      expect((await channel.waitForAcks(flipped.id, { epoch: flipped.epoch }, { timeoutMs: 10_000 })).ok).toBe(true);
      // Released by the new epoch itself (the fence covers only epochs <= its own), before the unfence.
      return held;
    };
    return { insertAcrossTheFlip, unfence: () => channel.unfence(m.id, fence.fenceId) };
  }

  it('fence + epoch flip: held writes proceed under the new epoch (new primary) once it is applied', async () => {
    const { insertAcrossTheFlip, unfence } = await fencedBeforeTheFlip(50000000);
    const emails = [1, 2, 3, 4, 5].map((i) => `ctl-flip-${i}@example.com`);
    const results = await insertAcrossTheFlip(emails);
    for (const [i, email] of emails.entries()) {
      const [onTarget] = await rowsOf('target1', email);
      expect(BigInt(onTarget!.id)).toBeGreaterThanOrEqual(50000000n);
      expect(results[i]!.insertId).toBe(BigInt(onTarget!.id));
      expect((await rowsOf('source', email))[0]?.id).toBe(onTarget!.id); // reverse dual write
    }
    await unfence();
  });

  it('a held write routes under the new epoch however short its wait (the router clock frozen while it is held)', async () => {
    // Regression: the router re-routed a released write only if it had waited over 0.5 ms, so a
    // write that queued just before the new epoch arrived ran on the old primary. A frozen
    // performance.now() makes every wait measure 0 ms.
    const { insertAcrossTheFlip, unfence } = await fencedBeforeTheFlip(60000000);
    const frozen = vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    try {
      const emails = [1, 2, 3].map((i) => `ctl-frozen-${i}@example.com`);
      const results = await insertAcrossTheFlip(emails);
      for (const [i, email] of emails.entries()) {
        const [onTarget] = await rowsOf('target1', email);
        expect(BigInt(onTarget!.id)).toBeGreaterThanOrEqual(60000000n); // the new primary made the id
        expect(results[i]!.insertId).toBe(BigInt(onTarget!.id));
      }
    } finally {
      frozen.mockRestore();
      await unfence();
    }
  });

  it.each([
    ['pushed', false],
    ['polled (the unfence message lost)', true],
  ])('a router that cannot load the new epoch stays held after the unfence (%s); it writes to the new primary once it has loaded it', async (_how, lostMessage) => {
    {
      const m = await migrationAt('reads_switched'); // primary: source
      let reloadsFail = false;
      const log: RouterLogEntry[] = [];
      const { db, router } = routerFor(m, {
        store: {
          listMigrations: async () => {
            if (reloadsFail) throw new Error('control store unreachable (test)');
            return (await store.listMigrations()).filter((x) => x.id === m.id);
          },
        },
        pollMs: 200,
        log: (entry) => log.push(entry),
      });
      await db.selectFrom('users').select('id').limit(1).execute();
      const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
      expect((await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 })).ok).toBe(true);
      reloadsFail = true;
      const flipped = await advance(m, 'writes_switched'); // primary: target1
      await channel.announceEpoch(flipped.id, flipped.epoch);
      // A lost unfence message: the fence key goes, the router finds out by polling (no epoch to compare).
      await channel.unfence(m.id, fence.fenceId, lostMessage ? {} : { epoch: flipped.epoch });
      const email = `ctl-stale-reload-${lostMessage ? 'polled' : 'pushed'}@example.com`;
      let done = false;
      const write = db.insertInto('users').values(user(email)).execute().then(() => (done = true));
      await until(() => router.status().heldWrites === 1, 'the write is held');
      await sleep(1_000); // several polls, each failing to reload
      expect(done).toBe(false);
      expect(router.status().migrations[0]).toMatchObject({ epoch: m.epoch, fenced: true });
      expect(await rowsOf('source', email)).toHaveLength(0); // the old primary: never
      expect(log.some((e) => e.message.startsWith('fence lifted, but this router has not loaded the epoch in force'))).toBe(true);

      reloadsFail = false;
      await write;
      expect(router.status().migrations[0]).toMatchObject({ phase: 'writes_switched', epoch: flipped.epoch });
      await until(() => router.status().migrations[0]?.fenced === false, 'the fence dropped by the router');
      expect(await rowsOf('target1', email)).toHaveLength(1); // the new primary
      expect(await rowsOf('source', email)).toHaveLength(1); // shadowed
    }
  });

  it('a router cut off from Redis during a fence does not write to the old primary; it writes to the new one once back', async () => {
    let m = await migrationAt('writes_switched'); // primary: target1
    const proxy = await TcpProxy.start(dbs().redis.host, dbs().redis.port);
    const viaProxy = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: null, retryStrategy: () => 100 });
    viaProxy.on('error', () => undefined);
    cleanups.push(async () => {
      viaProxy.disconnect();
      await proxy.close();
    });
    const { db, router } = routerFor(m, { redis: viaProxy, pollMs: 200, holdTimeoutMs: 30_000 });
    await db.insertInto('users').values(user('ctl-cut-before@example.com')).execute();
    expect(await rowsOf('target1', 'ctl-cut-before@example.com')).toHaveLength(1);

    proxy.cut();
    // The coordinator fences; the cut-off router cannot ack, its lease lapses in Redis, so it stops counting.
    const fence = await channel.fence(m.id, m.epoch, { ttlMs: 30_000 });
    const acks = await channel.waitForAcks(m.id, { fenceId: fence.fenceId }, { timeoutMs: 10_000 });
    expect(acks.ok).toBe(true);
    expect(acks.acked).not.toContain(router.routerId);
    expect((await channel.liveRouters()).map((r) => r.routerId)).not.toContain(router.routerId);
    // The router's own lease ended before Redis dropped it: it holds writes by itself.
    expect(router.status().leaseValid).toBe(false);
    // Flip the primary back to the source (rollback) while the router is cut off.
    m = await advance(m, 'reads_switched');
    await channel.announceEpoch(m.id, m.epoch);
    await channel.unfence(m.id, fence.fenceId);
    const email = 'ctl-cut-during@example.com';
    let done = false;
    const write = db.insertInto('users').values(user(email)).execute().then(() => (done = true));
    await until(() => router.status().heldWrites === 1, 'the write is held');
    // The router can still read the control store (MySQL): it knows the new epoch, and still does not write.
    await until(() => router.status().migrations[0]?.phase === 'reads_switched', 'the router polled the new phase from the store');
    await sleep(1_000);
    expect(done).toBe(false);
    expect(await rowsOf('target1', email)).toHaveLength(0); // old primary: never
    expect(await rowsOf('source', email)).toHaveLength(0);

    proxy.restore();
    await write;
    expect(router.status().leaseValid).toBe(true);
    expect(await rowsOf('source', email)).toHaveLength(1); // the new primary
    expect(await rowsOf('target1', email)).toHaveLength(1); // shadowed
    expect((await channel.acks(m.id)).get(router.routerId)).toMatchObject({ epoch: m.epoch });
  });
});
