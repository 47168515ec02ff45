import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const run = promisify(execFile);
const CLI_ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(`${CLI_ROOT}package.json`, 'utf8')) as { version: string }).version;

describe('the built cleave command (dist/cleave.js)', () => {
  it('builds into one JavaScript file that runs on its own: --version, help, and an error with its documented exit code', { timeout: 120_000 }, async () => {
    await run(process.execPath, ['build.mjs'], { cwd: CLI_ROOT, timeout: 100_000 });
    const bundle = `${CLI_ROOT}dist/cleave.js`;
    expect((await run(process.execPath, [bundle, '--version'])).stdout.trim()).toBe(VERSION);
    expect((await run(process.execPath, [bundle, 'cutover', '--help'])).stdout).toContain('Usage: cleave cutover');
    // A bad plan file: the bundled libraries report it as the sources do (exit 2, the path named).
    const bad = await run(process.execPath, [bundle, 'start', '/nonexistent/plan.json']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot read plan file /nonexistent/plan.json: ENOENT');
    // The `cleave` bin runs it (fresh) and says the same.
    expect((await runCli(['--version'], { ...process.env } as Record<string, string>)).stdout.trim()).toBe(VERSION);
  });
});
