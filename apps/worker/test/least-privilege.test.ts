import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleaveEnv, createSampleAccounts, createTestAccount, seedSampleAccounts, useTestDatabases, type ReadyProcess, type TestAccount } from '@cleave/testing';
import { cleave, startWorker, waitUntil } from './e2e-helpers.js';

/**
 * The grants docs/production.md lists, and nothing more: a whole migration (start with binlog
 * capture, backfill, verification, both switches, a verified repair, finalize) run by an account
 * that holds only cleave's grants, planned by one that holds only the planner's.
 */
describe("cleave's least-privilege account (real CLI and worker, MariaDB, Redis)", () => {
  const dbs = useTestDatabases('least priv');
  let account: TestAccount | undefined;
  let planner: TestAccount | undefined;
  let worker: ReadyProcess | undefined;

  beforeAll(async () => {
    const source = await dbs().admin('source');
    await createSampleAccounts(source);
    await seedSampleAccounts(source, { users: 500, only: ['sessions'] });
    account = await createTestAccount(dbs(), 'cleave', ['source', 'target1']);
    planner = await createTestAccount(dbs(), 'planner', ['source']);
  });
  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await account?.drop();
    await planner?.drop();
  });

  it('runs a whole migration with only the documented grants', { timeout: 170_000 }, async () => {
    const env = cleaveEnv(dbs(), { CLEAVE_SERVER_SOURCE: account!.url('source', ''), CLEAVE_SERVER_TARGET1: account!.url('target1', '') });
    delete env['CLEAVE_SERVER_TARGET2'];
    const step = async (what: string, args: string[]) => {
      const run = await cleave(args, env);
      expect(run.code, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`).toBe(0);
      return run.stdout;
    };
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-lp-')), 'plan.json');
    // The planner's read-only account, reading the workload from performance_schema as well.
    const plan = await cleave(['plan', '-d', dbs().name, '--name', 'lp', '--move', 'sessions', '--to', 'sessions=target1', '--workload', 'performance_schema', '-o', planFile], { ...env, CLEAVE_SERVER_SOURCE: planner!.url('source', '') });
    expect(plan.code, `cleave plan as the planner's account: exit ${plan.code}\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    await step('cleave start', ['start', planFile]);
    worker = await startWorker(env, ['--concurrency', '2']);
    const source = await dbs().admin('source');
    // A write outside cleave during the copy: the capture (reading the binlog as this account) carries it.
    await source.query("UPDATE sessions SET user_agent = 'during the copy' WHERE id = 3");
    await waitUntil('a clean verification run', async () => {
      const status = JSON.parse(await step('cleave status', ['status', 'lp', '--json'])) as { verification: Array<{ clean: boolean | null }> };
      return status.verification.some((r) => r.clean === true);
    }, 120_000, 1_000);
    await step('cutover to verified', ['cutover', 'lp']);
    await step('cutover to reads_switched', ['cutover', 'lp']);
    await step('cutover to writes_switched', ['cutover', 'lp']);
    // After the switch: a write on the new primary reaches the old side through the reverse capture.
    await (await dbs().admin('target1')).query("UPDATE sessions SET user_agent = 'after the switch' WHERE id = 4");
    await step('verify --repair', ['verify', 'lp', '--repair']);
    await step('finalize', ['finalize', 'lp', '--approve']);
    const [[archived]] = (await source.query("SELECT user_agent AS a FROM `_cleave_archived_lp_sessions` WHERE id = 4")) as unknown as [[{ a: string }]];
    expect(archived.a).toBe('after the switch');
  });
});
