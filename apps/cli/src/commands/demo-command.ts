import { fileURLToPath } from 'node:url';
import { runTypeScriptChild } from './node-child.js';

const DEMO_MAIN = fileURLToPath(new URL('../../../../tools/demo/demo.ts', import.meta.url));

/** `cleave demo [-- options]`: the one-command demo (`npm run demo`), options passed through. */
export function runDemoProcess(passThrough: readonly string[]): Promise<number> {
  return runTypeScriptChild(DEMO_MAIN, passThrough);
}
