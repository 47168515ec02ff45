import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parsePlan, type MigrationPhase } from '@cleave/core';
import { runCaptureStream } from '@cleave/capture';
import { ControlStore, FORWARD_STREAM, RoutingChannel, currentCoordinate, type CaptureStreamRecord, type MigrationRecord } from '@cleave/control';
import { CoordinatorLeases, Cutover } from '@cleave/cutover';
import { MysqlPools, denyWrites, isGuardRefusal, parseConnectionUrl, type ConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, seedSampleAccounts, useTestDatabases, waitForLockWaits } from '@cleave/testing';

describe('a switch of the write primary with binlog capture (real capture stream, real MariaDB and Redis, default settings)', () => {
  const dbs = useTestDatabases('capture switch');
  let pools: MysqlPools;
  let store: ControlStore;
  let redis: Redis;
  let channel: RoutingChannel;
  const urls = (): Record<string, ConnectionUrl> => ({ source: parseConnectionUrl(dbs().source.url), target1: parseConnectionUrl(dbs().target1.url) });
  const servers = (name: string) => pools.pool(urls()[name]!).promise;

  beforeAll(async () => {
    for (const server of ['source', 'target1'] as const) {
      const admin = await dbs().admin(server);
      await createSampleAccounts(admin);
      await seedSampleAccounts(admin, { users: 200, only: ['sessions', 'user_keys'] }); // both sides equal, as a finished backfill leaves them
    }
    pools = new MysqlPools({ maxConnectionsPerServer: 30 });
    store = await ControlStore.open({ pool: servers('source'), database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
  });
  afterAll(async () => {
    await channel.close();
    redis.disconnect();
    await pools.end();
  });

  it('starts the reverse stream before the flip (a router may write the new primary as soon as it reads the new phase) and leaves the old primary refusing writes', async () => {
    const plan = parsePlan({
      version: 1,
      name: 'capture-switch',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['sessions'], to: 't1' }],
    });
    const created = await store.createMigration(plan, { actor: 'test' }, { capture: { server: 'source', from: await currentCoordinate(servers('source'), 'source') } });
    await denyWrites(servers('target1'), { migrationId: created.id, migrationName: plan.name, database: dbs().name, tables: ['sessions'] }, 1, { lockWaitSeconds: 2 });
    const walk: MigrationPhase[] = ['planned', 'dual_write', 'verified', 'reads_switched'];
    for (let i = 1; i < walk.length; i++) await store.changePhase(created.id, { from: walk[i - 1]!, to: walk[i]! }, { actor: 'test' });
    const run = await store.startVerificationRun(created.id);
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 600, rowsDiffering: 0, rowsRepaired: 0, clean: true });
    const migration = await store.getMigration(created.id);

    // The forward stream, as a worker runs it: the switch waits for it to catch up.
    const abort = new AbortController();
    const forward = runCaptureStream({ migration, stream: FORWARD_STREAM, streams: store.captureStreams(), owner: 'test-worker', servers, urls: (n) => urls()[n]!, signal: abort.signal });
    forward.catch(() => undefined);
    try {
      await untilCheckpointed(migration.id);
      let atFlip: CaptureStreamRecord[] = [];
      const cutover = new Cutover({
        store,
        fleet: channel,
        leases: new CoordinatorLeases({ redis, prefix: `${dbs().queuePrefix}:`, ttlMs: 5_000 }),
        actor: 'test',
        servers,
        onStep: async (point) => {
          if (point === 'flipped') atFlip = await store.captureStreams().list(migration.id);
        },
      });
      const result = await cutover.change(migration.id, { to: 'writes_switched' });
      expect(result).toMatchObject({ outcome: 'done', to: 'writes_switched' });
      // Right after the flip, before the coordinator's later steps: the reverse stream is already aimed.
      expect(atFlip.find((s) => s.stream === 'reverse:target1')).toMatchObject({ state: 'active', epoch: result.epoch, server: 'target1' });
      const after = await store.captureStreams().list(migration.id);
      expect(after.map((s) => `${s.stream}:${s.state}`)).toEqual(['forward:retired', 'reverse:target1:active']);

      // The guard rows: the old primary is a shadow nobody reads (its reverse capture syncs it unlocked), the new one open.
      expect(await guardState('source', migration.id)).toBe(1);
      expect(await guardState('target1', migration.id)).toBe(0);
      // The old primary refuses a writer that was not repointed; the new primary takes it.
      const stale = await servers('source')
        .query(`UPDATE \`${dbs().name}\`.sessions SET user_agent = 'not repointed' WHERE id = 1`)
        .catch((error: unknown) => error);
      expect(isGuardRefusal(stale)).toBe(true);
      await servers('target1').query(`UPDATE \`${dbs().name}\`.sessions SET user_agent = 'repointed' WHERE id = 1`);
    } finally {
      abort.abort();
      await forward.catch(() => undefined);
    }
  });

  it('syncs the shadow without locking it while nobody reads it, and under its lock from the reads switch to its rollback', async () => {
    const migration = await verifiedUserKeysMigration('capture-reads');

    const abort = new AbortController();
    const forward = runCaptureStream({ migration, stream: FORWARD_STREAM, streams: store.captureStreams(), owner: 'test-worker', servers, urls: (n) => urls()[n]!, signal: abort.signal });
    forward.catch(() => undefined);
    const cutover = new Cutover({ store, fleet: channel, leases: new CoordinatorLeases({ redis, prefix: `${dbs().queuePrefix}:`, ttlMs: 5_000 }), actor: 'test', servers });
    try {
      expect(await guardState('target1', migration.id)).toBe(1);
      expect(await shadowLockedDuringPrimaryRead(40, 41)).toBe(false);

      expect(await cutover.change(migration.id, { to: 'reads_switched' })).toMatchObject({ outcome: 'done', to: 'reads_switched' });
      expect(await guardState('target1', migration.id)).toBe(2);
      expect(await shadowLockedDuringPrimaryRead(42, 43)).toBe(true);

      expect(await cutover.rollback(migration.id, { reason: 'test' })).toMatchObject({ outcome: 'done', to: 'verified' });
      expect(await guardState('target1', migration.id)).toBe(1);
      // The first sync after the mark is locked (it reads the row), the ones after it are not.
      await syncedOnce(44);
      expect(await shadowLockedDuringPrimaryRead(45, 46)).toBe(false);
    } finally {
      abort.abort();
      await forward.catch(() => undefined);
    }

    /** A session row's change, once the forward stream has applied it. */
    async function syncedOnce(id: number): Promise<void> {
      await servers('source').query(`UPDATE \`${dbs().name}\`.user_keys SET created_at = created_at + INTERVAL 1 SECOND WHERE id = ${id}`);
      await untilSame(id, `row ${id} to reach the shadow`);
    }

    /**
     * Whether the stream holds the shadow's row while it reads the primary's. Its lane is held up by a
     * sync of row `blocker` that waits for a shadow row lock of the test's; the change of row `probe`
     * queues behind it; the test then locks the primary's row `probe` and lets the lane go: the sync
     * of `probe` waits in its read of the primary, and a NOWAIT lock of the shadow's row tells
     * whether that sync took it first.
     */
    async function shadowLockedDuringPrimaryRead(blocker: number, probe: number): Promise<boolean> {
      const db = dbs().name;
      const shadowHolder = await dbs().admin('target1');
      const primaryHolder = await dbs().admin('source');
      const prober = await dbs().admin('target1');
      try {
        await shadowHolder.query('START TRANSACTION');
        await shadowHolder.query(`SELECT id FROM user_keys WHERE id = ${blocker} FOR UPDATE`);
        await servers('source').query(`UPDATE \`${db}\`.user_keys SET created_at = created_at + INTERVAL 1 SECOND WHERE id = ${blocker}`);
        await waitForLockWaits(prober, 1, `the sync of row ${blocker} to wait for the shadow's row lock`);
        await servers('source').query(`UPDATE \`${db}\`.user_keys SET created_at = created_at + INTERVAL 1 SECOND WHERE id = ${probe}`);
        await primaryHolder.query('START TRANSACTION');
        await primaryHolder.query(`SELECT id FROM user_keys WHERE id = ${probe} FOR UPDATE`);
        await shadowHolder.query('ROLLBACK');
        await waitForLockWaits(primaryHolder, 1, `the sync of row ${probe} to wait for the primary's row lock`);
        await prober.query('START TRANSACTION');
        const locked = await prober.query(`SELECT id FROM user_keys WHERE id = ${probe} FOR UPDATE NOWAIT`).then(
          () => false,
          () => true,
        );
        await prober.query('ROLLBACK');
        await primaryHolder.query('ROLLBACK');
        await untilSame(probe, `row ${probe} to reach the shadow`);
        return locked;
      } finally {
        for (const conn of [shadowHolder, primaryHolder, prober]) await conn.query('ROLLBACK').catch(() => undefined);
      }
    }

    async function untilSame(id: number, what: string): Promise<void> {
      const read = async (server: 'source' | 'target1') => JSON.stringify((await servers(server).query(`SELECT * FROM \`${dbs().name}\`.user_keys WHERE id = ${id}`))[0]);
      const deadline = Date.now() + 15_000;
      while ((await read('target1')) !== (await read('source'))) {
        if (Date.now() > deadline) throw new Error(`timed out after 15 s waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it('keeps the shadow marked as read across coordinators stopped right after their flip, until every router acknowledged the rollback of the reads', async () => {
    const migration = await verifiedUserKeysMigration('capture-reads-recovery');
    const id = migration.id;

    const abort = new AbortController();
    const forward = runCaptureStream({ migration, stream: FORWARD_STREAM, streams: store.captureStreams(), owner: 'test-worker', servers, urls: (n) => urls()[n]!, signal: abort.signal });
    forward.catch(() => undefined);
    const leases = () => new CoordinatorLeases({ redis, prefix: `${dbs().queuePrefix}:`, ttlMs: 5_000 });
    // A coordinator that stops right after its flip landed (as if killed there): its later steps never run.
    const stoppedAfterFlip = () =>
      new Cutover({
        store, fleet: channel, leases: leases(), actor: 'coordinator-a', servers,
        onStep: (point) => {
          if (point === 'flipped') throw new Error('coordinator a stopped after its flip');
        },
      });
    // The coordinator that recovers it, noting the guard row's state once the routers acknowledged (or the wait ended).
    let stateAtAcks: number | undefined;
    const recoverer = new Cutover({
      store, fleet: channel, leases: leases(), actor: 'coordinator-b', servers,
      onStep: async (point) => {
        if (point === 'epoch-acked') stateAtAcks = await guardState('target1', id);
      },
    });
    // A router that holds writes when told to but never reloads the routing: it keeps reading the shadow.
    const stuck = { routerId: `${id}-stuck`, service: 'test', host: 'localhost', pid: process.pid, startedAt: Date.now() };
    let unsubscribe: (() => Promise<void>) | undefined;
    try {
      await untilCheckpointed(id);
      // The reads switch lands and its coordinator stops: the mark set before the fence stays.
      await expect(stoppedAfterFlip().change(id, { to: 'reads_switched' })).rejects.toThrow('coordinator a stopped after its flip');
      expect((await store.getMigration(id)).phase).toBe('reads_switched');
      expect(await guardState('target1', id)).toBe(2);
      expect(await recoverer.recover(id)).toMatchObject({ action: 'finished', to: 'reads_switched' });
      expect(await guardState('target1', id)).toBe(2);

      // The rollback of the reads lands and its coordinator stops; one router never acknowledges it.
      const epoch = (await store.getMigration(id)).epoch;
      await channel.registerRouter(stuck, 60_000);
      await channel.ack(id, stuck.routerId, { epoch, fenceId: null, at: Date.now() });
      unsubscribe = await channel.subscribe((message) => {
        if (message.migrationId === id && message.type === 'fence') void channel.ack(id, stuck.routerId, { epoch, fenceId: message.fenceId, at: Date.now() });
      });
      await expect(stoppedAfterFlip().rollback(id, { reason: 'test' })).rejects.toThrow('coordinator a stopped after its flip');
      expect((await store.getMigration(id)).phase).toBe('verified');
      expect(await guardState('target1', id)).toBe(2);
      expect(await recoverer.recover(id)).toMatchObject({ action: 'finished', to: 'verified' });
      expect(stateAtAcks, 'the guard row while the recovery waited for the acks').toBe(2);
      expect(await guardState('target1', id), 'a router missed the epoch: it may still read the shadow').toBe(2);

      // Every router acknowledges: the recovery clears the mark after the acks, not before.
      await unsubscribe();
      unsubscribe = undefined;
      await channel.deregisterRouter(stuck.routerId);
      expect(await recoverer.change(id, { to: 'reads_switched' })).toMatchObject({ outcome: 'done', to: 'reads_switched' });
      await expect(stoppedAfterFlip().rollback(id, { reason: 'test' })).rejects.toThrow('coordinator a stopped after its flip');
      stateAtAcks = undefined;
      expect(await recoverer.recover(id)).toMatchObject({ action: 'finished', to: 'verified' });
      expect(stateAtAcks, 'the guard row while the recovery waited for the acks').toBe(2);
      expect(await guardState('target1', id)).toBe(1);
    } finally {
      await unsubscribe?.();
      await channel.deregisterRouter(stuck.routerId).catch(() => undefined);
      abort.abort();
      await forward.catch(() => undefined);
    }
  });

  /** A capturing migration of user_keys to target1 in `verified` (copied, verified clean), target1 guarded as `cleave start` leaves it. */
  async function verifiedUserKeysMigration(name: string): Promise<MigrationRecord> {
    const plan = parsePlan({
      version: 1,
      name,
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['user_keys'], to: 't1' }],
    });
    const created = await store.createMigration(plan, { actor: 'test' }, { capture: { server: 'source', from: await currentCoordinate(servers('source'), 'source') }, routingPrefix: `${dbs().queuePrefix}:` });
    await denyWrites(servers('target1'), { migrationId: created.id, migrationName: plan.name, database: dbs().name, tables: ['user_keys'] }, 1, { lockWaitSeconds: 2 });
    await store.changePhase(created.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
    await store.registerBackfillTable(created.id, 'user_keys', 't1', 200);
    await store.setBackfillTableState(created.id, 'user_keys', 'copied');
    await store.changePhase(created.id, { from: 'dual_write', to: 'verified' }, { actor: 'test' });
    const run = await store.startVerificationRun(created.id);
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 200, rowsDiffering: 0, rowsRepaired: 0, clean: true });
    return store.getMigration(created.id);
  }

  /** Until the migration's forward stream wrote its first checkpoint (a switch waits for a healthy capture). */
  async function untilCheckpointed(migrationId: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await store.captureStreams().get(migrationId, FORWARD_STREAM))?.checkpointedAt == null) {
      if (Date.now() > deadline) throw new Error('timed out after 30 s waiting for the forward stream to checkpoint');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The migration's guard row state (`denied`) on a server: 0 primary, 1 shadow, 2 shadow that serves reads. */
  async function guardState(server: 'source' | 'target1', migrationId: string): Promise<number> {
    const [rows] = await servers(server).query(`SELECT denied FROM \`${dbs().name}\`._cleave_guard WHERE migration_id = ?`, [migrationId]);
    return Number((rows as Array<{ denied: number }>)[0]?.denied);
  }
});
