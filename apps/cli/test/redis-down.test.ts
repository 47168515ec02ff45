import { describe, expect, it } from 'vitest';
import { cleaveEnv as cliEnv, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

// Nothing listens on port 1: every command that needs Redis must say so at once, naming the
// address, with the documented exit code, and without the client's own stack traces.
const NO_REDIS = 'redis://127.0.0.1:1';

describe('commands that need Redis, with Redis unreachable (real processes)', () => {
  const dbs = useTestDatabases('cli no redis');

  it.each([
    ['status', ['status', 'some-migration']],
    ['status --json', ['status', 'some-migration', '--json']],
    ['cutover', ['cutover', 'some-migration']],
    ['cutover --dry-run', ['cutover', 'some-migration', '--dry-run']],
    ['rollback', ['rollback', 'some-migration']],
    ['finalize', ['finalize', 'some-migration', '--approve']],
    ['drop-archive', ['drop-archive', 'some-migration', '--approve']],
    ['cancel', ['cancel', 'some-migration', '--approve']],
  ])('%s: exit 5 naming the Redis address', async (_name, args) => {
    const run = await runCli(args, { ...cliEnv(dbs()), CLEAVE_REDIS_URL: NO_REDIS });
    expect(run.code, run.stderr).toBe(5);
    const said = args.includes('--json') ? run.stdout : run.stderr;
    expect(said).toContain('cannot reach Redis at 127.0.0.1:1');
    if (args.includes('--json')) expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'CONNECTION_FAILED' } });
    expect(run.stderr).not.toContain('[ioredis]');
    expect(run.stderr).not.toContain('Unhandled error');
  });
});
