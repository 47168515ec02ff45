import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('usage errors of a subcommand (real processes)', () => {
  it.each([
    ['an unknown option', ['cutover', 'split-mail', '--bogus'], "unknown option '--bogus'"],
    ['a missing argument', ['rollback'], "missing required argument 'id'"],
    ['an unknown command', ['cutovr'], "unknown command 'cutovr'"],
  ])('%s: exit 2 (bad input), the usage shown, nothing run', async (_what, args, message) => {
    const run = await runCli(args, { ...process.env } as Record<string, string>);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/Usage: cleave/);
    expect(run.stdout).toBe('');
  });
});
