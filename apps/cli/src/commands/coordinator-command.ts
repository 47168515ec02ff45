import { workspacePath } from '../workspace-path.js';
import { runTypeScriptChild } from './node-child.js';

/** `cleave coordinator` runs the coordinator app in a child process, forwarding signals; resolves with its exit code. */
export function runCoordinatorProcess(opts: { config?: string }): Promise<number> {
  return runTypeScriptChild(workspacePath('apps/coordinator/src/main.ts'), opts.config ? ['--config', opts.config] : []);
}
