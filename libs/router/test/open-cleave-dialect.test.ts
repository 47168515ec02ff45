import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely } from 'kysely';
import { MIGRATION_PHASES, isCleaveError, type Plan } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { cleaveEnv, controlDatabase, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { openCleaveDialect, type RouterPool } from '../src/index.js';

interface DB {
  users: { id?: string; email: string; display_name: string; password_hash: Buffer; created_at: string };
}

describe('openCleaveDialect: the router built from cleave config (real MariaDB + Redis)', () => {
  const dbs = useTestDatabases('ropen');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-open-'));
  let pools: MysqlPools;
  let store: ControlStore;
  let servers: Record<string, RouterPool>;

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(s));
    pools = new MysqlPools({ maxConnectionsPerServer: 20 });
    // The service's own data pools (their default database is the one the plan names).
    servers = {
      source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 4 }).callback as unknown as RouterPool,
      target1: pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 4 }).callback as unknown as RouterPool,
    };
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url).withDatabase(undefined), { connectionLimit: 2 }).promise, database: controlDatabase(dbs()) });
  });
  afterAll(async () => {
    await pools.end();
  });

  it('routes by the control store, fences on the config’s prefix and records a failed shadow write in the control store', async () => {
    const plan = {
      version: 1,
      name: 'open-users',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
    } as Plan;
    // As `cleave start` registers it: the prefix its fences go out on.
    let m = await store.createMigration(plan, { actor: 'test' }, { routingPrefix: `${dbs().queuePrefix}:` });
    m = await store.changePhase(m.id, { from: MIGRATION_PHASES[0]!, to: 'dual_write' }, { actor: 'test' });
    const opened = await openCleaveDialect({ servers, journalPath: path.join(dir, 'journal.jsonl'), service: 'open-test', env: cleaveEnv(dbs()) });
    const db = new Kysely<DB>({ dialect: opened.dialect });
    try {
      const user = (email: string) => ({ email, display_name: 'open', password_hash: Buffer.from('x'), created_at: '2024-01-01 00:00:00' });
      await db.insertInto('users').values(user('open-1@example.com')).execute();
      const [onTarget] = (await (await dbs().admin('target1')).query("SELECT email FROM users WHERE email = 'open-1@example.com'")) as unknown as [unknown[]];
      expect(onTarget).toHaveLength(1); // dual-written: it routed by the store's phase, and was not refused for its prefix
      // A shadow write that fails lands in the control store (the worker repairs from there).
      const target = await dbs().admin('target1');
      await target.query('RENAME TABLE users TO users_away');
      try {
        await db.insertInto('users').values(user('open-2@example.com')).execute();
      } finally {
        await target.query('RENAME TABLE users_away TO users');
      }
      expect((await store.openShadowFailures(m.id)).map((f) => f.table)).toEqual(['users']);
      expect(opened.dialect.router.status()).toMatchObject({ leaseValid: true, pendingFailures: 0 });
    } finally {
      await db.destroy();
      await opened.close();
    }
  });

  it('says which setting is missing when the config does not name the control server', async () => {
    const env = cleaveEnv(dbs(), { CLEAVE_CONTROL_SERVER: 'control-db' });
    const error = await openCleaveDialect({ servers, journalPath: path.join(dir, 'j2.jsonl'), env }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isCleaveError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('no server named "control-db" is configured');
  });
});
