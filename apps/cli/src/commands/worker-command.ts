import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));

/**
 * `cleave worker` runs the worker app in a child process (apps do not import each other), with
 * the same environment and signals forwarded, and returns its exit code.
 */
export async function runWorkerProcess(opts: { config?: string; concurrency: string; port: string }): Promise<number> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const args = ['--import', tsx, WORKER_MAIN, '--concurrency', opts.concurrency, '--port', opts.port, ...(opts.config ? ['--config', opts.config] : [])];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: process.env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
