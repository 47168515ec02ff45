import type { TestDatabases } from './test-databases.js';

const serverUrl = (url: string) => url.replace(/\/[^/]*$/, '');

/**
 * The environment that points cleave's CLI and worker processes at one test's servers
 * (`source`, `target1`, `target2`), Redis, a private control database and private queues.
 */
export function cleaveEnv(dbs: TestDatabases, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CLEAVE_SERVER_')) env[k] = v;
  return {
    ...env,
    CLEAVE_SERVER_SOURCE: serverUrl(dbs.source.url),
    CLEAVE_SERVER_TARGET1: serverUrl(dbs.target1.url),
    CLEAVE_SERVER_TARGET2: serverUrl(dbs.target2.url),
    CLEAVE_REDIS_URL: dbs.redis.url,
    CLEAVE_CONTROL_DATABASE: controlDatabase(dbs),
    CLEAVE_QUEUE_PREFIX: dbs.queuePrefix,
    ...extra,
  };
}

/** The control database `cleaveEnv` names (drop it in afterAll). */
export const controlDatabase = (dbs: TestDatabases) => `${dbs.name}_control`;
