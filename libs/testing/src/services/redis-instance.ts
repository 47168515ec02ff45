import { execFile } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { ServiceBinaries } from './binaries.js';
import type { InstanceState } from './mariadb-instance.js';
import type { ServicesConfig } from './services-config.js';
import { ServicesError } from './services-error.js';
import { isAlive, portOpen, readPid, stopProcess, waitFor } from './process-utils.js';

const execFileAsync = promisify(execFile);

const pidFile = (config: ServicesConfig) => path.join(config.redis.dir, 'redis.pid');
const logFile = (config: ServicesConfig) => path.join(config.redis.dir, 'redis.log');

/** Whether the Redis of `config` answers a PING now (one connection, no retries). */
export async function answersPing(config: ServicesConfig): Promise<boolean> {
  const client = new Redis({ host: config.host, port: config.redis.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Starts (or reuses) the private redis-server. BullMQ needs `noeviction`. */
export async function startRedis(binaries: ServiceBinaries, config: ServicesConfig): Promise<InstanceState> {
  const pid = readPid(pidFile(config));
  if (pid && isAlive(pid) && (await answersPing(config))) return 'reused';
  if (await portOpen(config.host, config.redis.port)) {
    if (await answersPing(config)) return 'external';
    throw new ServicesError(
      'SERVICES_PORT_TAKEN',
      `port ${config.redis.port} (cleave's Redis) is in use by a program that does not answer PING: stop it or set CLEAVE_REDIS_PORT`,
    );
  }
  mkdirSync(config.redis.dir, { recursive: true });
  try {
    await execFileAsync(binaries.redisServer, [
      '--port', String(config.redis.port),
      '--bind', config.host,
      '--daemonize', 'yes',
      '--pidfile', pidFile(config),
      '--logfile', logFile(config),
      '--dir', config.redis.dir,
      '--save', '',
      '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction',
    ]);
  } catch (error) {
    throw new ServicesError('SERVICES_START_FAILED', `redis-server failed to start on port ${config.redis.port}`, { cause: error });
  }
  if (!(await waitFor(() => answersPing(config), 10_000))) {
    const log = existsSync(logFile(config)) ? readFileSync(logFile(config), 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    throw new ServicesError('SERVICES_START_FAILED', `redis-server did not answer on port ${config.redis.port}; its log ends with:\n${log}`);
  }
  return 'started';
}

export async function stopRedis(config: ServicesConfig): Promise<boolean> {
  const pid = readPid(pidFile(config));
  if (!pid || !isAlive(pid)) return false;
  await stopProcess(pid, 10_000);
  return true;
}

export function redisPid(config: ServicesConfig): number | null {
  const pid = readPid(pidFile(config));
  return pid && isAlive(pid) ? pid : null;
}
