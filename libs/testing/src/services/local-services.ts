import { mkdirSync, openSync, closeSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureBinaries } from './binaries.js';
import { mariadbPid, startMariadb, stopMariadb, type InstanceState } from './mariadb-instance.js';
import { redisPid, startRedis, stopRedis } from './redis-instance.js';
import type { ServicesConfig } from './services-config.js';
import { ServicesError } from './services-error.js';
import { sleep } from './process-utils.js';

export interface ServiceReport {
  readonly name: string;
  readonly port: number;
  readonly state: InstanceState | 'stopped' | 'running' | 'not running';
  readonly pid: number | null;
}

type Log = (line: string) => void;

/** One `up` at a time across processes (nx runs several vitest processes at once). */
async function withLock<T>(config: ServicesConfig, fn: () => Promise<T>): Promise<T> {
  mkdirSync(config.rootDir, { recursive: true });
  const lock = path.join(config.rootDir, '.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than two minutes belongs to a process that died mid-start.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true });
      } catch {
        // removed meanwhile
      }
      if (Date.now() > deadline) throw new ServicesError('SERVICES_LOCKED', `another process holds ${lock}; remove it if no services:up is running`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Starts the three MariaDB instances and Redis, reusing any already running. Idempotent and
 * safe to call from several processes at once.
 */
export async function servicesUp(config: ServicesConfig, env: Record<string, string | undefined>, log: Log = () => undefined): Promise<ServiceReport[]> {
  const binaries = ensureBinaries(env, log);
  return withLock(config, async () => {
    const started = Date.now();
    const settled = await Promise.allSettled([
      ...config.mariadb.map(async (m) => ({ name: `mariadb ${m.name}`, port: m.port, state: await startMariadb(binaries, config, m), pid: mariadbPid(m) })),
      (async () => ({ name: 'redis', port: config.redis.port, state: await startRedis(binaries, config), pid: redisPid(config) }))(),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Leave nothing half-started: stop what this call started before reporting the failure.
      await Promise.all(
        settled.map(async (r, i) => {
          if (r.status !== 'fulfilled' || r.value.state !== 'started') return;
          const m = config.mariadb[i];
          if (m) await stopMariadb(m);
          else await stopRedis(config);
        }),
      );
      throw failed.reason;
    }
    const reports = settled.map((r) => (r as PromiseFulfilledResult<ServiceReport>).value);
    for (const r of reports) log(`${r.name.padEnd(16)} 127.0.0.1:${r.port}  ${r.state}${r.pid ? ` (pid ${r.pid})` : ''}`);
    log(`services ready in ${((Date.now() - started) / 1000).toFixed(1)} s (data in ${config.rootDir})`);
    return reports;
  });
}

/** Stops only what this tooling started (found by its own pid files). */
export async function servicesDown(config: ServicesConfig, log: Log = () => undefined): Promise<ServiceReport[]> {
  return withLock(config, async () => {
    const reports = await Promise.all([
      ...config.mariadb.map(async (m) => {
        const pid = mariadbPid(m);
        const stopped = await stopMariadb(m);
        return { name: `mariadb ${m.name}`, port: m.port, state: stopped ? ('stopped' as const) : ('not running' as const), pid };
      }),
      (async () => {
        const pid = redisPid(config);
        const stopped = await stopRedis(config);
        return { name: 'redis', port: config.redis.port, state: stopped ? ('stopped' as const) : ('not running' as const), pid };
      })(),
    ]);
    for (const r of reports) log(`${r.name.padEnd(16)} 127.0.0.1:${r.port}  ${r.state}`);
    return reports;
  });
}

export function servicesStatus(config: ServicesConfig): ServiceReport[] {
  return [
    ...config.mariadb.map((m) => {
      const pid = mariadbPid(m);
      return { name: `mariadb ${m.name}`, port: m.port, state: pid ? ('running' as const) : ('not running' as const), pid };
    }),
    (() => {
      const pid = redisPid(config);
      return { name: 'redis', port: config.redis.port, state: pid ? ('running' as const) : ('not running' as const), pid };
    })(),
  ];
}
