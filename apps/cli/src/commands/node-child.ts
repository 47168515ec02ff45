import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { SOURCE_CONDITION_FLAG } from '@cleave/core';

/**
 * Runs a TypeScript entry point of this repository (an app's main, the demo) in a child Node
 * process through tsx — apps do not import each other — with the same environment, stdio and
 * forwarded SIGTERM/SIGINT. Resolves with its exit code.
 */
export function runTypeScriptChild(script: string, args: readonly string[], nodeFlags: readonly string[] = []): Promise<number> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const child = spawn(process.execPath, [...nodeFlags, SOURCE_CONDITION_FLAG, '--import', tsx, script, ...args], { stdio: 'inherit', env: process.env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
