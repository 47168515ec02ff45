import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// `cleave demo` runs the repository's demo (`npm run demo`) with the options after `--`; the run
// itself takes a minute and is exercised by `npm run demo`, here only the wiring and the errors.
describe('cleave demo', () => {
  const env = { PATH: process.env['PATH'] ?? '' };

  it('has help with an example', async () => {
    const run = await runCli(['demo', '--help'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('cleave demo -- --users 50000 --keep-running');
  });

  it('passes options after -- to the demo (its own --help)', async () => {
    const run = await runCli(['demo', '--', '--help'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--keep-running');
    expect(run.stdout).toContain('--users <n>');
  });

  it('refuses a bad option value with the demo’s message and exit 2, starting nothing', async () => {
    const run = await runCli(['demo', '--', '--users', 'lots'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--users needs a positive integer, got "lots"');
  });
});
