import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleaveEnv, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { cleave, healthPort, openStore, startWorker, waitUntil } from './e2e-helpers.js';

describe('backfill and verification with real CLI and worker processes', () => {
  const dbs = useTestDatabases('worker e2e');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 3000 });
  });

  it('copies a split (tables and a shard) and verifies it clean; the worker stays within its connection budget', { timeout: 180_000 }, async () => {
    const name = dbs().name;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-e2e-'));
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'split-accounts',
        source: { server: 'source', database: name },
        targets: { mail: { server: 'target1', database: name }, keys: { server: 'target2', database: name } },
        moves: [
          { kind: 'tables', tables: ['users', 'addresses', 'email_aliases'], to: 'mail' },
          { kind: 'tables', tables: ['sessions'], to: 'keys' },
          { kind: 'shard', table: 'invoices', key: { column: 'user_id', type: 'integer' }, ranges: [{ from: null, to: 1500, target: 'mail' }, { from: 1500, to: null, target: 'keys' }] },
        ],
      }),
    );
    const env = cleaveEnv(dbs());
    const worker = await startWorker(env, ['--concurrency', '4', '--pool-size', '4', '--segment-rows', '1000', '--chunk-target-ms', '100']);
    try {
      const started = await cleave(['start', planFile, '--json'], env);
      expect(started.stderr).toBe('');
      const { id } = JSON.parse(started.stdout) as { id: string };
      const { store, close } = await openStore(dbs());
      try {
        const run = await waitUntil('a finished verification run', async () => (await store.verificationRuns(id)).find((r) => r.finishedAt !== null), 90_000);
        expect(run).toMatchObject({ clean: true, rowsRepaired: 0 });
        expect(run.rowsChecked).toBeGreaterThanOrEqual(3000 + 4500 + 6000 + 9000 + 12000);
        const tables = await store.backfillTables(id);
        expect(tables.map((t) => [t.table, t.state])).toEqual([
          ['addresses', 'copied'],
          ['email_aliases', 'copied'],
          ['invoices#0', 'copied'],
          ['invoices#1', 'copied'],
          ['sessions', 'copied'],
          ['users', 'copied'],
        ]);
        const kinds = (await store.events(id)).map((e) => e.kind);
        expect(kinds).toContain('backfill_done');
        expect(kinds).toContain('verification');
      } finally {
        await close();
      }
      // An independent comparison: HEX() of every column, read with plain SQL on each server.
      const [source, t1, t2] = await Promise.all([dbs().admin('source'), dbs().admin('target1'), dbs().admin('target2')]);
      for (const table of ['users', 'addresses', 'email_aliases']) {
        expect(await hexRows(t1, name, table, 'id')).toEqual(await hexRows(source, name, table, 'id'));
      }
      expect(await hexRows(t2, name, 'sessions', 'id')).toEqual(await hexRows(source, name, 'sessions', 'id'));
      expect(await hexRows(t1, name, 'invoices', 'user_id, invoice_no')).toEqual(await hexRows(source, name, 'invoices', 'user_id, invoice_no', 'user_id < 1500'));
      expect(await hexRows(t2, name, 'invoices', 'user_id, invoice_no')).toEqual(await hexRows(source, name, 'invoices', 'user_id, invoice_no', 'user_id >= 1500'));
      // The connection budget: never more connections to a server than the pool size.
      const health = (await (await fetch(`http://127.0.0.1:${healthPort(worker)}/health`)).json()) as { status: string; servers: Record<string, { connectionsOpened: number }> };
      expect(health.status).toBe('ok');
      for (const server of Object.values(health.servers)) expect(server.connectionsOpened).toBeLessThanOrEqual(4);
      expect(worker.output()).not.toContain(dbs().source.endpoint.password);
      const status = await cleave(['status', id], env);
      expect(status.stdout).toMatch(/run \d+ .*: clean/);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
