import { spawn, type ChildProcess } from 'node:child_process';
import { markedEnv, trackChild } from './test-processes.js';

export interface ReadyProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for the exit code (and the end of its output). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a real process and resolves once its output satisfies `ready` (e.g. a log line),
 * rejecting with its output if it exits first or the deadline passes.
 */
export async function spawnUntilReady(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; ready: (output: string) => boolean; timeoutMs?: number },
): Promise<ReadyProcess> {
  const child = spawn(command, [...args], { env: markedEnv(options.env ?? process.env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // Once its output is read to the end ('close'), so that output() after stop() holds the last
  // lines; 2 s after the exit at most (a grandchild may keep the pipes open).
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('exit', (code) => setTimeout(() => resolve(code), 2_000).unref());
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A process that never got ready is killed: the caller has no handle to stop it.
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready after ${options.timeoutMs ?? 30_000} ms:\n${out.slice(-2000)}`));
    }, options.timeoutMs ?? 30_000);
    const check = setInterval(() => {
      if (options.ready(out)) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
