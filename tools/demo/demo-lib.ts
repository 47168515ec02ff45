// Small helpers of the demo: argument parsing, timed log lines, the real CLI, child processes.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { SOURCE_CONDITION_FLAG, WORKER_NODE_FLAGS } from '@cleave/core';
import { spawnUntilReady, type ReadyProcess } from '@cleave/testing';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = `${ROOT}apps/cli/bin/cleave.js`;
export const WORKER = `${ROOT}apps/worker/src/main.ts`;
export const COORDINATOR = `${ROOT}apps/coordinator/src/main.ts`;
export const SERVICE = fileURLToPath(new URL('./account-service.ts', import.meta.url));
export const TSX = createRequire(import.meta.url).resolve('tsx');

export interface DemoArgs {
  readonly users: number;
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  /** After the summary, keep the worker (and its dashboard) running until Ctrl-C. */
  readonly keepRunning: boolean;
}

const positiveInteger = (flag: string) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} needs a positive integer, got "${raw}"`);
  return n;
};

/** `npm run demo -- [--users N] [--writes N] [--reads N] [--keep-running]` (commander: --help, errors). */
export function parseArgs(argv: readonly string[]): DemoArgs {
  const options = new Command('npm run demo --')
    .description('cleave end to end on this machine: seed, route a live service, backfill, verify, switch, finalize, check every write')
    .option('--users <n>', 'sample users to seed (with their addresses, aliases, sessions)', positiveInteger('--users'), 200_000)
    .option('--writes <n>', "the account service's writes per second", positiveInteger('--writes'), 100)
    .option('--reads <n>', "the account service's reads per second", positiveInteger('--reads'), 200)
    .option('--keep-running', 'after the summary, keep the worker and its dashboard up until Ctrl-C', false)
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .parse([...argv], { from: 'user' })
    .opts<{ users: number; writes: number; reads: number; keepRunning: boolean }>();
  return { users: options.users, writesPerSecond: options.writes, readsPerSecond: options.reads, keepRunning: options.keepRunning };
}

const startedAt = Date.now();
export const elapsed = () => (Date.now() - startedAt) / 1000;
/** A progress line with the time since the demo started. */
export const log = (line: string) => console.log(`[${elapsed().toFixed(1).padStart(6)}s] ${line}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmtMs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
export const fmtInt = (n: number) => n.toLocaleString('en-US');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the real `cleave` CLI. */
export function cleave(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd: ROOT, timeout: 180_000, maxBuffer: 20 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, ms: Date.now() - t0 }),
    );
  });
}

/** The JSON a `--json` CLI run printed, or a clear error. */
export function cliJson<T>(what: string, run: CliRun): T {
  // `--json` output is one (pretty-printed) JSON document on stdout.
  const start = run.stdout.search(/^[{[]/m);
  if (start === -1) throw new Error(`${what} printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  try {
    return JSON.parse(run.stdout.slice(start)) as T;
  } catch (error) {
    throw new Error(`${what} printed unreadable JSON (${(error as Error).message}, exit ${run.code}):\n${run.stdout.slice(0, 2000)}\n${run.stderr}`);
  }
}

/** The child processes the demo started; all get SIGTERM on exit, also on failure. */
export class Children {
  readonly #procs: { name: string; proc: ReadyProcess }[] = [];

  add(name: string, proc: ReadyProcess): ReadyProcess {
    this.#procs.push({ name, proc });
    return proc;
  }

  async stopAll(): Promise<void> {
    const procs = this.#procs.splice(0).reverse();
    await Promise.all(
      procs.map(async ({ name, proc }) => {
        const timer = setTimeout(() => {
          log(`${name} did not stop within 15 s: SIGKILL`);
          proc.child.kill('SIGKILL');
        }, 15_000);
        await proc.stop('SIGTERM');
        clearTimeout(timer);
      }),
    );
  }
}

/** Starts a real worker process with the demo's fast settings; resolves once it logged "worker ready". */
export async function startWorker(env: Record<string, string>, args: readonly string[]): Promise<{ proc: ReadyProcess; port: number }> {
  const proc = await spawnUntilReady(process.execPath, [...WORKER_NODE_FLAGS, SOURCE_CONDITION_FLAG, '--import', TSX, WORKER, '--port', '0', ...args], {
    env,
    cwd: ROOT,
    ready: (out) => out.includes('"worker ready"'),
    timeoutMs: 60_000,
  });
  const line = proc.output().split('\n').find((l) => l.includes('"worker ready"'))!;
  return { proc, port: (JSON.parse(line) as { port: number }).port };
}

/** The JSON lines a process printed so far. */
export function jsonLines<T>(proc: ReadyProcess): T[] {
  return proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}
