import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobProducer, redisConnectionFromUrl } from '@cleave/jobs';
import { cleaveEnv, createSampleAccounts, seedSampleAccounts, useTestDatabases, type ReadyProcess } from '@cleave/testing';
import { cleave, openStore, startWorker, waitUntil } from './e2e-helpers.js';

describe('cleave cancel (real CLI, worker, MariaDB and Redis)', () => {
  const dbs = useTestDatabases('cancel');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-cancel-'));
  let worker: ReadyProcess | undefined;

  beforeAll(async () => {
    const source = await dbs().admin('source');
    await createSampleAccounts(source);
    await seedSampleAccounts(source, { users: 300, only: ['sessions'] });
    // invoices exists on the target before the migration (identical definition): cancel must keep it.
    const [[row]] = (await source.query('SHOW CREATE TABLE invoices')) as unknown as [[Record<string, string>]];
    await (await dbs().admin('target1')).query(row['Create Table']!);
  });
  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
  });

  const tablesOnTarget = async () => {
    const [rows] = await (await dbs().admin('target1')).query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('sessions', 'invoices') ORDER BY 1");
    return (rows as Array<{ t: string }>).map((r) => r.t);
  };
  const planFile = (name: string) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ version: 1, name, source: { server: 'source', database: dbs().name }, targets: { t1: { server: 'target1', database: dbs().name } }, moves: [{ kind: 'tables', tables: ['sessions', 'invoices'], to: 't1' }] }));
    return file;
  };

  it('lists what it would do and changes nothing without --approve; with it: rolled back, jobs removed, the tables start created dropped, the others kept; a worker skips its jobs', { timeout: 150_000 }, async () => {
    const env = cleaveEnv(dbs());
    const started = await cleave(['start', planFile('to-cancel'), '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const { id } = JSON.parse(started.stdout) as { id: string };
    expect(await tablesOnTarget()).toEqual(['invoices', 'sessions']);

    const dry = await cleave(['cancel', 'to-cancel'], env);
    expect(dry.code).toBe(3);
    expect(dry.stdout).toContain('cancelling migration to-cancel');
    expect(dry.stdout).toContain(`drop target1:${dbs().name}.sessions (created by cleave start)`);
    expect(dry.stdout).toContain(`keep target1:${dbs().name}.invoices (it existed before cleave start)`);
    expect(dry.stdout).toContain('nothing was changed');
    expect(await tablesOnTarget()).toEqual(['invoices', 'sessions']);

    const done = await cleave(['cancel', 'to-cancel', '--approve', '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ outcome: 'cancelled', rollbacks: ['planned'], jobsRemoved: 2 });
    expect(await tablesOnTarget()).toEqual(['invoices']);
    const status = JSON.parse((await cleave(['status', id, '--json'], env)).stdout) as { migration: { phase: string; cancelledAt: string | null }; events: Array<{ kind: string }>; queues: Record<string, Record<string, number>> };
    expect(status.migration.phase).toBe('planned');
    expect(status.migration.cancelledAt).not.toBeNull();
    expect(status.events.map((e) => e.kind).at(-1)).toBe('cancelled');
    expect(status.queues['backfill']).toMatchObject({ waiting: 0, delayed: 0 });
    // The placement guard went with the rollback: the kept table takes writes again.
    await (await dbs().admin('target1')).query("INSERT INTO invoices (user_id, invoice_no, amount, currency, issued_at) VALUES (1, 1, 1.5, 'EUR', CURDATE())");
    // Its phase no longer changes.
    const cutover = await cleave(['cutover', 'to-cancel'], env);
    expect(cutover.code).toBe(3);
    expect(cutover.stderr).toContain('is cancelled');

    // A job of it that a worker gets anyway (queued again by hand here) is skipped: nothing recreated.
    const producer = new JobProducer({ connection: redisConnectionFromUrl(dbs().redis.url), queuePrefix: dbs().queuePrefix });
    try {
      await producer.splitTables(id, ['sessions']);
    } finally {
      await producer.close();
    }
    worker = await startWorker(env, ['--concurrency', '1']);
    await waitUntil('the worker to skip the job', async () => worker!.output().includes('skipped: the migration is cancelled'), 30_000);
    expect(await tablesOnTarget()).toEqual(['invoices']);

    // Its tables may be planned again.
    const again = await cleave(['start', planFile('after-cancel'), '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const { store, close } = await openStore(dbs());
    try {
      expect((await store.getMigration('to-cancel')).cancelledAt).toBeInstanceOf(Date);
    } finally {
      await close();
    }
  });
});
