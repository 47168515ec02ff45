import { afterEach, describe, expect, it } from 'vitest';
import { Kysely } from 'kysely';
import type { Plan } from '@cleave/core';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, type RoutedMigration, type RouterPool } from '../src/index.js';
import { PoolWarmer } from '../src/pool-warmer.js';
import { acquire, type RouterPoolConnection } from '../src/router-pool.js';

/** mysql2's count of a pool's open connections (what the warmer reads too). */
const openConnections = (pool: RouterPool) => (pool as unknown as { _allConnections: { length: number } })._allConnections.length;

describe('@cleave/router opens connections of the servers a switch is about to use (real MariaDB)', () => {
  const dbs = useTestDatabases('rwarm');
  const pools: MysqlPools[] = [];
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.end();
  });
  /** A pool of its own (MysqlPools shares one pool per server and database). */
  const poolOf = (server: 'source' | 'target1', connectionLimit: number): RouterPool => {
    const own = new MysqlPools({ maxConnectionsPerServer: 40 });
    pools.push(own);
    return own.pool(parseConnectionUrl(dbs()[server].url), { connectionLimit }).callback as unknown as RouterPool;
  };

  it('opens up to 8 connections, leaves 2 of the limit to the service, and never waits for connections in use', async () => {
    const warmer = new PoolWarmer();
    const roomy = poolOf('target1', 20);
    warmer.warm(roomy);
    await warmer.idle();
    expect(openConnections(roomy)).toBe(8);

    const small = poolOf('target1', 4);
    warmer.warm(small);
    await warmer.idle();
    expect(openConnections(small)).toBe(2);

    // 7 of 10 held by the service: the warmer opens the one missing to 8 and does not queue for the held ones.
    const busy = poolOf('source', 10);
    const held: RouterPoolConnection[] = await Promise.all(Array.from({ length: 7 }, () => acquire(busy)));
    warmer.warm(busy);
    await warmer.idle();
    expect(openConnections(busy)).toBe(8);
    for (const connection of held) connection.release();

    // Warm already: nothing more is opened.
    warmer.warm(roomy);
    await warmer.idle();
    expect(openConnections(roomy)).toBe(8);
  });

  it('a router warms the pools of both sides of a migration it routes, before its first statement', async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    const servers = { source: poolOf('source', 10), target1: poolOf('target1', 10) };
    const plan = {
      version: 1,
      name: 'warm',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    // `verified`: nothing is read from or written to the target yet; the reads switch will send both there.
    const migration: RoutedMigration = { id: 'abcdefabcdef', name: 'warm', plan, phase: 'verified', epoch: 3, capture: true };
    const db = new Kysely<unknown>({ dialect: new CleaveDialect({ servers, store: { listMigrations: async () => [migration] }, journalPath: `/tmp/cleave-warm-${process.pid}.jsonl`, pollMs: 60_000 }) });
    try {
      await db.selectFrom('users' as never).selectAll().limit(1).execute(); // starts the router
      // 8 warmed; the catalog reads of the table's shape, run beside the warming, may open more.
      await expect.poll(() => openConnections(servers.target1), { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(8);
    } finally {
      await db.destroy();
    }
  });
});
