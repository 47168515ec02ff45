import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { isCleaveError, parsePlan, type MigrationPhase } from '@cleave/core';
import { ControlStore, type MigrationRecord } from '@cleave/control';
import { controlDatabase, createSampleAccounts, hexRows, seedSampleAccounts, useTestDatabases } from '@cleave/testing';
import { verifyMigration } from '../src/index.js';
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
