/**
 * `npm test` after services:up: every project's lint, typecheck, build and test through nx, then,
 * when anything failed, a summary of the failed tests with their first error lines. nx streams the
 * projects' output interleaved, so without it the cause of a red run can be thousands of lines up
 * (or cut off by a log viewer that keeps only the tail).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { TEST_RESULTS_DIR, summariseFailures } from '@cleave/testing';

const TARGETS = ['lint', 'typecheck', 'build', 'test'];

rmSync(TEST_RESULTS_DIR, { recursive: true, force: true });
const nx = spawn('npx', ['nx', 'run-many', '-t', ...TARGETS, '--outputStyle=stream', ...process.argv.slice(2)], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => nx.kill(signal));
nx.on('exit', (code, signal) => {
  const exitCode = code ?? (signal ? 1 : 0);
  if (exitCode !== 0) process.stdout.write(summariseFailures(TEST_RESULTS_DIR));
  process.exit(exitCode);
});
