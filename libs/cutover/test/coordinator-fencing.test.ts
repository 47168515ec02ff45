import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCleaveError } from '@cleave/core';
import type { ControlStore } from '@cleave/control';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { CoordinatorLeases, StaleCoordinatorError, interruptedChange, type LeaseRedis } from '../src/index.js';
import { openFixture, startFakeRouter, type FakeRouter } from './cutover-fixture.js';

/** A Redis client for one coordinator's lease whose calls can be held, as if its process were stopped (SIGSTOP, a long GC). */
function pausableRedis(redis: LeaseRedis) {
  let paused: Promise<void> | null = null;
  let resume = () => undefined as void;
  return {
    client: {
      async eval(script: string, numKeys: number, ...args: Array<string | number>) {
        while (paused !== null) await paused;
        return redis.eval(script, numKeys, ...args);
      },
    } satisfies LeaseRedis,
    pause() {
      paused ??= new Promise<void>((resolve) => (resume = resolve));
    },
    resume() {
      paused = null;
      resume();
    },
  };
}

/** Resolves when `promise` settles, with what it settled to. */
const settled = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: unknown) => ({ error }));

describe('fencing token enforced by the control store (two coordinators, real MariaDB and Redis)', () => {
  const dbs = useTestDatabases('cutover fencing');
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

  it('a coordinator paused between its lease check and its compare-and-set is refused once another took over; nothing is half-applied and the other finishes', async () => {
    const m = await fx.readyMigration('stale-flip');
    const router = await startFakeRouter(fx.redis, dbs().redisPrefix, fx.store, m.id, `${m.id}-r1`);
    routers.push(router);
    const setup = fx.cutover();
    await setup.change(m.id); // verified
    await setup.change(m.id); // reads_switched
    const before = await fx.store.getMigration(m.id);

    // Coordinator A: its flip passes the lease check, then the whole coordinator stops (its lease
    // renewals too) right before the compare-and-set reaches MySQL.
    const aRedis = pausableRedis(fx.redis);
    let atCas!: () => void;
    const reachedCas = new Promise<void>((resolve) => (atCas = resolve));
    let continueA!: () => void;
    const gate = new Promise<void>((resolve) => (continueA = resolve));
    const aStore = new Proxy(fx.store, {
      get(target, prop) {
        if (prop === 'changePhase') {
          return async (...args: Parameters<ControlStore['changePhase']>) => {
            aRedis.pause();
            atCas();
            await gate;
            return target.changePhase(...args);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const aLeases = new CoordinatorLeases({ redis: aRedis.client, prefix: dbs().redisPrefix, ttlMs: 1000, holder: 'a' });
    const a = fx.cutover({ leases: aLeases, store: aStore });
    const aRun = settled(a.change(m.id, { reason: 'coordinator a' }));
    await reachedCas;

    // Coordinator B: gets the lease once A's lapsed (a higher token), recovers A's change (not
    // flipped: aborted, A's fence lifted), journals its own change; then A wakes up and tries its
    // compare-and-set, whose phase and epoch still match.
    const bLeases = new CoordinatorLeases({ redis: fx.redis, prefix: dbs().redisPrefix, ttlMs: 1000, holder: 'b' });
    let aOutcome: Awaited<typeof aRun> | undefined;
    const b = fx.cutover({
      leases: bLeases,
      leaseWaitMs: 30_000,
      onStep: async (point) => {
        if (point !== 'begun' || aOutcome !== undefined) return;
        aRedis.resume();
        continueA();
        aOutcome = await aRun;
      },
    });
    const bResult = await b.change(m.id, { reason: 'coordinator b' });

    // A was refused by the store, with a typed error saying another coordinator took over.
    expect(aOutcome).toBeDefined();
    const aError = (aOutcome as { error?: unknown }).error;
    expect(aError).toBeInstanceOf(StaleCoordinatorError);
    expect(isCleaveError(aError, 'STALE_COORDINATOR')).toBe(true);
    expect((aError as Error).message).toContain(`another coordinator took over migration ${m.id}`);

    // B recovered A's change and did its own.
    expect(bResult).toMatchObject({ outcome: 'done', from: 'reads_switched', to: 'writes_switched', epoch: before.epoch + 1 });
    expect(bResult.recovered).toMatchObject({ action: 'aborted', interruptedHolder: 'a', from: 'reads_switched', to: 'writes_switched' });

    // Phase, epoch, token and event log agree: exactly one flip, B's.
    const after = await fx.store.getMigration(m.id);
    expect(after).toMatchObject({ phase: 'writes_switched', epoch: before.epoch + 1 });
    const events = await fx.store.events(m.id);
    const aBegin = events.find((e) => e.details?.['cutover'] === 'begin' && e.details['holder'] === 'a');
    const bBegin = events.find((e) => e.details?.['cutover'] === 'begin' && e.details['holder'] === 'b');
    expect(aBegin).toBeDefined();
    expect(bBegin).toBeDefined();
    const aToken = Number(aBegin?.details?.['token']);
    const bToken = Number(bBegin?.details?.['token']);
    expect(bToken).toBeGreaterThan(aToken);
    expect(await fx.store.coordinatorToken(m.id)).toBe(bToken);
    const flips = events.filter((e) => e.kind === 'phase_change' && e.from === 'reads_switched');
    expect(flips).toHaveLength(1);
    expect(flips[0]?.details).toMatchObject({ holder: 'b', token: bToken, changeId: bBegin?.details?.['changeId'] });
    const aChange = events.filter((e) => e.details?.['changeId'] === aBegin?.details?.['changeId']);
    // A had moved the placement guards inside its fence; B's recovery put them back before it aborted A's change.
    expect(aChange.map((e) => (e.kind === 'note' ? String(e.details?.['cutover']) : e.kind))).toEqual(['begin', 'fenced', 'guard', 'aborted']);
    expect(aChange.at(-1)?.details).toMatchObject({ recoveredBy: 'b' });
    expect(events.filter((e) => e.details?.['holder'] === 'a' && e.id > (bBegin?.id ?? 0))).toEqual([]); // A wrote nothing after B began
    expect(interruptedChange(events)).toBeNull();
    expect(await fx.fleet.fences([m.id])).toEqual(new Map());
    expect(router.epoch).toBe(after.epoch);
  });

  it('tokens keep increasing when Redis lost its counter (the store\'s token is the floor); an older token is refused at its claim', async () => {
    await Promise.all(routers.splice(0).map((r) => r.stop())); // the stand-in routers serve one migration each
    const m = await fx.readyMigration('stale-start');
    await fx.store.claimCoordinator(m.id, { token: 1_000 }); // e.g. Redis lost its token counter
    const before = await fx.store.events(m.id);
    const result = await fx.cutover().change(m.id, { acceptUncapturedWrites: true }); // no router, no capture here
    // The lease takes the store's token as a floor, so a new coordinator still gets a higher token.
    expect(result).toMatchObject({ outcome: 'done', to: 'verified' });
    expect(await fx.store.coordinatorToken(m.id)).toBeGreaterThan(1_000);
    const token = await fx.store.coordinatorToken(m.id);
    // An older lease (a lower token) is refused at its claim, before it journals anything.
    const stale = await fx.store.claimCoordinator(m.id, { token: token - 1 }).catch((e: unknown) => e);
    expect(isCleaveError(stale, 'STALE_COORDINATOR')).toBe(true);
    expect(await fx.store.coordinatorToken(m.id)).toBe(token);
    expect((await fx.store.events(m.id)).slice(before.length).every((e) => Number(e.details?.['token']) === token)).toBe(true);
  });
});
