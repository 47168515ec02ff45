import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parsePlan, type MigrationPhase } from '@cleave/core';
import { runCaptureStream } from '@cleave/capture';
import { ControlStore, FORWARD_STREAM, RoutingChannel, currentCoordinate, type CaptureStreamRecord } from '@cleave/control';
import { CoordinatorLeases, Cutover } from '@cleave/cutover';
import { MysqlPools, denyWrites, isGuardRefusal, parseConnectionUrl, type ConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, seedSampleAccounts, useTestDatabases } from '@cleave/testing';

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
      await seedSampleAccounts(admin, { users: 200, only: ['sessions'] }); // both sides equal, as a finished backfill leaves them
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
      const deadline = Date.now() + 30_000;
      while ((await store.captureStreams().get(migration.id, FORWARD_STREAM))?.checkpointedAt === null) {
        if (Date.now() > deadline) throw new Error('the forward stream did not checkpoint within 30 s');
        await new Promise((r) => setTimeout(r, 50));
      }
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
});
