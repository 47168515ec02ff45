import { fileURLToPath } from 'node:url';
import { runTypeScriptChild } from './node-child.js';

const COORDINATOR_MAIN = fileURLToPath(new URL('../../../coordinator/src/main.ts', import.meta.url));

/** `cleave coordinator` runs the coordinator app in a child process, forwarding signals; resolves with its exit code. */
export function runCoordinatorProcess(opts: { config?: string }): Promise<number> {
  return runTypeScriptChild(COORDINATOR_MAIN, opts.config ? ['--config', opts.config] : []);
}
