import { WORKER_NODE_FLAGS } from '@cleave/core';
import { workspacePath } from '../workspace-path.js';
import { runTypeScriptChild } from './node-child.js';

/**
 * `cleave worker` runs the worker app in a child process (apps do not import each other), with
 * the same environment and signals forwarded, and returns its exit code. Worker options after
 * `--` pass through (see `cleave worker -- --help`).
 */
export function runWorkerProcess(opts: { config?: string; port: string; passThrough: readonly string[] }): Promise<number> {
  return runTypeScriptChild(workspacePath('apps/worker/src/main.ts'), ['--port', opts.port, ...(opts.config ? ['--config', opts.config] : []), ...opts.passThrough], WORKER_NODE_FLAGS);
}
