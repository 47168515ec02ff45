import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parsePlan, isCleaveError, type Plan } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import { useTestDatabases } from '@cleave/testing';
import { ControlStore } from './control-store.js';
import { CONTROL_SCHEMA_VERSION } from './control-schema.js';
import { StaleCoordinatorError } from './stale-coordinator-error.js';

const plan = (name: string): Plan =>
  parsePlan({
    version: 1,
    name,
    source: { server: 'source', database: 'accounts' },
    targets: { mail: { server: 'target1', database: 'accounts' } },
    moves: [{ kind: 'tables', tables: ['email_aliases'], to: 'mail' }],
  });

/** The `migrations` table as control schema version 1 created it (no coordinator_token). */
const V1_MIGRATIONS = `CREATE TABLE migrations (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    plan LONGTEXT NOT NULL,
    phase VARCHAR(32) NOT NULL,
    epoch BIGINT UNSIGNED NOT NULL DEFAULT 1,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY uk_migrations_name (name)
  ) ENGINE=InnoDB`;

describe('ControlStore: coordinator fencing tokens', () => {
  const dbs = useTestDatabases('control fencing');
  let pool: mysql.Pool;
  let store: ControlStore;

  beforeAll(async () => {
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 4, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: dbs().name });
  });
  afterAll(async () => {
    await pool.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(`${dbs().name}_v1`)}`);
    await pool.end();
  });

  it('upgrades a control database created by schema version 1: the column is added, existing migrations keep working', async () => {
    const db = `${dbs().name}_v1`;
    await pool.query(`CREATE DATABASE ${quoteIdentifier(db)}`);
    await pool.query(V1_MIGRATIONS.replace('CREATE TABLE migrations', `CREATE TABLE ${quoteIdentifier(db)}.migrations`));
    await pool.query(`INSERT INTO ${quoteIdentifier(db)}.migrations (id, name, plan, phase, epoch, created_at, updated_at) VALUES ('old1', 'old', ?, 'dual_write', 2, NOW(6), NOW(6))`, [
      JSON.stringify(plan('old')),
    ]);
    const upgraded = await ControlStore.open({ pool, database: db });
    expect(await ControlStore.open({ pool, database: db })).toBeInstanceOf(ControlStore); // a second open is harmless
    expect(await upgraded.getMigration('old')).toMatchObject({ id: 'old1', phase: 'dual_write', epoch: 2 });
    expect(await upgraded.coordinatorToken('old1')).toBe(0);
    await upgraded.changePhase('old1', { from: 'dual_write', to: 'verified', expectedEpoch: 2, fence: { token: 3 } }, { actor: 'test' });
    expect(await upgraded.coordinatorToken('old1')).toBe(3);
    const [versions] = await pool.query(`SELECT version FROM ${quoteIdentifier(db)}.schema_version ORDER BY version`);
    expect((versions as Array<{ version: number }>).map((v) => v.version)).toContain(CONTROL_SCHEMA_VERSION);
  });

  it('refuses a phase change with a lower token than the stored one, writing nothing; a newer token goes through and is recorded', async () => {
    const m = await store.createMigration(plan('fenced'), { actor: 'test' });
    await store.claimCoordinator(m.id, { token: 5 });
    expect(await store.coordinatorToken(m.id)).toBe(5);
    const before = await store.events(m.id);

    const stale = await store
      .changePhase(m.id, { from: 'planned', to: 'dual_write', expectedEpoch: 1, fence: { token: 4 } }, { actor: 'coordinator-a' })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleCoordinatorError);
    expect(isCleaveError(stale, 'STALE_COORDINATOR')).toBe(true);
    expect((stale as Error).message).toBe(
      `another coordinator took over migration ${m.id}: this coordinator's fencing token 4 is lower than token 5 recorded in the control store, so its change was refused`,
    );
    expect(await store.getMigration(m.id)).toMatchObject({ phase: 'planned', epoch: 1 });
    expect(await store.events(m.id)).toEqual(before);
    expect(await store.coordinatorToken(m.id)).toBe(5);

    const after = await store.changePhase(m.id, { from: 'planned', to: 'dual_write', expectedEpoch: 1, fence: { token: 7 } }, { actor: 'coordinator-b' });
    expect(after).toMatchObject({ phase: 'dual_write', epoch: 2 });
    expect(await store.coordinatorToken(m.id)).toBe(7);
    // A stale token wins over a stale phase in the report: the caller learns why.
    await expect(store.changePhase(m.id, { from: 'planned', to: 'dual_write', fence: { token: 6 } }, { actor: 'a' })).rejects.toMatchObject({ code: 'STALE_COORDINATOR' });
    // A current token with a stale epoch is a plain conflict.
    await expect(store.changePhase(m.id, { from: 'dual_write', to: 'verified', expectedEpoch: 1, fence: { token: 7 } }, { actor: 'b' })).rejects.toMatchObject({ code: 'CONFLICT' });
    // Changes without a fence (start, tests) are unaffected.
    await store.changePhase(m.id, { from: 'dual_write', to: 'verified' }, { actor: 'cli' });
    expect(await store.coordinatorToken(m.id)).toBe(7);
  });

  it('fenced events are written only for a current token; claims never go backwards', async () => {
    const m = await store.createMigration(plan('fenced-events'), { actor: 'test' });
    await store.appendEvent(m.id, 'note', { actor: 'b' }, { step: 'b1' }, { token: 9 });
    const stale = await store.appendEvent(m.id, 'note', { actor: 'a' }, { step: 'a1' }, { token: 8 }).catch((e: unknown) => e);
    expect(isCleaveError(stale, 'STALE_COORDINATOR')).toBe(true);
    await store.appendEvent(m.id, 'note', { actor: 'b' }, { step: 'b2' }, { token: 9 });
    expect((await store.events(m.id)).map((e) => e.details?.['step'] ?? e.kind)).toEqual(['created', 'b1', 'b2']);
    await expect(store.claimCoordinator(m.id, { token: 2 })).rejects.toBeInstanceOf(StaleCoordinatorError);
    expect(await store.coordinatorToken(m.id)).toBe(9);
    await expect(store.claimCoordinator('no-such-migration', { token: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.appendEvent(m.id, 'note', { actor: 'x' }, {}, { token: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "a coordinator fencing token must be a positive integer, got 0; pass the token of the coordinator's lease",
    });
  });
});
