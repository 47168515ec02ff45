import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '@cleave/core';
import { FORWARD_STREAM, compareCoordinates, currentCoordinate, formatCoordinate } from '@cleave/control';
import { cleaveEnv, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases, type ReadyProcess } from '@cleave/testing';
import { startDualWriters } from './dual-writers.js';
import { openStore, startWorker, waitUntil } from './e2e-helpers.js';

const KILLS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a capturing worker killed with SIGKILL under writes made outside the router', () => {
  const dbs = useTestDatabases('capture crash');

  beforeAll(async () => {
    // Both sides start identical (the seed is deterministic), so the capture alone must carry every later change.
    for (const server of ['source', 'target1'] as const) {
      const admin = await dbs().admin(server);
      await createSampleAccounts(admin);
      await seedSampleAccounts(admin, { users: 2_000, only: ['sessions'] });
    }
  });

  it(`resumes from its checkpoint after each of ${KILLS} kills at random points: nothing missed, nothing left different`, { timeout: 150_000 }, async () => {
    const env = cleaveEnv(dbs());
    const { store, close } = await openStore(dbs());
    const source = await dbs().admin('source');
    const plan = parsePlan({
      version: 1,
      name: 'capture-crash',
      source: { server: 'source', database: dbs().name },
      targets: { sessions: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
    });
    // No backfill and no verification run: only the capture stream writes the target.
    const from = await currentCoordinate(source, 'source');
    const created = await store.createMigration(plan, { actor: 'test' }, { capture: { server: 'source', from } });
    const m = await store.changePhase(created.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
    const streams = store.captureStreams();
    const stream = async () => (await streams.get(m.id, FORWARD_STREAM))!;
    const writers = await startDualWriters(dbs(), 'target1', 3, { shadow: false });
    let worker: ReadyProcess | undefined;
    try {
      const owners: string[] = [];
      for (let run = 0; run <= KILLS; run++) {
        const owner = `capture-crash-${run}`;
        worker = await startWorker({ ...env, CLEAVE_WORKER_ID: owner }, ['--concurrency', '1']);
        // The new worker takes the stream over once the dead one's lease ran out, and applies from its checkpoint.
        const applied = (await stream()).changesApplied;
        await waitUntil(`worker ${owner} to hold the capture stream and apply changes`, async () => {
          const now = await stream();
          if (now.state === 'failed') throw new Error(`the capture stream failed: ${now.error ?? ''}`);
          return now.owner === owner && now.changesApplied > applied;
        }, 60_000, 100);
        owners.push(owner);
        if (run === KILLS) break;
        await sleep(200 + Math.random() * 1_500);
        worker.child.kill('SIGKILL');
        await worker.stop();
        expect(worker.child.signalCode).toBe('SIGKILL');
      }
      const counts = await writers.stop();
      expect(counts.inserts + counts.updates + counts.deletes + counts.keyUpdates).toBeGreaterThan(200);
      expect(owners).toHaveLength(KILLS + 1);

      const goal = await currentCoordinate(source, 'source');
      await streams.requestCatchUp(m.id, FORWARD_STREAM);
      await waitUntil(`the capture stream to checkpoint past the source's ${formatCoordinate(goal)}`, async () => compareCoordinates((await stream()).checkpoint, goal) >= 0, 60_000, 100);
      const [expected, actual] = await Promise.all([hexRows(source, dbs().name, 'sessions', 'id'), hexRows(await dbs().admin('target1'), dbs().name, 'sessions', 'id')]);
      expect(expected.length).toBeGreaterThan(5_000);
      expect(actual.length).toBe(expected.length);
      expect(actual).toEqual(expected);
    } finally {
      await writers.stop().catch(() => undefined);
      await worker?.stop().catch(() => undefined);
      await close();
    }
  });
});
