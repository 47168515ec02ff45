import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely } from 'kysely';
import { ControlStore } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { openCleaveDialect, type OpenedCleaveDialect, type RouterPool } from '@cleave/router';
import { cleaveEnv, controlDatabase, createSampleAccounts, createTestAccount, seedSampleAccounts, useTestDatabases, type ReadyProcess, type TestAccount } from '@cleave/testing';
import { cleave, startWorker, waitUntil } from './e2e-helpers.js';

interface DB {
  sessions: { id?: string; user_id: number; token_hash: Buffer; ip: Buffer; user_agent: string | null; created_at: string; expires_at: string };
}

/**
 * The grants docs/production.md lists, and nothing more: a whole migration (start with binlog
 * capture, backfill, verification, both switches, a verified repair, finalize) run by an account
 * that holds only cleave's grants, planned by one that holds only the planner's, while a service
 * whose account holds only a service's grants writes and reads through a router opened by
 * openCleaveDialect in every phase.
 */
describe("cleave's least-privilege account (real CLI and worker, MariaDB, Redis)", () => {
  const dbs = useTestDatabases('least priv');
  let account: TestAccount | undefined;
  let planner: TestAccount | undefined;
  let service: TestAccount | undefined;
  let router: OpenedCleaveDialect | undefined;
  const pools = new MysqlPools({ maxConnectionsPerServer: 10 });
  let worker: ReadyProcess | undefined;

  beforeAll(async () => {
    const source = await dbs().admin('source');
    await createSampleAccounts(source);
    await seedSampleAccounts(source, { users: 500, only: ['sessions'] });
    account = await createTestAccount(dbs(), 'cleave', ['source', 'target1']);
    planner = await createTestAccount(dbs(), 'planner', ['source']);
    service = await createTestAccount(dbs(), 'service', ['source', 'target1']);
  });
  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await router?.close().catch(() => undefined);
    await pools.end();
    for (const a of [account, planner, service]) await a?.drop();
  });

  /** The service's router, as docs/router.md builds it: its own pools and cleave's config, all as the service's account. */
  async function openServiceRouter(env: Record<string, string>): Promise<Kysely<DB>> {
    const servers: Record<string, RouterPool> = {};
    for (const server of ['source', 'target1'] as const) servers[server] = pools.pool(parseConnectionUrl(service!.url(server)), { connectionLimit: 2 }).callback as unknown as RouterPool;
    router = await openCleaveDialect({
      servers,
      journalPath: path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-lp-service-')), 'shadow.journal'),
      service: 'lp-service',
      env: { ...env, CLEAVE_SERVER_SOURCE: service!.url('source', ''), CLEAVE_SERVER_TARGET1: service!.url('target1', '') },
    });
    return new Kysely<DB>({ dialect: router.dialect });
  }

  /**
   * A write and a read through the service's router in this phase: an insert and an update it
   * acknowledges and reads back, on every side that keeps the table (the router writes the shadow
   * itself; a shadow write its account could not make would be recorded as a failure).
   */
  async function serviceRoundTrip(db: Kysely<DB>, store: ControlStore, migrationId: string, phase: string, sides: ReadonlyArray<'source' | 'target1'>): Promise<void> {
    const agent = `service in ${phase}`;
    const token = Buffer.alloc(32);
    token.write(phase);
    const inserted = await db.insertInto('sessions').values({ user_id: 1, token_hash: token, ip: Buffer.from([127, 0, 0, 1]), user_agent: agent, created_at: '2030-01-01 00:00:00', expires_at: '2030-02-01 00:00:00' }).executeTakeFirstOrThrow();
    await db.updateTable('sessions').set({ user_agent: agent }).where('id', '=', '5').execute();
    const read = await db.selectFrom('sessions').select(['id', 'user_agent']).where('id', 'in', [String(inserted.insertId), '5']).orderBy('id').execute();
    expect(read.map((r) => r.user_agent), `reads through the service's router in ${phase}`).toEqual([agent, agent]);
    // The shadow side is applied after the commit: wait for it (or for its failure to be recorded).
    const onSide = async (side: 'source' | 'target1') => {
      const [rows] = (await (await dbs().admin(side)).query('SELECT user_agent AS a FROM sessions WHERE id IN (?, 5)', [String(inserted.insertId)])) as unknown as [Array<{ a: string }>];
      return rows.map((r) => r.a);
    };
    await waitUntil(`the service's ${phase} writes on ${sides.join(' and ')}, or a shadow failure`, async () => {
      if (router!.dialect.router.status().pendingFailures > 0 || (await store.openShadowFailures(migrationId)).length > 0) return true;
      for (const side of sides) if ((await onSide(side)).join() !== `${agent},${agent}`) return false;
      return true;
    }, 10_000, 100);
    expect(await store.openShadowFailures(migrationId), `shadow writes the service's account could not make in ${phase}`).toEqual([]);
    expect(router!.dialect.router.status().pendingFailures, `shadow writes pending in ${phase}`).toBe(0);
    for (const side of sides) expect(await onSide(side), `${side} after the service's writes in ${phase}`).toEqual([agent, agent]);
  }

  it('runs a whole migration with only the documented grants', { timeout: 240_000 }, async () => {
    const env = cleaveEnv(dbs(), { CLEAVE_SERVER_SOURCE: account!.url('source', ''), CLEAVE_SERVER_TARGET1: account!.url('target1', '') });
    delete env['CLEAVE_SERVER_TARGET2'];
    const step = async (what: string, args: string[]) => {
      const run = await cleave(args, env);
      expect(run.code, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`).toBe(0);
      return run.stdout;
    };
    const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cleave-lp-')), 'plan.json');
    // The planner's read-only account, reading the workload from performance_schema as well.
    const plan = await cleave(['plan', '-d', dbs().name, '--name', 'lp', '--move', 'sessions', '--to', 'sessions=target1', '--workload', 'performance_schema', '-o', planFile], { ...env, CLEAVE_SERVER_SOURCE: planner!.url('source', '') });
    expect(plan.code, `cleave plan as the planner's account: exit ${plan.code}\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    await step('cleave start', ['start', planFile]);
    const store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url).withDatabase(undefined), { connectionLimit: 2 }).promise, database: controlDatabase(dbs()) });
    const id = (await store.listMigrations()).find((m) => m.name === 'lp')!.id;
    const db = await openServiceRouter(env);
    worker = await startWorker(env, ['--concurrency', '2']);
    const source = await dbs().admin('source');
    // A write outside cleave during the copy: the capture (reading the binlog as this account) carries it.
    await source.query("UPDATE sessions SET user_agent = 'during the copy' WHERE id = 3");
    await waitUntil('a clean verification run', async () => {
      const status = JSON.parse(await step('cleave status', ['status', 'lp', '--json'])) as { verification: Array<{ clean: boolean | null }> };
      return status.verification.some((r) => r.clean === true);
    }, 120_000, 1_000);
    await serviceRoundTrip(db, store, id, 'dual_write', ['source', 'target1']);
    await step('cutover to verified', ['cutover', 'lp']);
    await serviceRoundTrip(db, store, id, 'verified', ['source', 'target1']);
    await step('cutover to reads_switched', ['cutover', 'lp']);
    await serviceRoundTrip(db, store, id, 'reads_switched', ['source', 'target1']);
    await step('cutover to writes_switched', ['cutover', 'lp']);
    await serviceRoundTrip(db, store, id, 'writes_switched', ['target1', 'source']);
    // After the switch: a write on the new primary reaches the old side through the reverse capture.
    await (await dbs().admin('target1')).query("UPDATE sessions SET user_agent = 'after the switch' WHERE id = 4");
    await step('verify --repair', ['verify', 'lp', '--repair']);
    await step('finalize', ['finalize', 'lp', '--approve']);
    await serviceRoundTrip(db, store, id, 'finalized', ['target1']);
    const [[archived]] = (await source.query("SELECT user_agent AS a FROM `_cleave_archived_lp_sessions` WHERE id = 4")) as unknown as [[{ a: string }]];
    expect(archived.a).toBe('after the switch');
  });
});
