import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mariadbPid, type ServicesConfig } from '@cleave/testing';

export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a shell pipeline; secrets travel in `env` (e.g. MYSQL_PWD), never in the command line. */
export function sh(command: string, env: Record<string, string> = {}): Promise<ShellResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Peak resident set size of a process, sampled until stop() is called. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peakKb = 0;
  const timer = setInterval(() => {
    void import('node:fs').then(({ readFileSync }) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        if (kb > peakKb) peakKb = kb;
      } catch {
        // process gone
      }
    });
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peakKb / 1024;
    },
  };
}

/** User + system CPU seconds a process used so far (0 when it is gone). */
export function procCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Resident set size of a process now, MB (0 when it is gone). */
export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The pids of the local source and target1 mariadbd (0 for one not running), for {@link procCpuSeconds}. */
export function sourceAndTargetPids(config: ServicesConfig): number[] {
  return ['source', 'target1'].map((name) => mariadbPid(config.mariadb.find((m) => m.name === name)!) ?? 0);
}
