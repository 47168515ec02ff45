import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SOURCE_CONDITION_FLAG } from '@cleave/core';
import { markedEnv, trackChild } from '@cleave/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const MAIN = { worker: `${ROOT}apps/worker/src/main.ts`, coordinator: `${ROOT}apps/coordinator/src/main.ts` };

/** Runs a real worker or coordinator process to its exit (none of these cases reaches a server). */
function run(app: keyof typeof MAIN, args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // No CLEAVE_* settings of the caller's shell: each case sets only its own (the run's marker is added back).
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CLEAVE_'))) as Record<string, string>;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, MAIN[app], ...args], { cwd: ROOT, env: markedEnv({ ...base, ...env }), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    trackChild(child);
  });
}

describe('worker and coordinator start-up: help and configuration errors are for a person', () => {
  // Each case is one process start (a few seconds each on a busy machine).
  it('--help prints the options only and exits 0', { timeout: 120_000 }, async () => {
    const worker = await run('worker', ['--help']);
    expect(worker).toMatchObject({ code: 0, stderr: '' });
    expect(worker.stdout).toContain('Usage: cleave-worker');
    expect(worker.stdout).toContain('--concurrency <n>');
    expect(worker.stdout).toMatch(/\[env\s+CLEAVE_WORKER_CONCURRENCY\]/);
    expect(worker.stdout).not.toContain('"level"');
    const coordinator = await run('coordinator', ['--help']);
    expect(coordinator).toMatchObject({ code: 0, stderr: '' });
    expect(coordinator.stdout).toContain('Usage: cleave-coordinator');
  });

  it('a bad setting is one message naming it and the fix, exit 2, no log line', { timeout: 180_000 }, async () => {
    const cases: Array<[keyof typeof MAIN, string[], Record<string, string>, string]> = [
      ['worker', ['--concurrency', 'x'], {}, 'cleave worker: --concurrency (or CLEAVE_WORKER_CONCURRENCY) must be an integer >= 1, got "x"\nSee the worker\'s settings: cleave worker -- --help\n'],
      ['worker', [], { CLEAVE_LOG_FORMAT: 'xml' }, 'cleave worker: CLEAVE_LOG_FORMAT must be json or pretty, got "xml"; unset it to get pretty on a terminal and JSON otherwise\n'],
      ['coordinator', [], { CLEAVE_COORDINATOR_PORT: 'http' }, 'cleave coordinator: CLEAVE_COORDINATOR_PORT must be a port number from 0 to 65535 (0: any free port), got "http"\n'],
      ['coordinator', [], { CLEAVE_CUTOVER_SETTINGS: '{' }, 'cleave coordinator: CLEAVE_CUTOVER_SETTINGS is not valid JSON\n'],
    ];
    for (const [app, args, env, message] of cases) {
      const result = await run(app, args, env);
      expect({ app, env, ...result }).toEqual({ app, env, code: 2, stdout: '', stderr: message });
    }
    const missing = await run('worker', ['--config', '/nonexistent/cleave.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^cleave worker: config file \/nonexistent\/cleave\.json does not exist\nPass an existing file, or configure servers with CLEAVE_SERVER_<NAME> variables\.\n$/);
    const unknown = await run('worker', ['--bogus']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe("error: unknown option '--bogus'\n(cleave worker -- --help lists the options)\n");
  });
});
