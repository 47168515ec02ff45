import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { CLEAVE_ACCOUNT_GRANTS, grantOn, isCleaveError, parsePlan, type Plan } from '@cleave/core';
import { readCatalog, requireAccountGrants } from '@cleave/mysql';
import { cleaveEnv, controlDatabase, createSampleAccounts, createTestAccount, useTestDatabases, type TestAccount } from '@cleave/testing';
import { cleave } from './e2e-helpers.js';

/**
 * Every grant of cleave's account (docs/production.md), taken away one at a time: `cleave start`'s
 * privilege check refuses with the one GRANT statement that gives it back (each row in-process;
 * one row through the real CLI: exit 3, nothing changed). With every grant, the whole migration
 * runs (least-privilege.test.ts).
 */
describe("cleave's account without one of its grants (real CLI, MariaDB)", () => {
  const dbs = useTestDatabases('lp missing');
  const accounts: TestAccount[] = [];
  const connections: mysql.Connection[] = [];
  let planFile = '';
  let plan: Plan;

  // Each privilege of each grant, taken away on a server that needs it: the moved database's on
  // the source or target1, the binlog's on the source (capture) and target1 (reverse capture),
  // SLAVE MONITOR on target1 (target-lag-ok), the control database's on the source.
  const rows = CLEAVE_ACCOUNT_GRANTS.flatMap((grant) =>
    grant.privileges.map((privilege, i) => ({
      privilege,
      on: grant.on,
      server: grant.on === 'control' || (grant.on === 'global' && grant.servers === 'all' && i === 0) || (grant.on === 'database' && i % 2 === 0) ? ('source' as const) : ('target1' as const),
    })),
  );

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-lp-missing-'));
    planFile = path.join(dir, 'plan.json');
    plan = parsePlan({ version: 1, name: 'lp-missing', source: { server: 'source', database: dbs().name }, targets: { sessions: { server: 'target1', database: dbs().name } }, moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }] });
    writeFileSync(planFile, JSON.stringify(plan));
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
    for (const account of accounts) await account.drop();
  });

  /** A fresh account with every grant of cleave's but `privilege` on `server`, and the GRANT that gives it back. */
  async function accountWithout(row: (typeof rows)[number]): Promise<{ account: TestAccount; grant: string }> {
    const account = await createTestAccount(dbs(), 'cleave', ['source', 'target1']);
    accounts.push(account);
    const database = row.on === 'control' ? controlDatabase(dbs()) : dbs().name;
    const scope = grantOn(row.on, { database, control: database });
    await (await dbs().admin(row.server)).query(`REVOKE ${row.privilege} ON ${scope} FROM ?@?`, [account.user, '%']);
    return { account, grant: `server ${row.server}: GRANT ${row.privilege} ON ${scope} TO '${account.user}'@'%';` };
  }

  it.each(rows)('without $privilege on $server: the check names exactly that grant', async (row) => {
    const { account, grant } = await accountWithout(row);
    const as = async (server: 'source' | 'target1') => {
      const conn = await mysql.createConnection(account.url(server, ''));
      connections.push(conn);
      return conn;
    };
    const servers = { source: await as('source'), target1: await as('target1') };
    const refusal = await requireAccountGrants(plan, { server: 'source', database: controlDatabase(dbs()) }, (s) => servers[s as keyof typeof servers], { capture: true }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isCleaveError(refusal, 'PRECONDITION_FAILED'), `without ${row.privilege} on ${row.server}, the check passed or failed otherwise: ${String(refusal)}`).toBe(true);
    expect((refusal as Error).message.split('\n').slice(1).map((l) => l.trim())).toEqual([grant]);
  });

  it('cleave start without one grant: exit 3 naming it, nothing changed', { timeout: 60_000 }, async () => {
    const { account, grant } = await accountWithout(rows.find((r) => r.privilege === 'TRIGGER')!);
    const env = cleaveEnv(dbs(), { CLEAVE_SERVER_SOURCE: account.url('source', ''), CLEAVE_SERVER_TARGET1: account.url('target1', '') });
    delete env['CLEAVE_SERVER_TARGET2'];

    const run = await cleave(['start', planFile], env);

    expect(run.code, `cleave start without TRIGGER: exit ${run.code}\n${run.stdout}${run.stderr}`).toBe(3);
    expect(run.stderr).toContain(grant);
    expect(run.stderr).toContain('nothing was changed');
    // Refused before anything was created: no target table, no guard.
    const [tables] = (await (await dbs().admin('target1')).query('SHOW TABLES')) as unknown as [unknown[]];
    expect(tables).toEqual([]);
  });

  it("the planner's account without REFERENCES: reading the catalog refuses, naming the grant, rather than miss the foreign keys", async () => {
    const planner = await createTestAccount(dbs(), 'planner', ['source']);
    accounts.push(planner);
    const conn = await mysql.createConnection(planner.url('source'));
    connections.push(conn);
    const admin = await dbs().admin('source');
    const foreignKeys = (catalog: Awaited<ReturnType<typeof readCatalog>>) => catalog.tables.flatMap((t) => t.foreignKeys.map((k) => `${t.name}.${k.name}`)).sort();
    // With the planner's grants it sees what the admin account sees.
    expect(foreignKeys(await readCatalog(conn, dbs().name))).toEqual(foreignKeys(await readCatalog(admin, dbs().name)));
    await admin.query(`REVOKE REFERENCES ON \`${dbs().name}\`.* FROM ?@?`, [planner.user, '%']);
    // A new session: a database privilege changes for a session at its next USE.
    const without = await mysql.createConnection(planner.url('source'));
    connections.push(without);
    const refusal = await readCatalog(without, dbs().name).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isCleaveError(refusal, 'CATALOG_READ_FAILED'), `without REFERENCES the catalog read passed or failed otherwise: ${String(refusal)}`).toBe(true);
    expect((refusal as { hint: string }).hint).toContain(`GRANT REFERENCES ON \`${dbs().name}\`.* TO '${planner.user}'@'%';`);
  });

  it("the planner's account without SELECT on performance_schema: cleave plan names the grant", { timeout: 60_000 }, async () => {
    const planner = await createTestAccount(dbs(), 'planner', ['source']);
    accounts.push(planner);
    await (await dbs().admin('source')).query('REVOKE SELECT ON performance_schema.* FROM ?@?', [planner.user, '%']);
    const env = cleaveEnv(dbs(), { CLEAVE_SERVER_SOURCE: planner.url('source', '') });
    const out = path.join(path.dirname(planFile), 'planned.json');

    const run = await cleave(['plan', '-d', dbs().name, '--move', 'sessions', '--to', 'target1', '--workload', 'performance_schema', '-o', out], env);

    expect(run.code, `cleave plan without SELECT on performance_schema: exit ${run.code}\n${run.stdout}${run.stderr}`).toBe(3);
    expect(run.stderr).toContain('GRANT SELECT ON performance_schema.*');
  });
});
