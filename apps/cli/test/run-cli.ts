import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestDatabases } from '@cleave/testing';

const BIN = fileURLToPath(new URL('../bin/cleave.js', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment that points the CLI at a test's servers, control database and queues. */
export function cliEnv(dbs: TestDatabases, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CLEAVE_SERVER_')) env[k] = v;
  return {
    ...env,
    CLEAVE_SERVER_SOURCE: dbs.source.url.replace(/\/[^/]*$/, ''),
    CLEAVE_SERVER_TARGET1: dbs.target1.url.replace(/\/[^/]*$/, ''),
    CLEAVE_SERVER_TARGET2: dbs.target2.url.replace(/\/[^/]*$/, ''),
    CLEAVE_REDIS_URL: dbs.redis.url,
    CLEAVE_CONTROL_DATABASE: `${dbs.name}_control`,
    CLEAVE_QUEUE_PREFIX: dbs.queuePrefix,
    ...extra,
  };
}

/** Runs `cleave …` as a real process. */
export function runCli(args: readonly string[], env: Record<string, string>, cwd?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
