import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sh } from './shell.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}apps/cli/bin/cleave.js`;
const WORKER = `${ROOT}apps/worker/src/main.ts`;

/** Runs `cleave <args> --json` and parses its output. */
export async function cleaveJson<T>(args: readonly string[], env: Record<string, string>): Promise<T> {
  const r = await sh([process.execPath, CLI, ...args.map((a) => `'${a}'`), '--json'].join(' '), env);
  if (r.code !== 0 && r.code !== 1) throw new Error(`cleave ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/** Starts a worker process (the real app) and resolves once it logged "worker ready". */
export async function startWorker(env: Record<string, string>, args: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, '--port', '0', ...args], { env: { ...process.env, ...env }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"worker ready"')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${out.slice(-1000)}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
