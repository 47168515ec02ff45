import { fileURLToPath } from 'node:url';
import { runTypeScriptChild } from './node-child.js';

const WORKER_MAIN = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));

/** A bounded heap keeps the worker's RSS flat (measured: ~170 MB instead of ~370 MB). */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=16'];

/**
 * `cleave worker` runs the worker app in a child process (apps do not import each other), with
 * the same environment and signals forwarded, and returns its exit code. Worker options after
 * `--` pass through (see `cleave worker -- --help`).
 */
export function runWorkerProcess(opts: { config?: string; port: string; passThrough: readonly string[] }): Promise<number> {
  return runTypeScriptChild(WORKER_MAIN, ['--port', opts.port, ...(opts.config ? ['--config', opts.config] : []), ...opts.passThrough], WORKER_NODE_FLAGS);
}
