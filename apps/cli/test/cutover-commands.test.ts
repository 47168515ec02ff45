import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parsePlan } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { cleaveEnv, controlDatabase, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

describe('cleave cutover / rollback / finalize (real processes, real servers, no routers)', () => {
  const dbs = useTestDatabases('cli cutover');
  let pool: mysql.Pool;
  let store: ControlStore;
  let id = '';
  const env = () => cleaveEnv(dbs(), { CLEAVE_COORDINATOR_LEASE_MS: '1000' });
  const cli = async (...args: string[]) => {
    const r = await runCli(args, env());
    return { ...r, stdout: r.stdout.replaceAll(id, '<id>').replaceAll(dbs().name, '<db>') };
  };

  beforeAll(async () => {
    // Both sides have the tables, as `cleave start` leaves them (the switches guard both).
    for (const server of ['source', 'target1'] as const) await createSampleAccounts(await dbs().admin(server));
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: controlDatabase(dbs()) });
    const plan = parsePlan({
      version: 1,
      name: 'split-keys',
      source: { server: 'source', database: dbs().name },
      targets: { keys: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['user_keys', 'sessions'], to: 'keys' }],
    });
    id = (await store.createMigration(plan, { actor: 'test' })).id;
    await store.changePhase(id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('a dry run of a refused change prints the failing checks and exits 3; nothing is recorded', async () => {
    const run = await cli('cutover', 'split-keys', '--dry-run');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatchSnapshot();
    expect((await store.events(id)).map((e) => e.kind)).toEqual(['created', 'phase_change']);
  });

  it('a live refused change names the failing checks, exits 3 and records a refused event', async () => {
    const run = await cli('cutover', 'split-keys', '--to', 'verified');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('cannot go from dual_write to verified: precondition failed: all-routers-acked (no router is registered and the migration runs without binlog capture');
    expect(run.stderr).toContain('backfill-complete (no backfill is registered for this migration)');
    expect((await store.events(id)).at(-1)?.kind).toBe('refused');
  });

  it('walks to writes_switched; the dry run of the switch and of finalize are deterministic (snapshot); finalize needs --approve', async () => {
    for (const t of ['sessions', 'user_keys']) {
      await store.registerBackfillTable(id, t, 'keys', 1);
      await store.setBackfillTableState(id, t, 'copied');
    }
    const run = await store.startVerificationRun(id);
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: true });
    // No router and no capture (created in the store directly): the operator accepts it explicitly.
    expect((await cli('cutover', 'split-keys', '--accept-uncaptured-writes')).stdout).toContain('migration split-keys: dual_write -> verified (epoch 3)');
    await store.changePhase(id, { from: 'verified', to: 'reads_switched' }, { actor: 'test' }); // (shown above: the CLI path)
    const dry = await cli('cutover', 'split-keys', '--dry-run', '--accept-uncaptured-writes');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatchSnapshot();
    const switched = await cli('cutover', 'split-keys', '--json', '--accept-uncaptured-writes');
    expect(JSON.parse(switched.stdout)).toMatchObject({ outcome: 'done', to: 'writes_switched', epoch: 5 });
    const back = await cli('rollback', 'split-keys');
    expect(back.stdout).toContain('migration split-keys: writes_switched -> reads_switched (epoch 6)');
    await store.changePhase(id, { from: 'reads_switched', to: 'writes_switched' }, { actor: 'test' });
    // Finalize needs a clean verification from after the primary last moved.
    const after = await store.startVerificationRun(id);
    await store.finishVerificationRun(after, { passes: 1, chunks: 1, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: true });

    const finalizeDry = await cli('finalize', 'split-keys', '--dry-run', '--accept-uncaptured-writes');
    expect(finalizeDry.stdout).toMatchSnapshot();
    const refused = await cli('finalize', 'split-keys', '--accept-uncaptured-writes');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('finalize is IRREVERSIBLE');
    expect(refused.stderr).toContain('cleave finalize split-keys --approve');
    // (the live rollback refusal from finalized is covered in libs/cutover)
    const final = await cli('finalize', 'split-keys', '--approve', '--accept-uncaptured-writes');
    expect(final.code).toBe(0);
    expect(final.stdout).toContain("archived <db>.sessions as <db>._cleave_archived_split-keys_sessions (not dropped)");
  });
});
