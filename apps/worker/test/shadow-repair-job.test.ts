import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeShadowKeys } from '@cleave/control';
import { cleaveEnv, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { cleave, openStore, startWorker, waitUntil } from './e2e-helpers.js';

describe('shadow writes a router recorded as failed', () => {
  const dbs = useTestDatabases('shadow repair');

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 500, only: ['users'] });
  });

  it('are repaired from the primary by a worker without anyone enqueuing a job', async () => {
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-repair-')), 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        version: 1,
        name: 'repair-users',
        source: { server: 'source', database: dbs().name },
        targets: { t: { server: 'target1', database: dbs().name } },
        moves: [{ kind: 'tables', tables: ['users'], to: 't' }],
      }),
    );
    const source = await dbs().admin('source');
    await source.query('DROP TABLE addresses, email_aliases');
    const env = cleaveEnv(dbs());
    const worker = await startWorker(env, ['--segment-rows', '1000']);
    const { store, close } = await openStore(dbs());
    try {
      const started = await cleave(['start', planFile, '--json'], env);
      expect(started.stderr).toBe('');
      const { id } = JSON.parse(started.stdout) as { id: string };
      await waitUntil('backfill_done', async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'), 60_000);
      // A write whose shadow apply failed: the primary changed, the shadow did not.
      await source.query("UPDATE users SET display_name = 'changed after the copy', storage_used = 42 WHERE id IN (7, 8)");
      await source.query('DELETE FROM users WHERE id = 9');
      await store.recordShadowFailure(id, 'users', encodeShadowKeys([['7'], ['8'], ['9']]), 'ECONNREFUSED (simulated)');
      await waitUntil('the failure repaired', async () => (await store.openShadowFailures(id)).length === 0, 30_000);
      const target = await dbs().admin('target1');
      expect(await hexRows(target, dbs().name, 'users', 'id')).toEqual(await hexRows(source, dbs().name, 'users', 'id'));
    } finally {
      await close();
      await worker.stop();
    }
  });
});
