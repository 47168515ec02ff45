import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import mysql from 'mysql2/promise';
import { SOURCE_CONDITION_FLAG, WORKER_NODE_FLAGS } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { controlDatabase, spawnUntilReady, type ReadyProcess, type TestDatabases } from '@cleave/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}apps/cli/bin/cleave.js`;
const WORKER = `${ROOT}apps/worker/src/main.ts`;
const TSX = createRequire(import.meta.url).resolve('tsx');

/** Runs the real CLI; resolves with its exit code and output. */
export function cleave(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000, maxBuffer: 10 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The pacing these tests were written with (a rest as long as each chunk, throttle checks every
 * 250 ms, normal CPU priority): they test what the worker does, not how gently; the protective
 * defaults (slower by design) are measured by `npm run bench:backfill`. A test's env or args win.
 */
const TEST_PACING = { CLEAVE_NICE_RATIO: '1', CLEAVE_THROTTLE_INTERVAL_MS: '250', CLEAVE_WORKER_NICE: '0' };

/** Starts a real worker process and waits for its "worker ready" log line. */
export function startWorker(env: Record<string, string>, args: readonly string[]): Promise<ReadyProcess> {
  return spawnUntilReady(process.execPath, [...WORKER_NODE_FLAGS, SOURCE_CONDITION_FLAG, '--import', TSX, WORKER, '--port', '0', ...args], {
    env: { ...TEST_PACING, ...env },
    cwd: ROOT,
    ready: (out) => out.includes('"worker ready"'),
    timeoutMs: 60_000,
  });
}

/** The worker's health port, from its "worker ready" log line. */
export function healthPort(worker: ReadyProcess): number {
  const line = worker.output().split('\n').find((l) => l.includes('"worker ready"'))!;
  return (JSON.parse(line) as { port: number }).port;
}

/** A control store on the test's control database, for assertions. */
export async function openStore(dbs: TestDatabases): Promise<{ store: ControlStore; close(): Promise<void> }> {
  const e = dbs.source.endpoint;
  const pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2, timezone: 'Z' });
  return { store: await ControlStore.open({ pool, database: controlDatabase(dbs) }), close: () => pool.end() };
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
