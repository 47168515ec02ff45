import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));

/** A bounded heap keeps the worker's RSS flat (measured: ~170 MB instead of ~370 MB). */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=4'];

/**
 * `cleave worker` runs the worker app in a child process (apps do not import each other), with
 * the same environment and signals forwarded, and returns its exit code. Worker options after
 * `--` pass through (see `cleave worker -- --help`).
 */
export async function runWorkerProcess(opts: { config?: string; port: string; passThrough: readonly string[] }): Promise<number> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const args = [...WORKER_NODE_FLAGS, '--import', tsx, WORKER_MAIN, '--port', opts.port, ...(opts.config ? ['--config', opts.config] : []), ...opts.passThrough];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: process.env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
