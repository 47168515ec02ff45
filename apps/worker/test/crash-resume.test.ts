import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleaveEnv, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { startDualWriters } from './dual-writers.js';
import { cleave, openStore, startWorker, waitUntil } from './e2e-helpers.js';

/** Resolves with `work`, or fails naming what did not happen within `ms`. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a worker killed with SIGKILL mid-backfill, under concurrent dual writes', () => {
  const dbs = useTestDatabases('crash resume');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 15_000, only: ['sessions'] }); // 45,000 sessions
  });

  // Longer than its waits together (progress, then the backfill's end, then verification).
  it('another worker resumes from the checkpoints, no chunk is lost, verification is clean and an independent comparison agrees', { timeout: 330_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-crash-'));
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'move-sessions',
        source: { server: 'source', database: dbs().name },
        targets: { sessions: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
      }),
    );
    const env = cleaveEnv(dbs());
    // Small chunks and a short job lock, so the kill lands mid-segment and recovery is quick.
    const workerArgs = ['--concurrency', '2', '--pool-size', '4', '--segment-rows', '5000', '--chunk-target-ms', '20', '--lock-ms', '2000'];
    const first = await startWorker({ ...env, CLEAVE_WORKER_ID: 'first' }, workerArgs);
    const started = await cleave(['start', planFile, '--json'], env);
    expect(started.stderr).toBe('');
    const { id } = JSON.parse(started.stdout) as { id: string };
    const { store, close } = await openStore(dbs());
    const writers = await startDualWriters(dbs(), 'target1', 3, { guard: { migrationId: id, epoch: (await store.getMigration(id)).guardEpoch } });
    let second: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      // Kill once some chunks are committed but the backfill is not done.
      const progressAtKill = await waitUntil(
        'some committed chunks',
        async () => {
          const segments = await store.segments(id);
          const copied = segments.reduce((n, s) => n + s.rowsCopied, 0);
          return copied >= 4_000 ? { copied, done: segments.filter((s) => s.state === 'done').length, total: segments.length } : false;
        },
        60_000,
        50,
      );
      first.child.kill('SIGKILL');
      await first.stop();
      expect(first.child.signalCode).toBe('SIGKILL');
      expect(progressAtKill.done).toBeLessThan(progressAtKill.total);

      second = await startWorker({ ...env, CLEAVE_WORKER_ID: 'second' }, workerArgs);
      await waitUntil('backfill_done', async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'), 120_000);
      const counts = await writers.stop();
      expect(counts.inserts + counts.updates + counts.deletes + counts.keyUpdates).toBeGreaterThan(50);

      const segments = await store.segments(id);
      expect(segments.every((s) => s.state === 'done')).toBe(true);
      expect(segments.some((s) => s.owner === 'second')).toBe(true);

      // After the writers stopped: one more verification must find nothing to repair.
      const verified = await cleave(['verify', id, '--repair', '--json'], env);
      expect(verified.code).toBe(0);
      const report = JSON.parse(verified.stdout) as { clean: boolean; rowsRepaired: number; rowsChecked: number };
      expect(report).toMatchObject({ clean: true, rowsRepaired: 0 });

      const [source, target] = await Promise.all([dbs().admin('source'), dbs().admin('target1')]);
      const expected = await hexRows(source, dbs().name, 'sessions', 'id');
      expect(expected.length).toBeGreaterThan(40_000);
      expect(await hexRows(target, dbs().name, 'sessions', 'id')).toEqual(expected);
    } finally {
      await writers.stop().catch(() => undefined);
      await second?.stop();
      await close();
    }
  });

});

// Its own databases: one migration per table (`cleave start` refuses a second over the same tables).
describe('a worker stopped with SIGTERM mid-backfill', () => {
  const dbs = useTestDatabases('sigterm resume');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 15_000, only: ['sessions'] }); // 45,000 sessions
  });

  it('SIGTERM stops a worker gracefully mid-backfill: it exits 0, releases its jobs, and another worker finishes', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-term-'));
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'move-sessions-again',
        source: { server: 'source', database: dbs().name },
        targets: { sessions: { server: 'target2', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
      }),
    );
    const env = cleaveEnv(dbs());
    const workerArgs = ['--concurrency', '2', '--pool-size', '4', '--segment-rows', '20000', '--chunk-target-ms', '20', '--lock-ms', '2000'];
    const first = await startWorker({ ...env, CLEAVE_WORKER_ID: 'term-first' }, workerArgs);
    const { id } = JSON.parse((await cleave(['start', planFile, '--json'], env)).stdout) as { id: string };
    const { store, close } = await openStore(dbs());
    try {
      await waitUntil('some committed chunks', async () => (await store.segments(id)).some((s) => s.rowsCopied > 0), 60_000, 50);
      // A hang guard, not a timing claim: in-flight chunks finish and checkpoint, then the worker exits.
      const exit = await withDeadline(first.stop('SIGTERM'), 30_000, 'the worker to exit after SIGTERM').finally(() => first.stop('SIGKILL'));
      expect(exit).toBe(0);
      expect(first.output()).toContain('released on shutdown');
      const before = await store.segments(id);
      expect(before.some((s) => s.state !== 'done')).toBe(true);

      const second = await startWorker({ ...env, CLEAVE_WORKER_ID: 'term-second' }, workerArgs);
      try {
        const run = await waitUntil('a finished verification run', async () => (await store.verificationRuns(id)).find((r) => r.finishedAt !== null), 120_000);
        expect(run.clean).toBe(true);
      } finally {
        await second.stop();
      }
      const [source, target] = await Promise.all([dbs().admin('source'), dbs().admin('target2')]);
      expect(await hexRows(target, dbs().name, 'sessions', 'id')).toEqual(await hexRows(source, dbs().name, 'sessions', 'id'));
    } finally {
      await close();
    }
  });
});
