import { CleaveError } from '@cleave/core';
import { Redis } from 'ioredis';
import { redisConnectionFromUrl } from '@cleave/jobs';
import type { ServerPool } from '@cleave/mysql';

const REACH_TIMEOUT_MS = 5_000;

/** `host:port` of a Redis URL (never its password). */
function redisAddress(url: string): string {
  const c = redisConnectionFromUrl(url);
  return `${c.host}:${c.port}${c.db === undefined ? '' : `/${c.db}`}`;
}

/**
 * Connects to Redis once and pings it, within a deadline. Commands that queue jobs call it before
 * they change anything: BullMQ's connection retries forever, so an unreachable Redis would
 * otherwise leave a command hung half-way.
 */
export async function requireRedis(url: string): Promise<void> {
  const c = redisConnectionFromUrl(url);
  const redis = new Redis({ ...c, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: REACH_TIMEOUT_MS, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined); // reported by the rejected connect/ping below
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new CleaveError('CONNECTION_FAILED', `cannot reach Redis at ${redisAddress(url)}: ${(error as Error).message}`, {
      cause: error,
      hint: 'Start Redis or fix CLEAVE_REDIS_URL (cleave.config.json "redis"); nothing was changed.',
    });
  } finally {
    redis.disconnect();
  }
}

/** Runs `SELECT 1` on each named server, naming the first that cannot be reached. */
export async function requireServers(servers: ReadonlyArray<{ readonly name: string; readonly pool: ServerPool }>): Promise<void> {
  for (const { name, pool } of servers) {
    try {
      await pool.promise.query({ sql: 'SELECT 1', timeout: REACH_TIMEOUT_MS });
    } catch (error) {
      throw new CleaveError('CONNECTION_FAILED', `cannot reach server ${name} (${pool.serverKey}): ${(error as Error).message}`, {
        cause: error,
        hint: `Check that server ${name} is up and that its URL (CLEAVE_SERVER_${name.toUpperCase()} or cleave.config.json) and credentials are right; nothing was changed.`,
      });
    }
  }
}
