import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const COORDINATOR_MAIN = fileURLToPath(new URL('../../../coordinator/src/main.ts', import.meta.url));

/** `cleave coordinator` runs the coordinator app in a child process, forwarding signals; resolves with its exit code. */
export async function runCoordinatorProcess(opts: { config?: string }): Promise<number> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, COORDINATOR_MAIN, ...(opts.config ? ['--config', opts.config] : [])], { stdio: 'inherit', env: process.env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
