import { CleaveError } from '@cleave/core';

/** BullMQ/ioredis connection options. `maxRetriesPerRequest: null` is what BullMQ workers need. */
export interface RedisConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly maxRetriesPerRequest: null;
}

/** Connection options from a `redis://[user:pass@]host[:port][/db]` URL. */
export function redisConnectionFromUrl(url: string): RedisConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CleaveError('CONFIG_INVALID', 'the Redis URL is not a URL', { hint: 'Set CLEAVE_REDIS_URL=redis://host:6379' });
  }
  if (parsed.protocol !== 'redis:') {
    throw new CleaveError('CONFIG_INVALID', `the Redis URL must start with redis:// (got ${parsed.protocol}//…)`, { hint: 'Set CLEAVE_REDIS_URL=redis://host:6379' });
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) {
    throw new CleaveError('CONFIG_INVALID', `the Redis URL's database "${parsed.pathname.slice(1)}" is not a number`, { hint: 'Use redis://host:6379/0' });
  }
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    maxRetriesPerRequest: null,
  };
}
