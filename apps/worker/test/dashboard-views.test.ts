import { describe, expect, it } from 'vitest';
import { parsePlan, type MigrationPhase } from '@cleave/core';
import type { BackfillTableRecord, MigrationEvent, MigrationRecord, VerificationRunRecord } from '@cleave/control';
import { ProgressHistory } from '../src/ui/progress-history.js';
import { CaptureRates } from '../src/ui/capture-rates.js';
import { timelineEntry } from '../src/ui/timeline-entry.js';
import { dashboardWarnings } from '../src/ui/dashboard-warnings.js';
import { throttleView } from '../src/ui/throttle-view.js';
import { phaseStepper } from '../src/ui/phase-stepper.js';
import { backfillTableView } from '../src/ui/backfill-view.js';
import { PreconditionWatch } from '../src/ui/precondition-watch.js';

const plan = parsePlan({
  version: 1,
  name: 'views',
  source: { server: 'source', database: 'accounts' },
  targets: { t: { server: 'target1', database: 'accounts' } },
  moves: [{ kind: 'tables', tables: ['sessions'], to: 't' }],
});

function migration(phase: MigrationPhase, extra: Partial<MigrationRecord> = {}): MigrationRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return { id: 'm1', name: 'views', plan, phase, epoch: 3, capture: true, guardEpoch: 1, routingPrefix: 'cleave:', cancelledAt: null, createdAt: at, updatedAt: at, ...extra };
}

function event(kind: MigrationEvent['kind'], details: Record<string, unknown> | null, extra: Partial<MigrationEvent> = {}): MigrationEvent {
  return { id: 1, at: new Date('2026-01-01T00:00:00Z'), actor: 'cli:alice', kind, from: null, to: null, reason: 'cleave cutover', details, ...extra };
}

const run = (clean: boolean | null, id = 1): VerificationRunRecord => ({
  id,
  startedAt: new Date(),
  finishedAt: clean === null ? null : new Date(),
  passes: 2,
  chunks: 4,
  rowsChecked: 1000,
  rowsDiffering: clean ? 0 : 7,
  rowsRepaired: 3,
  clean,
  details: null,
});

describe('the rows/s history the worker keeps', () => {
  it('keeps the whole copy in bounded memory: thinned, first and last sample kept', () => {
    const history = new ProgressHistory({ maxSamples: 20, minSpacingMs: 1000 });
    // 10 minutes of copying at 100 rows/s, then 200 rows/s, sampled every 2 s.
    let rows = 0;
    for (let t = 0; t <= 600_000; t += 2000) {
      history.record('m', { at: t, rowsCopied: { sessions: rows } });
      rows += t < 300_000 ? 200 : 400;
    }
    const rates = history.rates('m');
    expect(rates.length).toBeLessThanOrEqual(20);
    expect(rates.length).toBeGreaterThanOrEqual(8);
    expect(rates[0]!.at).toBeLessThanOrEqual(80_000); // starts near the copy's start, not at the end
    expect(rates.at(-1)!.at).toBe(600_000);
    expect(rates[0]!.rowsPerSecond['sessions']).toBeCloseTo(100, 0);
    expect(rates.at(-1)!.rowsPerSecond['sessions']).toBeCloseTo(200, 0);
  });

  it('seeds a migration it first sees mid-copy from the control store (copy start to now)', () => {
    const history = new ProgressHistory();
    const table = { table: 'sessions', target: 't', state: 'copying', rowsEstimate: 10_000, segments: 2, segmentsDone: 1, rowsCopied: 6000, copyMs: 0, startedAt: new Date(0), copyStartedAt: new Date(0), finishedAt: null, error: null } satisfies BackfillTableRecord;
    history.seed('m', [table], 60_000);
    history.record('m', { at: 62_000, rowsCopied: { sessions: 6200 } });
    const rates = history.rates('m');
    expect(rates[0]).toEqual({ at: 60_000, rowsPerSecond: { sessions: 100 } });
    expect(rates.at(-1)!.rowsPerSecond['sessions']).toBe(100);
  });
});

describe('the changes/s of capture streams the worker samples', () => {
  it('is the rate over the last samples, per stream; none before two samples; starts over when a total goes down; forgets migrations no longer sampled', () => {
    const rates = new CaptureRates(3);
    rates.record('m1', [{ stream: 'forward', changesApplied: 0 }], 0);
    expect(rates.perSecond('m1', 'forward')).toBeNull();
    rates.record('m1', [{ stream: 'forward', changesApplied: 1_000 }], 2_000);
    expect(rates.perSecond('m1', 'forward')).toBe(500);
    rates.record('m1', [{ stream: 'forward', changesApplied: 1_000 }], 4_000);
    rates.record('m1', [{ stream: 'forward', changesApplied: 1_000 }], 6_000); // idle: the first sample has left the window
    expect(rates.perSecond('m1', 'forward')).toBe(0);
    rates.record('m1', [{ stream: 'forward', changesApplied: 10 }, { stream: 'reverse:target1', changesApplied: 7 }], 8_000);
    expect(rates.perSecond('m1', 'forward')).toBeNull();
    expect(rates.perSecond('m1', 'reverse:target1')).toBeNull();
    rates.retain(new Set(['m2']));
    rates.record('m1', [{ stream: 'forward', changesApplied: 30 }], 10_000);
    expect(rates.perSecond('m1', 'forward')).toBeNull();
  });
});

describe('the timeline', () => {
  it('names the cutover journal, aborts and the archive instead of "note"', () => {
    const j = { changeId: 'c1', from: 'reads_switched', to: 'writes_switched', token: 7, holder: 'cli:alice@h' };
    expect(timelineEntry(event('note', { ...j, cutover: 'begin', fromEpoch: 3, fenced: true }))).toMatchObject({ title: 'switch begun', detail: 'reads_switched → writes_switched; fenced switch; from epoch 3' });
    expect(timelineEntry(event('note', { ...j, cutover: 'fenced', fenceId: 'f9', fenceEpoch: 3 })).title).toBe('fenced');
    expect(timelineEntry(event('note', { ...j, cutover: 'done', epoch: 4, writePause: { heldUpToMs: 41 } })).detail).toBe('reads_switched → writes_switched; epoch 4; write pause ≤ 41 ms');
    expect(timelineEntry(event('note', { ...j, to: 'finalized', cutover: 'archive', archived: [{ table: 'sessions', archive: '_cleave_archived_x' }] })).detail).toContain('1 source tables renamed: sessions → _cleave_archived_x');
    const aborted = timelineEntry(event('aborted', { ...j, epoch: 3 }, { reason: 'switch aborted, epoch 3 kept: router ack deadline missed (2000 ms) by r1' }));
    expect(aborted).toMatchObject({ title: 'aborted', tone: 'bad', reason: expect.stringContaining('router ack deadline missed') });
    expect(timelineEntry(event('note', { archive: 'dropped', tables: [{}, {}] })).title).toBe('archive dropped');
    expect(timelineEntry(event('verification', { runId: 2, clean: false, rowsChecked: 10, rowsDiffering: 1, rowsRepaired: 0, passes: 1 })).title).toBe('verification: differences remain');
  });
});

describe('the warnings', () => {
  const facts = { tables: [], capture: [], routers: [], shadowReads: null };
  it('warns of no router, no worker and remaining differences while the migration moves', () => {
    const ids = dashboardWarnings({ ...facts, migration: migration('dual_write'), verification: [run(false)], workersAlive: 0 }).map((w) => w.id);
    expect(ids).toEqual(['no-worker', 'verification-differences', 'no-router']);
  });
  it('warns of a finalize whose last verification was not clean, and of nothing else then', () => {
    const warnings = dashboardWarnings({ ...facts, migration: migration('finalized'), verification: [run(true, 1), run(false, 2)], workersAlive: 0 });
    expect(warnings.map((w) => w.id)).toEqual(['finalized-unclean']);
    expect(warnings[0]!.text).toContain('run 2: 7 rows differing');
    expect(dashboardWarnings({ ...facts, migration: migration('finalized'), verification: [run(true)], workersAlive: 1 })).toEqual([]);
  });
});

describe('throttled now', () => {
  it('gives this worker\'s reason with its value and threshold, and another worker\'s recent throttling by name', () => {
    const gate = { migrationId: 'm1', migration: 'views', throttlers: ['source-latency'], active: ['source-latency'], reasons: [{ name: 'source-latency', reason: 'source probe latency 5.70 ms > 0.80 ms (baseline 0.40 ms)' }] };
    expect(throttleView('m1', [gate], []).now).toEqual([{ throttler: 'source-latency', reason: 'source probe latency 5.70 ms > 0.80 ms (baseline 0.40 ms)', seenBy: 'this worker' }]);
    const stats = [{ reason: 'source-threads-running', throttledMs: 1500, lastAt: new Date(9_000) }];
    expect(throttleView('m1', [], stats, 10_000).now).toEqual([{ throttler: 'source-threads-running', reason: 'source-threads-running', seenBy: 'another worker' }]);
    expect(throttleView('m1', [], stats, 20_000).now).toEqual([]);
  });
});

describe('the stepper and its buttons', () => {
  const checks = { next: [{ name: 'verification-clean', status: 'fail' as const, detail: 'no run yet' }], rollback: [], checkedAt: new Date() };
  it('shows the phase, the next step with its checks and the rollback; buttons only with a token', () => {
    const view = phaseStepper(migration('dual_write'), checks, true);
    expect(view.phases.map((p) => p.state)).toEqual(['done', 'current', 'ahead', 'ahead', 'ahead', 'ahead']);
    expect(view.next).toMatchObject({ to: 'verified', blocked: true, checks: [{ name: 'verification-clean', status: 'fail', requires: expect.any(String) }] });
    expect(view.rollback?.to).toBe('planned');
    expect(view.actions).toEqual({ tokenSet: true, advance: 'verified', rollback: 'planned', finalize: false });
    expect(phaseStepper(migration('dual_write'), checks, false).actions).toEqual({ tokenSet: false, advance: null, rollback: null, finalize: false });
    expect(phaseStepper(migration('writes_switched'), checks, true).actions).toEqual({ tokenSet: true, advance: null, rollback: 'reads_switched', finalize: true });
    // Out of planned goes `cleave start` (it queues the copy too): no advance button there.
    expect(phaseStepper(migration('planned'), null, true).actions).toEqual({ tokenSet: true, advance: null, rollback: null, finalize: false });
  });
  it('offers nothing once finalized or cancelled', () => {
    const none = { advance: null, rollback: null, finalize: false };
    expect(phaseStepper(migration('finalized'), null, true)).toMatchObject({ next: null, rollback: null, actions: none });
    expect(phaseStepper(migration('planned', { cancelledAt: new Date() }), null, true)).toMatchObject({ cancelled: true, next: null, rollback: null, actions: none });
  });
});

describe('a backfill unit', () => {
  const base = { table: 'sessions', target: 't', rowsEstimate: 10_000, segments: 2, segmentsDone: 0, copyMs: 0, startedAt: new Date(0), finishedAt: null, error: null };
  it('is queued until its copy starts, then has a rate and an ETA in hours or days when long', () => {
    expect(backfillTableView({ ...base, state: 'pending', rowsCopied: 0, copyStartedAt: null, rowsPerSecond: 0, percent: 0 })).toMatchObject({ stateText: 'queued', eta: 'queued', rowsPerSecond: 0 });
    expect(backfillTableView({ ...base, state: 'copying', rowsEstimate: 100_000_000, rowsCopied: 1000, copyStartedAt: new Date(0), rowsPerSecond: 500, percent: 0 }).eta).toBe('2 d 7 h');
    expect(backfillTableView({ ...base, state: 'copied', rowsCopied: 10_000, copyStartedAt: new Date(0), rowsPerSecond: 500, percent: 100 }).eta).toBe('done');
  });
});

describe('the checks the stepper shows', () => {
  it('answers from the last evaluation while a new one runs, and waits for a new one after a phase change', { timeout: 5_000 }, async () => {
    let calls = 0;
    let gate = Promise.resolve();
    const watch = new PreconditionWatch(async (m, to) => {
      calls += 1;
      const round = calls;
      await gate;
      return [{ name: 'verification-clean', status: 'pass', detail: `${m.phase} -> ${to}, round ${round}` }];
    }, 0);
    const steps = { next: 'verified' as const, rollback: 'planned' as const };
    const first = await watch.checks(migration('dual_write'), steps);
    expect(first.next?.[0]?.detail).toBe('dual_write -> verified, round 1');
    expect(first.rollback?.[0]?.detail).toBe('dual_write -> planned, round 2');
    // Slow rounds from here. Stale (max age 0): one starts, the page gets the last result at once.
    let open: () => void = () => undefined;
    gate = new Promise<void>((resolve) => (open = resolve));
    expect(await watch.checks(migration('dual_write'), steps)).toBe(first);
    expect(calls).toBe(4);
    // Another phase: the old checks are void, the page waits for the new ones.
    const verified = watch.checks(migration('verified', { epoch: 4 }), { next: 'reads_switched', rollback: 'dual_write' });
    open();
    expect((await verified).next?.[0]?.detail).toBe('verified -> reads_switched, round 5');
  });

  it('shows a step whose checks could not run as one failing check', async () => {
    const watch = new PreconditionWatch(async () => {
      throw new Error('control store unreachable');
    });
    const checks = await watch.checks(migration('dual_write'), { next: 'verified', rollback: null });
    expect(checks.next).toEqual([{ name: 'evaluation', status: 'fail', detail: 'the checks could not run: control store unreachable' }]);
    expect(checks.rollback).toBeNull();
  });
});
