import { fileURLToPath } from 'node:url';
import { WORKER_NODE_FLAGS } from '@cleave/core';
import { runTypeScriptChild } from './node-child.js';

const WORKER_MAIN = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));

/**
 * `cleave worker` runs the worker app in a child process (apps do not import each other), with
 * the same environment and signals forwarded, and returns its exit code. Worker options after
 * `--` pass through (see `cleave worker -- --help`).
 */
export function runWorkerProcess(opts: { config?: string; port: string; passThrough: readonly string[] }): Promise<number> {
  return runTypeScriptChild(WORKER_MAIN, ['--port', opts.port, ...(opts.config ? ['--config', opts.config] : []), ...opts.passThrough], WORKER_NODE_FLAGS);
}
