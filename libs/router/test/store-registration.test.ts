import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, sql } from 'kysely';
import { Redis } from 'ioredis';
import type { Plan } from '@cleave/core';
import { ControlStore, RoutingChannel } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { controlDatabase, createSampleAccounts, uniqueName, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, type RouterPool } from '../src/index.js';

describe('@cleave/router registers in the control store (real MariaDB + Redis)', () => {
  const dbs = useTestDatabases('rreg');
  let pools: MysqlPools;
  let store: ControlStore;
  let redis: Redis;

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 10 });
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    const plan = {
      version: 1,
      name: uniqueName('reg'),
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    await store.createMigration(plan, { actor: 'test' }, { routingPrefix: dbs().redisPrefix });
  });
  afterAll(async () => {
    redis.disconnect();
    await pools.end();
  });

  it('a router reading a ControlStore registers there with its channel prefix while it runs, and leaves at close', async () => {
    const channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
    const dialect = new CleaveDialect({
      servers: {
        source: pools.pool(parseConnectionUrl(dbs().source.url)).callback as unknown as RouterPool,
        target1: pools.pool(parseConnectionUrl(dbs().target1.url)).callback as unknown as RouterPool,
      },
      store,
      channel,
      service: 'accounts-api',
    });
    const db = new Kysely<Record<string, never>>({ dialect });
    try {
      await sql`SELECT 1`.execute(db); // the router starts with its first statement
      const live = await store.routers().live();
      expect(live.map((r) => ({ routerId: r.routerId, service: r.service, routingPrefix: r.routingPrefix, pid: r.pid }))).toEqual([
        { routerId: dialect.router.routerId, service: 'accounts-api', routingPrefix: dbs().redisPrefix, pid: process.pid },
      ]);
    } finally {
      await db.destroy();
      await channel.close();
    }
    expect(await store.routers().live()).toEqual([]);
  });
});
