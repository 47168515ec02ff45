import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { isCleaveError } from '@cleave/core';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { RoutingChannel } from '@cleave/control';
import { CoordinatorLeases, PreconditionFailedError, phaseChange } from '../src/index.js';
import { openFixture, startFakeRouter, type FakeRouter } from './cutover-fixture.js';

describe('Cutover (real control store, real Redis routing channel)', () => {
  const dbs = useTestDatabases('cutover');
  let fx: Awaited<ReturnType<typeof openFixture>>;
  const routers: FakeRouter[] = [];

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    fx = await openFixture(dbs());
  });
  afterAll(async () => {
    await Promise.all(routers.map((r) => r.stop()));
    await fx.close();
  });

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after 10 s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kinds = async (id: string) => (await fx.store.events(id)).map((e) => `${e.kind}${e.from ? ` ${e.from}->${e.to}` : ''}${e.kind === 'note' ? ` ${String(e.details?.['cutover'])}` : ''}`);

  it('refuses a change whose checks fail, naming them, and records a refused event', async () => {
    const plan = await fx.readyMigration('refused-one');
    await fx.store.recordShadowFailure(plan.id, 'sessions', '[["1"]]', 'target down');
    const error = await fx.cutover().change(plan.id, { to: 'verified' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    // No router registered and no binlog capture: nothing would carry a write made after the last verification.
    expect((error as PreconditionFailedError).failed).toEqual(['all-routers-acked', 'shadow-failures-repaired']);
    expect((error as Error).message).toContain('cannot go from dual_write to verified: precondition failed: all-routers-acked (no router is registered and the migration runs without binlog capture');
    expect((error as Error).message).toContain('pass --accept-uncaptured-writes to accept that such writes are lost); shadow-failures-repaired (1 failed shadow writes await repair (sessions)');
    const refused = (await fx.store.events(plan.id)).filter((e) => e.kind === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toContain('shadow-failures-repaired');
    expect((await fx.store.getMigration(plan.id)).phase).toBe('dual_write');
  });

  it('counts routers the control store knows: one on another channel prefix or another Redis refuses the switch, naming it; a stopped one is a warning', async () => {
    const m = await fx.readyMigration('store-routers', ['user_settings']);
    const heard = await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-heard`);
    onTestFinished(() => heard.stop());
    const registry = fx.store.routers();
    // A router of another service configured with another queue prefix: it reads the migrations
    // from this store but listens on a channel no fence of this migration is sent to.
    await registry.heartbeat({ routerId: `${m.id}-deaf`, service: 'billing', routingPrefix: 'other:', host: 'billing-1', pid: 4242 });
    try {
      const error = await fx.cutover().change(m.id, { to: 'verified' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect((error as PreconditionFailedError).failed).toEqual(['all-routers-acked']);
      expect((error as Error).message).toContain(`${m.id}-deaf of billing on billing-1 pid 4242 (channel prefix "other:")`);
      expect((await fx.store.getMigration(m.id)).phase).toBe('dual_write');
    } finally {
      await registry.deregister(`${m.id}-deaf`);
    }
    // A coordinator on another channel would fence nobody: refused, naming the prefix to use.
    const elsewhere = new RoutingChannel({ redis: fx.redis, prefix: 'elsewhere:' });
    try {
      const error = await fx.cutover({ fleet: elsewhere }).change(m.id, { to: 'verified' }).catch((e: unknown) => e);
      expect((error as PreconditionFailedError).failed).toEqual(['all-routers-acked']);
      expect((error as Error).message).toContain(`run it with the queue prefix "${dbs().redisPrefix.replace(/:$/, '')}"`);
    } finally {
      await elsewhere.close();
    }
    // A router of this prefix that keeps beating in the store but holds no lease on this Redis:
    // alive, configured with another Redis URL. Refused, named.
    const beat = () => registry.heartbeat({ routerId: `${m.id}-elsewhere`, service: 'accounts', routingPrefix: dbs().redisPrefix, host: 'accounts-3', pid: 78 });
    await beat();
    const beating = setInterval(() => void beat(), 1_000);
    try {
      const error = await fx.cutover().change(m.id, { to: 'verified' }).catch((e: unknown) => e);
      expect((error as PreconditionFailedError).failed).toEqual(['all-routers-acked']);
      expect((error as Error).message).toContain(`${m.id}-elsewhere of accounts on accounts-3 pid 78 (heartbeats in the control store, but no lease on this Redis: another Redis URL)`);
    } finally {
      clearInterval(beating);
      await registry.deregister(`${m.id}-elsewhere`);
    }
    // A router on this prefix with no lease here (stopped or paused since its last store heartbeat):
    // the switch goes ahead without it, as with a lapsed lease, and says so.
    await registry.heartbeat({ routerId: `${m.id}-paused`, service: 'accounts', routingPrefix: dbs().redisPrefix, host: 'accounts-2', pid: 77 });
    try {
      const c = fx.cutover();
      const checks = await c.evaluate(await fx.store.getMigration(m.id), phaseChange('dual_write', 'verified'));
      expect(checks.find((x) => x.name === 'all-routers-acked')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${m.id}-paused of accounts on accounts-2 pid 77`) });
      expect((await c.change(m.id, { to: 'verified' })).to).toBe('verified');
    } finally {
      await registry.deregister(`${m.id}-paused`);
    }
  });

  it('walks the whole table with 3 routers: fenced switch, rollback, switch again, finalize with approval and archive', async () => {
    // Tables of its own: its finalize archives them on the source, which the other tests share.
    const m = await fx.readyMigration('walk', ['addresses', 'email_aliases']);
    for (const id of ['r1', 'r2', 'r3']) routers.push(await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-${id}`));
    const mine = routers.slice(-3);
    const c = fx.cutover();
    expect((await c.change(m.id)).to).toBe('verified');
    expect((await c.change(m.id)).to).toBe('reads_switched');
    const writes = await c.change(m.id);
    expect(writes).toMatchObject({ outcome: 'done', from: 'reads_switched', to: 'writes_switched', lateRouters: [] });
    expect(writes.writePause).not.toBeNull();
    // Where the held time went: every step the primary's move takes with writes held, timed.
    expect(Object.keys(writes.writePause!.stepsMs)).toEqual(['inSync', 'closeOldPrimary', 'alignCounters', 'captureCatchUp', 'moveGuard', 'handOverCapture', 'announceEpoch']);
    expect(mine.every((r) => r.epoch === writes.epoch)).toBe(true);
    expect(await fx.fleet.fences([m.id])).toEqual(new Map()); // unfenced
    const back = await c.rollback(m.id, { reason: 'test rollback' });
    expect(back).toMatchObject({ outcome: 'done', to: 'reads_switched' });
    // The primary moved back: the verification from before compared the other direction.
    const stale = await c.change(m.id, { to: 'writes_switched' }).catch((e: unknown) => e);
    expect((stale as PreconditionFailedError).failed).toEqual(['verification-clean']);
    expect((stale as Error).message).toContain('started before the write primary last moved');
    await fx.cleanVerification(m.id);
    await c.change(m.id, { to: 'writes_switched' });
    const unverified = await c.finalize(m.id, { approve: true }).catch((e: unknown) => e);
    expect((unverified as PreconditionFailedError).failed).toEqual(['verification-clean']);
    await fx.cleanVerification(m.id);

    const unapproved = await c.finalize(m.id).catch((e: unknown) => e);
    expect(isCleaveError(unapproved, 'APPROVAL_REQUIRED')).toBe(true);
    expect((unapproved as Error).message).toContain('finalize is IRREVERSIBLE');
    const final = await c.finalize(m.id, { approve: true });
    expect(final.archived.map((a) => a.archive)).toEqual(['_cleave_archived_walk_addresses', '_cleave_archived_walk_email_aliases']);
    const [tables] = await fx.source.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [dbs().name]);
    const names = (tables as Array<{ t: string }>).map((r) => r.t);
    expect(names).toContain('_cleave_archived_walk_email_aliases');
    expect(names).not.toContain('email_aliases');
    expect(names).toContain('users'); // not moved, untouched
    const rollback = await c.rollback(m.id).catch((e: unknown) => e);
    expect(isCleaveError(rollback, 'PHASE_TRANSITION_INVALID')).toBe(true);

    const log = await kinds(m.id);
    expect(log.filter((k) => k.startsWith('phase_change'))).toEqual([
      'phase_change planned->dual_write',
      'phase_change dual_write->verified',
      'phase_change verified->reads_switched',
      'phase_change reads_switched->writes_switched',
      'phase_change writes_switched->reads_switched',
      'phase_change reads_switched->writes_switched',
      'phase_change writes_switched->finalized',
    ]);
    expect(log.filter((k) => k === 'note done')).toHaveLength(6);
    expect(log.filter((k) => k === 'refused')).toHaveLength(3); // the two unverified changes, the unapproved finalize
    const events = await fx.store.events(m.id);
    const done = events.filter((e) => e.details?.['cutover'] === 'done' && e.details['writePause'] !== null);
    expect(done).toHaveLength(3); // the three fenced switches carry their measured write pause
  });

  it('aborts a switch when a router misses the fence ack deadline: old epoch kept, fence lifted, aborted event', async () => {
    // Real routers serve every migration; these stand-ins serve one, so the earlier ones leave.
    await Promise.all(routers.splice(0).map((r) => r.stop()));
    const m = await fx.readyMigration('abort-ack');
    const [good, silent] = [await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-good`), await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-silent`)];
    routers.push(good, silent);
    const c = fx.cutover();
    await c.change(m.id);
    await c.change(m.id);
    silent.ackFences = false;
    const before = await fx.store.getMigration(m.id);
    const result = await c.change(m.id);
    expect(result).toMatchObject({ outcome: 'aborted', epoch: before.epoch });
    expect(result.reason).toContain(`router ack deadline missed (500 ms) by ${m.id}-silent`);
    expect(await fx.store.getMigration(m.id)).toMatchObject({ phase: 'reads_switched', epoch: before.epoch });
    expect(await fx.fleet.fences([m.id])).toEqual(new Map());
    expect((await kinds(m.id)).at(-1)).toBe('aborted');
    silent.ackFences = true;
    expect((await c.change(m.id)).outcome).toBe('done');
  });

  it('a router holding failed shadow writes it could not record refuses the switch before the flip, naming it; once recorded and repaired, it goes ahead', async () => {
    await Promise.all(routers.splice(0).map((r) => r.stop()));
    const m = await fx.readyMigration('pending-failures');
    const [clean, holding] = [await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-clean`), await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-holding`)];
    routers.push(clean, holding);
    const c = fx.cutover();
    await c.change(m.id);
    await c.change(m.id); // reads_switched
    const before = await fx.store.getMigration(m.id);
    // The failure happened while the writes drained for the fence: only the fence ack reports it.
    holding.pendingFailures = 2;
    const result = await c.change(m.id);
    expect(result).toMatchObject({ outcome: 'aborted', epoch: before.epoch });
    expect(result.reason).toContain(`routers hold failed shadow writes not yet recorded in the control store: ${m.id}-holding (2)`);
    expect(await fx.store.getMigration(m.id)).toMatchObject({ phase: 'reads_switched', epoch: before.epoch });
    // Its last ack still reports them: the next attempt is refused before it fences.
    await expect(c.change(m.id)).rejects.toThrow(/shadow-failures-repaired \(routers hold failed shadow writes/);
    holding.pendingFailures = 0;
    await waitFor(async () => (await fx.fleet.acks(m.id)).get(holding.routerId)?.pendingFailures === undefined, 'the router to re-ack without pending failures');
    expect((await c.change(m.id)).outcome).toBe('done');
  });

  it('with binlog capture the reads switch is fenced and waits for the capture: a stream whose worker died aborts it, old epoch kept, fence lifted', async () => {
    await Promise.all(routers.splice(0).map((r) => r.stop()));
    const m = await fx.readyMigration('capture-reads', ['sessions', 'user_keys'], { capture: true });
    routers.push(await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-r1`));
    const c = fx.cutover();
    // A worker ran the stream a moment ago (checkpointed, so the stream looks healthy) and died.
    const streams = fx.store.captureStreams();
    const lease = (await streams.tryAcquire(m.id, 'forward', 'dead-worker', 60_000))!;
    const record = (await streams.get(m.id, 'forward'))!;
    // Its checkpoint is where it was aimed; the source's binlog has moved on since (the control store lives there).
    await streams.checkpoint(lease, record.checkpoint, { changesApplied: 0, lastEventAt: null, lagMs: 0 }, 60_000);
    expect((await c.change(m.id)).outcome).toBe('done'); // -> verified: readers still read the source, no fence
    const before = await fx.store.getMigration(m.id);
    const result = await c.change(m.id);
    expect(result).toMatchObject({ outcome: 'aborted', epoch: before.epoch });
    expect(result.reason).toMatch(/^capture stream forward did not apply up to source's .* within 2000 ms/);
    expect(await fx.store.getMigration(m.id)).toMatchObject({ phase: 'verified', epoch: before.epoch });
    expect(await fx.fleet.fences([m.id])).toEqual(new Map());
  });

  it('one coordinator at a time: a second waits, then gets a higher fencing token', async () => {
    const m = await fx.readyMigration('lease');
    const a = new CoordinatorLeases({ redis: fx.redis, prefix: dbs().redisPrefix, ttlMs: 1000, holder: 'a' });
    const b = new CoordinatorLeases({ redis: fx.redis, prefix: dbs().redisPrefix, ttlMs: 1000, holder: 'b' });
    const first = await a.acquire(m.id);
    const refused = await b.acquire(m.id, { waitMs: 100 }).catch((e: unknown) => e);
    expect(isCleaveError(refused, 'CONFLICT')).toBe(true);
    expect((refused as Error).message).toBe(`another coordinator (a) is working on migration ${m.id}`);
    const blocked = fx.cutover({ leases: b, leaseWaitMs: 100 }).change(m.id);
    await expect(blocked).rejects.toThrow('another coordinator (a)');
    await first.release();
    const second = await b.acquire(m.id);
    expect(second.token).toBeGreaterThan(first.token);
    await second.release();
  });
});
