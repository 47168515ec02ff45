import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { isCleaveError, parsePlan, type MigrationPhase } from '@cleave/core';
import { ControlStore, encodeShadowKeys, type MigrationRecord } from '@cleave/control';
import { controlDatabase, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { repairShadowFailures, verifyMigration } from '../src/index.js';
import { watchPrimary } from '../src/primary-watch.js';

const FORWARD: readonly MigrationPhase[] = ['planned', 'dual_write', 'verified', 'reads_switched', 'writes_switched'];

describe('verifyMigration compares against the primary of the phase (real MariaDB)', () => {
  const dbs = useTestDatabases('verify migration');
  const pools: mysql.Pool[] = [];
  let store: ControlStore;
  const servers = (name: string) => {
    const e = dbs()[name as 'source' | 'target1'].endpoint;
    const pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 4, timezone: 'Z' });
    pools.push(pool);
    return pool;
  };
  let source: mysql.Pool;
  let target: mysql.Pool;

  beforeAll(async () => {
    for (const server of ['source', 'target1'] as const) {
      const admin = await dbs().admin(server);
      await createSampleAccounts(admin);
      await seedSampleAccounts(admin, { users: 300, only: ['sessions'] }); // deterministic: both sides equal
    }
    source = servers('source');
    target = servers('target1');
    store = await ControlStore.open({ pool: source, database: controlDatabase(dbs()) });
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  async function migrationAt(name: string, phase: MigrationPhase): Promise<MigrationRecord> {
    const plan = parsePlan({
      version: 1,
      name,
      source: { server: 'source', database: dbs().name },
      targets: { sessions: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['sessions'], to: 'sessions' }],
    });
    let m = await store.createMigration(plan, { actor: 'test' });
    for (let i = 1; i <= FORWARD.indexOf(phase); i++) m = await store.changePhase(m.id, { from: FORWARD[i - 1]!, to: FORWARD[i]! }, { actor: 'test' });
    return m;
  }

  it('in writes_switched it repairs the source from the target: the primary keeps its newer rows', async () => {
    const m = await migrationAt('after-writes-switch', 'writes_switched');
    const t = `\`${dbs().name}\`.sessions`;
    // Writes the new primary took that the old side has not received.
    await target.query(`UPDATE ${t} SET user_agent = 'newer on the primary' WHERE id = 5`);
    await target.query(`INSERT INTO ${t} (user_id, token_hash, ip, user_agent, created_at, expires_at) VALUES (1, UNHEX(SHA2('x', 256)), X'0A000001', 'only on the primary', NOW(6), NOW(6))`);
    await target.query(`DELETE FROM ${t} WHERE id = 7`);
    const before = await hexRows(target, dbs().name, 'sessions', 'id');

    const report = await verifyMigration({ migrationId: m.id, repair: true }, { store, servers, actor: 'test' });

    expect(report).toMatchObject({ clean: true, rowsRepaired: 3 });
    expect(await hexRows(target, dbs().name, 'sessions', 'id')).toEqual(before); // the primary untouched
    expect(await hexRows(source, dbs().name, 'sessions', 'id')).toEqual(before);
  });

  it('a failed shadow write routed under an earlier placement is never copied from the new primary; a clean verification pass closes it', async () => {
    const m = await migrationAt('stale-shadow-failure', 'writes_switched'); // primary: target1
    const t = `\`${dbs().name}\`.sessions`;
    const agentOf = async (pool: mysql.Pool, id: number) => ((await pool.query(`SELECT user_agent AS a FROM ${t} WHERE id = ?`, [id]))[0] as Array<{ a: string }>)[0]!.a;
    // Row 11: acknowledged on the source while it was the primary; its shadow write failed and the
    // record reached the store only after the switch. Row 12: a failure under the current placement.
    await source.query(`UPDATE ${t} SET user_agent = 'acked on the old primary' WHERE id = 11`);
    await target.query(`UPDATE ${t} SET user_agent = 'written on the primary' WHERE id = 12`);
    await store.recordShadowFailure(m.id, 'sessions', encodeShadowKeys([['11']]), 'shadow down', { guardEpoch: m.guardEpoch - 1 });
    await store.recordShadowFailure(m.id, 'sessions', encodeShadowKeys([['12']]), 'shadow down', { guardEpoch: m.guardEpoch });

    const first = await repairShadowFailures(m.id, { store, servers });
    expect(first).toMatchObject({ repaired: 1, stale: 1, failed: 0 });
    expect(first.errors.join('\n')).toContain(`routed under guard epoch ${m.guardEpoch - 1}, and the write primary has moved since`);
    expect(await agentOf(source, 11)).toBe('acked on the old primary'); // not overwritten
    expect(await agentOf(source, 12)).toBe('written on the primary'); // repaired from the primary
    expect((await store.openShadowFailures(m.id)).map((f) => f.guardEpoch)).toEqual([m.guardEpoch - 1]);

    // The operator accepts the primary's values: a clean pass after the record closes it.
    expect(await verifyMigration({ migrationId: m.id, repair: true }, { store, servers, actor: 'test' })).toMatchObject({ clean: true });
    expect(await repairShadowFailures(m.id, { store, servers })).toMatchObject({ repaired: 1, stale: 0 });
    expect(await store.openShadowFailures(m.id)).toEqual([]);
  });

  it('a switch that moves the primary stops a running verification, naming the switch', async () => {
    const m = await migrationAt('switched-under-it', 'reads_switched');
    const watch = watchPrimary(store, m.id, 'source', undefined);
    try {
      await store.changePhase(m.id, { from: 'reads_switched', to: 'writes_switched' }, { actor: 'test' });
      const deadline = Date.now() + 5_000;
      while (!watch.signal.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(watch.signal.aborted, 'the watch to see the writes switch within 5 s').toBe(true);
      const reason = watch.signal.reason as Error;
      expect(isCleaveError(reason, 'PRECONDITION_FAILED')).toBe(true);
      expect(reason.message).toContain('a switch moved the write primary of switched-under-it to the target (phase writes_switched');
    } finally {
      watch.stop();
    }
  });
});
