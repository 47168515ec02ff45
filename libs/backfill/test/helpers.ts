import mysql from 'mysql2/promise';
import type { TestDatabases } from '@cleave/testing';

/** A plain mysql2 pool on one of the test servers, with cleave's session settings. */
export function testPool(dbs: TestDatabases, server: 'source' | 'target1' | 'target2', connectionLimit = 4): mysql.Pool {
  const e = dbs[server].endpoint;
  return mysql.createPool({
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    database: dbs[server].database,
    connectionLimit,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
