import { workspacePath } from '../workspace-path.js';
import { runTypeScriptChild } from './node-child.js';

/** `cleave demo [-- options]`: the one-command demo (`npm run demo`), options passed through. */
export function runDemoProcess(passThrough: readonly string[]): Promise<number> {
  return runTypeScriptChild(workspacePath('tools/demo/demo.ts'), passThrough);
}
