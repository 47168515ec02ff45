import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { parsePlan, SOURCE_CONDITION_FLAG } from '@cleave/core';
import { ControlStore, RoutingChannel, type MigrationRecord } from '@cleave/control';
import { cleaveEnv, controlDatabase, createSampleAccounts, spawnUntilReady, useTestDatabases, type ReadyProcess } from '@cleave/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}apps/cli/bin/cleave.js`;
const MAIN = `${ROOT}apps/coordinator/src/main.ts`;
const TSX = createRequire(import.meta.url).resolve('tsx');

/** A router stand-in on the real routing channel: lease, fence acks, epoch acks (like @cleave/router). */
async function fakeRouter(redis: Redis, prefix: string, store: ControlStore, migrationId: string, routerId: string) {
  const channel = new RoutingChannel({ redis, prefix });
  let epoch = (await store.getMigration(migrationId)).epoch;
  const info = { routerId, service: 'test', host: 'localhost', pid: process.pid, startedAt: Date.now() };
  await channel.registerRouter(info, 3000);
  await channel.ack(migrationId, routerId, { epoch, fenceId: null, at: Date.now() });
  const heartbeat = setInterval(() => void channel.registerRouter(info, 3000).catch(() => undefined), 500);
  const unsubscribe = await channel.subscribe((m) => {
    if (m.migrationId !== migrationId) return;
    if (m.type === 'fence') void channel.ack(migrationId, routerId, { epoch, fenceId: m.fenceId, at: Date.now() });
    if (m.type === 'epoch') {
      void store.getMigration(migrationId).then((r) => {
        epoch = r.epoch;
        return channel.ack(migrationId, routerId, { epoch, fenceId: null, at: Date.now() });
      });
    }
  });
  return {
    get epoch() {
      return epoch;
    },
    async stop() {
      clearInterval(heartbeat);
      await unsubscribe();
      await channel.deregisterRouter(routerId);
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a coordinator killed mid-switch is replaced by the coordinator service (real processes)', () => {
  const dbs = useTestDatabases('coord crash');
  let pool: mysql.Pool;
  let store: ControlStore;
  let redis: Redis;
  let channel: RoutingChannel;
  const env = () => cleaveEnv(dbs(), { CLEAVE_COORDINATOR_PORT: '0' }) // the service's default lease and polling;

  beforeAll(async () => {
    for (const server of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(server)); // both sides, as `cleave start` leaves them
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 3, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: controlDatabase(dbs()) });
    redis = new Redis(dbs().redis.url);
    channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
  });
  afterAll(async () => {
    redis.disconnect();
    await pool.end();
  });

  async function migrationInReadsSwitched(name: string): Promise<MigrationRecord> {
    const plan = parsePlan({
      version: 1,
      name,
      source: { server: 'source', database: dbs().name },
      targets: { keys: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['user_keys'], to: 'keys' }],
    });
    const m = await store.createMigration(plan, { actor: 'test' });
    for (const [from, to] of [['planned', 'dual_write'], ['dual_write', 'verified'], ['verified', 'reads_switched']] as const) await store.changePhase(m.id, { from, to }, { actor: 'test' });
    const run = await store.startVerificationRun(m.id); // the writes switch needs a clean pass
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: true });
    return store.getMigration(m.id);
  }

  async function killedAt(id: string, point: string, command: 'cutover' | 'rollback' = 'cutover'): Promise<void> {
    const cli = await spawnUntilReady(process.execPath, [CLI, command, id], { env: { ...env(), CLEAVE_CUTOVER_PAUSE_AT: point }, cwd: ROOT, ready: (o) => o.includes(`cutover paused at ${point}`) });
    expect(await cli.stop('SIGKILL')).toBeNull();
  }

  /** Runs the real CLI to its end. */
  const runCli = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: env(), cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  const startService = (): Promise<ReadyProcess> =>
    spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, MAIN], { env: env(), cwd: ROOT, ready: (o) => o.includes('"coordinator ready"') });

  it('killed between fence and flip: the successor aborts, the old epoch stays, the fence is lifted; SIGTERM stops it cleanly', { timeout: 120_000 }, async () => {
    const m = await migrationInReadsSwitched('crash-before-flip');
    const routers = [await fakeRouter(redis, dbs().redisPrefix, store, m.id, 'r1'), await fakeRouter(redis, dbs().redisPrefix, store, m.id, 'r2')];
    await killedAt(m.id, 'fence-acked');
    expect((await channel.fences([m.id])).size).toBe(1); // routers hold writes: the dead coordinator's fence
    const service = await startService();
    try {
      const aborted = await waitFor('the aborted event', async () => (await store.events(m.id)).find((e) => e.kind === 'aborted'));
      expect(aborted.reason).toContain('stopped before the flip');
      expect(await store.getMigration(m.id)).toMatchObject({ phase: 'reads_switched', epoch: m.epoch });
      expect((await channel.fences([m.id])).size).toBe(0);
      expect(routers.map((r) => r.epoch)).toEqual([m.epoch, m.epoch]);
    } finally {
      expect(await service.stop('SIGTERM')).toBe(0);
      await Promise.all(routers.map((r) => r.stop()));
    }
    expect(service.output()).toContain('"coordinator stopped"');
  });

  it('killed between flip and unfence: the successor finishes the change (acks, unfence, done)', { timeout: 120_000 }, async () => {
    const m = await migrationInReadsSwitched('crash-after-flip');
    const routers = [await fakeRouter(redis, dbs().redisPrefix, store, m.id, 'r3'), await fakeRouter(redis, dbs().redisPrefix, store, m.id, 'r4')];
    await killedAt(m.id, 'flipped');
    expect(await store.getMigration(m.id)).toMatchObject({ phase: 'writes_switched', epoch: m.epoch + 1 });
    expect((await channel.fences([m.id])).size).toBe(1);
    const service = await startService();
    try {
      const done = await waitFor('the done note', async () => (await store.events(m.id)).find((e) => e.details?.['cutover'] === 'done'));
      expect(done.details).toMatchObject({ from: 'reads_switched', to: 'writes_switched', epoch: m.epoch + 1 });
      expect(done.details?.['resumedFrom']).toEqual(expect.any(String));
      expect((await channel.fences([m.id])).size).toBe(0);
      await waitFor('routers on the new epoch', async () => routers.every((r) => r.epoch === m.epoch + 1));
    } finally {
      await service.stop('SIGTERM');
      await Promise.all(routers.map((r) => r.stop()));
    }
  });

  it('a rerun of a rollback killed after its flip finishes that rollback and goes no further back', { timeout: 120_000 }, async () => {
    const m = await migrationInReadsSwitched('rerun-after-flip');
    const routers = [await fakeRouter(redis, dbs().redisPrefix, store, m.id, 'r5')];
    try {
      const forward = await runCli(['cutover', m.id, '--json']);
      expect(forward.code, forward.stderr).toBe(0);
      await killedAt(m.id, 'flipped', 'rollback');
      expect(await store.getMigration(m.id)).toMatchObject({ phase: 'reads_switched' });
      const rerun = await runCli(['rollback', m.id, '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      const result = JSON.parse(rerun.stdout) as { outcome: string; from: string; to: string; reason: string; recovered: { action: string } };
      expect(result).toMatchObject({ outcome: 'done', from: 'writes_switched', to: 'reads_switched', recovered: { action: 'finished' } });
      expect(result.reason).toContain('nothing else was changed');
      expect((await store.getMigration(m.id)).phase).toBe('reads_switched'); // not verified
      expect((await channel.fences([m.id])).size).toBe(0);
    } finally {
      await Promise.all(routers.map((r) => r.stop()));
    }
  });
});
