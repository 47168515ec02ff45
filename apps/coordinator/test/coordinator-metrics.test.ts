import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { parsePlan, SOURCE_CONDITION_FLAG } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { cleaveEnv, controlDatabase, spawnUntilReady, useTestDatabases } from '@cleave/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = `${ROOT}apps/coordinator/src/main.ts`;
const TSX = createRequire(import.meta.url).resolve('tsx');

describe('coordinator /metrics', () => {
  const dbs = useTestDatabases('coord metrics');
  let pool: mysql.Pool;
  let store: ControlStore;

  beforeAll(async () => {
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: controlDatabase(dbs()) });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('exports the write pause of every finished switch once, and migrations by phase', async () => {
    const plan = parsePlan({
      version: 1,
      name: 'metrics-demo',
      source: { server: 'source', database: dbs().name },
      targets: { t: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't' }],
    });
    const m = await store.createMigration(plan, { actor: 'test' });
    // What a finished fenced switch records in the event log (see libs/cutover live-switcher).
    await store.appendEvent(m.id, 'note', { actor: 'test' }, {
      cutover: 'done',
      from: 'reads_switched',
      to: 'writes_switched',
      writePause: { heldUpToMs: 42 },
      heldWrites: { routers: 2, count: 5, maxMs: 30, p99Ms: 28, unreported: [] },
    });
    const coordinator = await spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, MAIN], {
      env: cleaveEnv(dbs(), { CLEAVE_COORDINATOR_PORT: '0' }),
      cwd: ROOT,
      ready: (o) => o.includes('"coordinator ready"'),
    });
    try {
      const line = coordinator.output().split('\n').find((l) => l.includes('"coordinator ready"'))!;
      const { port } = JSON.parse(line) as { port: number };
      const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const first = await scrape();
      expect(first).toContain('cleave_write_pause_seconds_count{migration="metrics-demo",to="writes_switched"} 1');
      expect(first).toContain('cleave_write_pause_seconds_sum{migration="metrics-demo",to="writes_switched"} 0.042');
      expect(first).toMatch(/cleave_migrations\{phase="planned"\} 1/);
      // The routers' held-write report of the switch.
      expect(first).toContain('cleave_held_writes_total{migration="metrics-demo",to="writes_switched"} 5');
      expect(first).toContain('cleave_held_write_max_seconds_count{migration="metrics-demo",to="writes_switched"} 1');
      expect(first).toContain('cleave_held_write_max_seconds_sum{migration="metrics-demo",to="writes_switched"} 0.03');
      expect(first).toContain('cleave_held_write_p99_seconds{migration="metrics-demo",to="writes_switched"} 0.028');
      const second = await scrape();
      expect(second).toContain('cleave_write_pause_seconds_count{migration="metrics-demo",to="writes_switched"} 1');
      expect(second).toContain('cleave_held_writes_total{migration="metrics-demo",to="writes_switched"} 5');
      expect(second).not.toContain(dbs().source.endpoint.password);
    } finally {
      expect(await coordinator.stop()).toBe(0);
    }
  });
});
