import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleaveEnv, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

// The documented exit code and a message naming what is wrong, per error class, against the real
// servers: a database that does not exist (on the source, on a target), and a wrong password.
const WRONG_PASSWORD = 'wrong-pw-7731';

/** The URL of server `name` in `env`, with its password replaced. */
function withPassword(env: Record<string, string>, name: string, password: string): Record<string, string> {
  const key = `CLEAVE_SERVER_${name.toUpperCase()}`;
  const url = new URL(env[key]!);
  url.password = password;
  return { ...env, [key]: url.toString() };
}

const addressOf = (env: Record<string, string>, name: string) => new URL(env[`CLEAVE_SERVER_${name.toUpperCase()}`]!).host;

describe('exit codes and messages per error class (real processes, real servers)', () => {
  const dbs = useTestDatabases('cli errors');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-errors-'));
  const missingTargetPlan = path.join(dir, 'missing-target.json');

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    // A valid plan whose target database does not exist on target1.
    const planned = await runCli(['plan', '-d', dbs().name, '--move', 'sessions', '--to', `mail=target1/${dbs().name}_nodb`, '-o', missingTargetPlan], cleaveEnv(dbs()));
    expect(planned.code, planned.stderr).toBe(0);
  }, 120_000);

  it.each([false, true])('plan -d of a database that does not exist: exit 4 naming the server and database, no hint about the URL (--json %s)', async (json) => {
    const env = cleaveEnv(dbs());
    const run = await runCli(['plan', '-d', 'nosuchdb', '--target', 'target1', ...(json ? ['--json'] : [])], env);
    expect(run.code, run.stderr).toBe(4);
    const error = json ? JSON.parse(run.stdout).error : { message: run.stderr, hint: run.stderr };
    if (json) expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(`database "nosuchdb" does not exist on server source (${addressOf(env, 'source')})`);
    expect(error.hint).toContain("Databases on source: "); // the ones it does have
    expect(run.stdout + run.stderr).not.toMatch(/connection URL/i);
  });

  it.each([false, true])('start with a target database that does not exist: exit 4 naming server, database and the fix (--json %s)', async (json) => {
    const env = cleaveEnv(dbs());
    const run = await runCli(['start', missingTargetPlan, ...(json ? ['--json'] : [])], env);
    expect(run.code, run.stderr).toBe(4);
    const error = json ? JSON.parse(run.stdout).error : { message: run.stderr, hint: run.stderr };
    if (json) expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(`"${dbs().name}_nodb" does not exist on server target1 (${addressOf(env, 'target1')})`);
    expect(error.hint).toContain(`CREATE DATABASE \`${dbs().name}_nodb\` on target1`);
    expect(run.stderr + run.stdout).not.toContain("Unknown database '");
  });

  it.each([
    ['plan', 'source', ['plan', '-d', '<db>', '--target', 'target1']],
    ['status (list)', 'source', ['status']],
    ['status <id>', 'source', ['status', 'some-migration']],
    ['verify <id>', 'source', ['verify', 'some-migration']],
    ['cutover --dry-run', 'source', ['cutover', 'some-migration', '--dry-run']],
    ['start, source password', 'source', ['start', '<plan>']],
    ['start, target password', 'target1', ['start', '<plan>']],
  ])('%s with a wrong password: exit 5 naming the server, never the password', async (_name, server, args) => {
    const env = withPassword(cleaveEnv(dbs()), server, WRONG_PASSWORD);
    const argv = args.map((a) => (a === '<db>' ? dbs().name : a === '<plan>' ? missingTargetPlan : a));
    for (const json of [false, true]) {
      const run = await runCli([...argv, ...(json ? ['--json'] : [])], env);
      expect(run.code, run.stderr + run.stdout).toBe(5);
      const said = json ? Object.values(JSON.parse(run.stdout).error as Record<string, string>).join('\n') : run.stderr;
      expect(said).toMatch(new RegExp(`cannot reach server "?${server}"?`));
      expect(said).toContain('Access denied');
      expect(said).toContain('credentials');
      expect(run.stdout + run.stderr).not.toContain(WRONG_PASSWORD);
      if (json) expect(JSON.parse(run.stdout).error.code).toBe('CONNECTION_FAILED');
    }
  }, 120_000);

  it('--json errors carry the code of every class: bad input, not found', async () => {
    const badInput = await runCli(['plan', '--target', 'target1', '--json'], cleaveEnv(dbs()));
    expect(badInput.code).toBe(2);
    expect(JSON.parse(badInput.stdout).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: '--database is required' });
    const notFound = await runCli(['status', 'no-such-migration', '--json'], cleaveEnv(dbs()));
    expect(notFound.code, notFound.stdout).toBe(4);
    expect(JSON.parse(notFound.stdout).error.code).toBe('NOT_FOUND');
  }, 150_000);
});
