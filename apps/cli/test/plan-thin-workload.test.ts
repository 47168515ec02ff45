import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleaveEnv, createSampleAccounts, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

// The workload a freshly seeded database shows in performance_schema: the seed's INSERT … SELECT
// FROM seq_1_to_N statements (MariaDB's sequence engine) and a handful of reads, a few dozen
// executions. A computed split must not rest on it silently.
describe('cleave plan on a thin workload (real processes, real performance_schema)', () => {
  const dbs = useTestDatabases('cli plan thin');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-plan-thin-'));
  const out = (name: string) => path.join(dir, `${name}.json`);
  const targets = ['--target', 'mail=target1', '--target', 'sessions=target2'];

  beforeAll(async () => {
    const admin = await dbs().admin('source'); // its default database is the test's: the digests count there
    await createSampleAccounts(admin);
    await seedSampleAccounts(admin, { users: 300 });
    await admin.query('CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = ?', ['active']);
    for (let id = 1; id <= 5; id += 1) await admin.query('SELECT * FROM sessions WHERE user_id = ?', [id]);
    await admin.query('SELECT a.email FROM active_users a JOIN email_aliases e ON e.user_id = a.id LIMIT 1');
    await admin.query('SELECT * FROM table_dropped_long_ago').catch(() => undefined); // still a digest
  }, 120_000);

  it('refuses a computed split without --allow-thin-workload: exit 3, the sample named, nothing written', async () => {
    const run = await runCli(['plan', '-d', dbs().name, ...targets, '-o', out('refused')], cleaveEnv(dbs()));
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`^cleave: the workload is too thin to plan a split: \\d+ executions of \\d+ statements on tables of ${dbs().name} \\(at least 1,000 needed\\)`));
    expect(run.stderr).toContain('--allow-thin-workload');
    expect(run.stderr).toContain('--move TABLES --to TARGET');
    expect(existsSync(out('refused'))).toBe(false);
    const json = await runCli(['plan', '-d', dbs().name, ...targets, '-o', out('refused'), '--json'], cleaveEnv(dbs()));
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).error.code).toBe('PRECONDITION_FAILED');
  }, 150_000);

  it('with --allow-thin-workload: plans, says how thin, never lists sequence-engine or missing tables as tables', async () => {
    const run = await runCli(['plan', '-d', dbs().name, ...targets, '-o', out('thin'), '--allow-thin-workload', '--json'], cleaveEnv(dbs()));
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { warnings: string[]; brokenStatements: Array<{ tables: string[] }>; plan: unknown; sufficiency: { thin: boolean; executions: number } };
    expect(json.sufficiency.thin).toBe(true);
    expect(json.sufficiency.executions).toBeLessThan(1000);
    expect(json.warnings.some((w) => w.startsWith('thin workload: '))).toBe(true);
    expect(json.warnings).toContain(
      `statements name tables database "${dbs().name}" does not have (dropped or temporary tables; left out of the plan): table_dropped_long_ago (1 executions)`,
    );
    // The seed's seq_1_to_N tables are nowhere: not in the plan, not among a broken statement's tables, not in a warning.
    const listed = [JSON.stringify(json.plan), ...json.brokenStatements.flatMap((b) => b.tables), ...json.warnings].join('\n');
    expect(listed).not.toMatch(/seq_\d+_to_\d+/);
    expect(json.brokenStatements.flatMap((b) => b.tables)).not.toContain('table_dropped_long_ago');
    const text = await runCli(['plan', '-d', dbs().name, ...targets, '-o', out('thin'), '--allow-thin-workload'], cleaveEnv(dbs()));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^warning: thin workload: \d+ executions of \d+ statements on tables of .+, fewer than 1,000: the split rests on a small sample$/m);
    expect(text.stdout.split('\n').filter((l) => !l.startsWith('statements the SQL parser refused') && !/^\s+\d+x /.test(l)).join('\n')).not.toMatch(/seq_\d+_to_\d+/);
  }, 150_000);

  it('a view joined with a moved table stays a relation on the source: the statement is named as broken', async () => {
    const run = await runCli(['plan', '-d', dbs().name, '--move', 'email_aliases', '--to', 'mail=target1', '--allow-fk-split', '-o', out('view'), '--workload', 'performance_schema', '--json'], cleaveEnv(dbs()));
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { brokenStatements: Array<{ tables: string[] }>; warnings: string[] };
    expect(json.brokenStatements.map((b) => b.tables)).toContainEqual(['active_users', 'email_aliases']);
    // a known split only predicts load from the sample: a warning, not a refusal
    expect(json.warnings.some((w) => w.includes('the load prediction rests on a small sample'))).toBe(true);
  });

  it('says so when every table leaves the source', async () => {
    const all = 'addresses,email_aliases,invoices,sessions,user_keys,user_settings,users';
    const run = await runCli(['plan', '-d', dbs().name, '--move', all, '--to', 'mail=target1', '-o', out('all')], cleaveEnv(dbs()));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`warning: every table of ${dbs().name} leaves the source: the source keeps none (7 tables move)`);
    expect(JSON.parse(readFileSync(out('all'), 'utf8')).moves[0].tables).toHaveLength(7);
  });

  it('a workload of 1,000 executions or more is planned without the flag and without the thin warning', async () => {
    const admin = await dbs().admin('source');
    for (let i = 0; i < 1_000; i += 1) await admin.query('SELECT token_hash FROM sessions WHERE id = ?', [1 + (i % 50)]);
    const run = await runCli(['plan', '-d', dbs().name, ...targets, '-o', out('enough'), '--json'], cleaveEnv(dbs()));
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { warnings: string[]; sufficiency: { thin: boolean; executions: number } };
    expect(json.sufficiency.thin).toBe(false);
    expect(json.sufficiency.executions).toBeGreaterThanOrEqual(1000);
    expect(json.warnings.some((w) => w.startsWith('thin workload'))).toBe(false);
  }, 60_000);
});
