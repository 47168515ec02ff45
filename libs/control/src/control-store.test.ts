import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parsePlan, isCleaveError, type Plan } from '@cleave/core';
import { useTestDatabases } from '@cleave/testing';
import { ControlStore } from './control-store.js';

const plan = (name: string): Plan =>
  parsePlan({
    version: 1,
    name,
    source: { server: 'source', database: 'accounts' },
    targets: { mail: { server: 'target1', database: 'accounts' } },
    moves: [{ kind: 'tables', tables: ['email_aliases'], to: 'mail' }],
  });

describe('ControlStore', () => {
  const dbs = useTestDatabases('control');
  let pool: mysql.Pool;
  let store: ControlStore;

  beforeAll(async () => {
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 4, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: dbs().name });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('opening twice is harmless (idempotent schema)', async () => {
    await expect(ControlStore.open({ pool, database: dbs().name })).resolves.toBeInstanceOf(ControlStore);
  });

  it('registers routers with a heartbeat on the server clock: live while it beats, gone when it stops or deregisters', async () => {
    const registry = store.routers();
    await registry.heartbeat({ routerId: 'r-live', service: 'accounts', routingPrefix: 'cleave:', host: 'h1', pid: 11 });
    await registry.heartbeat({ routerId: 'r-quiet', service: 'billing', routingPrefix: null, host: 'h2', pid: 12 });
    await registry.heartbeat({ routerId: 'r-live', service: 'accounts', routingPrefix: 'cleave:', host: 'h1', pid: 11 }); // a second beat: still one row
    // r-quiet stopped beating a minute ago (its last heartbeat moved back, as time would).
    await pool.query(`UPDATE ${dbs().name}.routers SET heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 60 SECOND WHERE router_id = 'r-quiet'`);
    expect((await registry.live()).map((r) => [r.routerId, r.service, r.routingPrefix, r.host, r.pid])).toEqual([['r-live', 'accounts', 'cleave:', 'h1', 11]]);
    expect((await registry.live(120)).map((r) => r.routerId)).toEqual(['r-live', 'r-quiet']);
    await registry.deregister('r-live');
    expect(await registry.live()).toEqual([]);
  });

  it('creates a migration in phase planned with a created event, and refuses a second of the same name', async () => {
    const m = await store.createMigration(plan('split-mail'), { actor: 'test' });
    expect(m).toMatchObject({ name: 'split-mail', phase: 'planned', epoch: 1 });
    expect(m.plan.moves[0]).toMatchObject({ kind: 'tables', tables: ['email_aliases'] });
    expect((await store.getMigration('split-mail')).id).toBe(m.id);
    const error = await store.createMigration(plan('split-mail'), { actor: 'test' }).catch((e: unknown) => e);
    expect(isCleaveError(error, 'CONFLICT')).toBe(true);
    expect((error as Error).message).toBe('a migration named "split-mail" already exists');
    const events = await store.events(m.id);
    expect(events.map((e) => [e.kind, e.from, e.to, e.actor])).toEqual([['created', null, 'planned', 'test']]);
  });

  it('changes phase with compare-and-set: of two concurrent changes exactly one wins, and the log says who', async () => {
    const m = await store.createMigration(plan('race'), { actor: 'test' });
    const results = await Promise.allSettled([
      store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'a', reason: 'start' }),
      store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'b', reason: 'start' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isCleaveError(rejected.reason, 'CONFLICT')).toBe(true);
    const after = await store.getMigration(m.id);
    expect(after).toMatchObject({ phase: 'dual_write', epoch: 2 });
    const changes = (await store.events(m.id)).filter((e) => e.kind === 'phase_change');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ from: 'planned', to: 'dual_write', reason: 'start' });
  });

  it('records a capture stream\'s bytes behind with its checkpoint and lease renewals; a write without them keeps them, a re-aim clears them', async () => {
    const streams = store.captureStreams();
    const m = await store.createMigration(plan('behind'), { actor: 'test' }, { capture: { server: 'source', from: { file: 'binlog.000001', position: 4 } } });
    const stream = async () => (await streams.get(m.id, 'forward'))!;
    expect((await stream()).behindBytes).toBeNull();
    const lease = (await streams.tryAcquire(m.id, 'forward', 'w1', 10_000))!;
    await streams.checkpoint(lease, { file: 'binlog.000001', position: 900 }, { changesApplied: 3, lastEventAt: null, lagMs: 12, behindBytes: 4_096 }, 10_000);
    expect(await stream()).toMatchObject({ checkpoint: { file: 'binlog.000001', position: 900 }, lagMs: 12, behindBytes: 4_096, changesApplied: 3 });
    await streams.checkpoint(lease, { file: 'binlog.000001', position: 950 }, { changesApplied: 1, lastEventAt: null, lagMs: 5 }, 10_000);
    expect((await stream()).behindBytes).toBe(4_096);
    expect(await streams.renew(lease, 10_000, 123)).toBe(true);
    expect((await stream()).behindBytes).toBe(123);
    expect(await streams.renew(lease, 10_000)).toBe(true);
    expect((await stream()).behindBytes).toBe(123);
    expect(await streams.renew(lease, 10_000, null)).toBe(true);
    expect((await stream()).behindBytes).toBeNull();
    await streams.checkpoint(lease, { file: 'binlog.000002', position: 4 }, { changesApplied: 0, lastEventAt: null, lagMs: 0, behindBytes: 0 }, 10_000);
    expect((await stream()).behindBytes).toBe(0);
    await streams.aim(m.id, 'forward', 'source', { file: 'binlog.000002', position: 4 }, m.epoch);
    expect((await stream()).behindBytes).toBeNull();
  });

  it('refuses an illegal step and a stale epoch', async () => {
    const m = await store.createMigration(plan('illegal'), { actor: 'test' });
    await expect(store.changePhase(m.id, { from: 'planned', to: 'finalized' }, { actor: 't' })).rejects.toThrow('a migration cannot go from planned to finalized');
    await expect(store.changePhase(m.id, { from: 'planned', to: 'dual_write', expectedEpoch: 7 }, { actor: 't' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await store.getMigration(m.id)).phase).toBe('planned');
  });

  it('saves segments once: a retried split keeps the first segments and their checkpoints', async () => {
    const m = await store.createMigration(plan('segments'), { actor: 'test' });
    await store.registerBackfillTable(m.id, 'email_aliases', 'mail', 1000);
    await store.saveSegments(m.id, 'email_aliases', [
      { lower: null, upper: '["500"]' },
      { lower: '["500"]', upper: null },
    ]);
    await store.checkpointSegment(m.id, 'email_aliases', 0, { checkpoint: '["250"]', rows: 250, ms: 12, chunkSize: 250, owner: 'w1', done: false });
    await store.saveSegments(m.id, 'email_aliases', [{ lower: null, upper: null }]);
    const segments = await store.segments(m.id, 'email_aliases');
    expect(segments.map((s) => [s.segmentNo, s.lower, s.upper, s.checkpoint, s.state, s.rowsCopied])).toEqual([
      [0, null, '["500"]', '["250"]', 'copying', 250],
      [1, '["500"]', null, null, 'pending', 0],
    ]);
    const [table] = await store.backfillTables(m.id);
    expect(table).toMatchObject({ table: 'email_aliases', state: 'copying', segments: 2, segmentsDone: 0, rowsCopied: 250 });
  });

  it('accumulates throttled time per reason and records verification runs and shadow failures', async () => {
    const m = await store.createMigration(plan('misc'), { actor: 'test' });
    await store.addThrottled(m.id, 'source Threads_running 40 > 25', 100);
    await store.addThrottled(m.id, 'source Threads_running 40 > 25', 50);
    expect((await store.throttleStats(m.id)).map((s) => [s.reason, s.throttledMs])).toEqual([['source Threads_running 40 > 25', 150]]);
    const run = await store.startVerificationRun(m.id);
    await store.finishVerificationRun(run, { passes: 2, chunks: 10, rowsChecked: 1000, rowsDiffering: 3, rowsRepaired: 3, clean: true });
    expect(await store.verificationRuns(m.id)).toEqual([expect.objectContaining({ passes: 2, rowsRepaired: 3, clean: true })]);
    await store.recordShadowFailure(m.id, 'email_aliases', '["7"]', 'connect ECONNREFUSED');
    const open = await store.openShadowFailures(m.id);
    expect(open.map((f) => f.keyValues)).toEqual(['["7"]']);
    await store.markShadowFailuresRepaired(open.map((f) => f.id));
    expect(await store.openShadowFailures(m.id)).toEqual([]);
  });
});
