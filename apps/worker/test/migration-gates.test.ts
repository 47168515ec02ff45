import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parsePlan } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { controlDatabase, useTestDatabases } from '@cleave/testing';
import type { ThrottleGate } from '@cleave/backfill';
import { MigrationGates } from '../src/migration-gates.js';
import { readWorkerSettings } from '../src/worker-settings.js';
import { waitUntil } from './e2e-helpers.js';

describe('MigrationGates: throttlers run only while the worker has copy work of the migration', () => {
  const dbs = useTestDatabases('migration gates');
  let pool: mysql.Pool;
  let store: ControlStore;

  beforeAll(async () => {
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 8, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: controlDatabase(dbs()) });
  });
  afterAll(async () => {
    await pool.end();
  });

  /** Queries that keep the source's Threads_running above the limit for `seconds`. */
  const load = (seconds: number) => Promise.all([1, 2, 3, 4].map(() => pool.query(`SELECT SLEEP(${seconds})`)));

  // Longer than its waits: the load (3 s), the gate closing (10 s) and the watch after it (1 s).
  it('throttles a copy under load, counts the wait once, and stops polling and reporting once the last job ended', { timeout: 60_000 }, async () => {
    const m = await store.createMigration(
      parsePlan({
        version: 1,
        name: 'gated',
        source: { server: 'source', database: dbs().name },
        targets: { t: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['users'], to: 't' }],
      }),
      { actor: 'test' },
    );
    const settings = readWorkerSettings(
      ['node', 'worker', '--max-source-threads-running', '2', '--max-target-threads-running', '0', '--max-source-latency-ratio', '0', '--throttle-interval-ms', '100'],
      {},
    );
    const changes: ThrottleGate['state'][] = [];
    const gates = new MigrationGates(store, () => pool, settings, (_id, state) => changes.push(state));
    try {
      const loaded = load(3);
      await gates.use(m.id, async (gate) => {
        await waitUntil('the gate to close under load', async () => gate.state.throttled, 10_000, 50);
        // The reason carries the value against its threshold (the dashboard's "throttled now").
        expect(gates.throttling()).toEqual([
          { migrationId: m.id, migration: 'gated', throttlers: ['source-threads-running'], active: ['source-threads-running'], reasons: [{ name: 'source-threads-running', reason: expect.stringMatching(/^source Threads_running \d+ > max 2$/) }] },
        ]);
        // A copy waits here until the load is gone; that wait is the throttled time.
        await gate.waitUntilOpen();
      });
      await loaded;
      const waited = gates.drainThrottledMs();
      expect(waited).toHaveLength(1);
      expect(waited[0]).toMatchObject({ migration: 'gated', throttler: 'source-threads-running' });
      expect(waited[0]!.ms).toBeGreaterThan(0);
      expect(gates.drainThrottledMs()).toEqual([]); // counted once

      // The last job ended: the gate closes a few seconds later, then nothing polls or reports.
      await waitUntil('the gate to close after the last job', async () => gates.open.length === 0, 10_000, 100);
      expect(gates.throttling()).toEqual([]);
      const reported = changes.length;
      expect(reported).toBeGreaterThan(0);
      await load(1);
      expect(changes.length).toBe(reported);
      expect(gates.drainThrottledMs()).toEqual([]);
    } finally {
      await gates.close();
    }
  });
});
