import type { MigrationPhase } from '@cleave/core';
import { awaitCaptureCaughtUp, type AckWaitResult, type HeldWritesSummary, type MigrationRecord } from '@cleave/control';
import type { CoordinatorLease } from './coordinator-lease.js';
import type { CutoverSettings } from './cutover-settings.js';
import type { CutoverStore, ServerQueryable } from './cutover-store.js';
import type { CheckContext, CheckResult } from './precondition.js';
import type { RouterFleet } from './router-fleet.js';
import type { ArchiveRename, ChangeContext, ChangeSummary, FenceHandle, Switcher } from './switcher.js';
import { quoteIdentifier } from '@cleave/mysql';
import { alignAutoIncrement, COUNTERS_CHECK, CounterAlignmentError } from './auto-increment-alignment.js';
import { fencedStore } from './fenced-store.js';
import { shadowFailuresRepaired } from './preconditions/shadow-failures-repaired.js';
import { aimCaptureBeforeFlip, CAPTURE_CHECK, handOverCapture } from './capture-handover.js';
import { denyOldPrimary, enforceGuard, flipGuard, markReads, prepareGuard, releaseGuard, removeGuards, type GuardReadsOptions } from './placement-guard-sides.js';

/** The name of the in-fence step that moves the placement guards. */
export const GUARD_CHECK = 'placement-guard-moved';

/** The points after which {@link LiveSwitcherConfig.onStep} is called. */
export const CUTOVER_STEP_POINTS = ['begun', 'fenced', 'fence-acked', 'flipped', 'epoch-acked', 'unfenced', 'archived'] as const;
export type CutoverStepPoint = (typeof CUTOVER_STEP_POINTS)[number];

export interface LiveSwitcherConfig {
  readonly store: CutoverStore;
  readonly fleet: RouterFleet;
  readonly settings: CutoverSettings;
  readonly lease: CoordinatorLease;
  readonly actor: string;
  readonly servers?: (server: string) => ServerQueryable;
  /** Awaited after each step (operators' hooks; tests stop a coordinator here). */
  readonly onStep?: (point: CutoverStepPoint, ctx: ChangeContext) => Promise<void> | void;
}

/**
 * The switcher that does it: journal in the control store, fence over the router fleet. Every
 * write to the control store carries the lease's fencing token (see {@link fencedStore}), so a
 * coordinator that lost its lease while paused is refused by the store, not only by Redis.
 */
export class LiveSwitcher implements Switcher {
  readonly dryRun = false;
  readonly #c: LiveSwitcherConfig;
  /** Routers that acked this change's fence (null: not known, e.g. a recovered change). */
  #fenceAcked: readonly string[] | null = null;
  /**
   * After the unfence: how long the routers that acked the fence held writes, being collected;
   * recorded as `heldWrites` with the `done` event, next to the measured `writePause`.
   */
  #heldWrites: Promise<HeldWritesSummary | null> | undefined;

  constructor(config: LiveSwitcherConfig) {
    this.#c = { ...config, store: fencedStore(config.store, config.lease) };
  }

  #by(ctx: { reason: string | undefined }) {
    return { actor: this.#c.actor, ...(ctx.reason === undefined ? {} : { reason: ctx.reason }) };
  }

  async #step(point: CutoverStepPoint, ctx: ChangeContext): Promise<void> {
    await this.#c.onStep?.(point, ctx);
  }

  #journal(ctx: ChangeContext, details: Record<string, unknown>): Record<string, unknown> {
    return { changeId: ctx.changeId, from: ctx.change.from, to: ctx.change.to, token: this.#c.lease.token, holder: this.#c.lease.holder, ...details };
  }

  reportChecks(): void {
    // The live change reports its checks in its result and events.
  }

  async refuse(ctx: Omit<ChangeContext, 'changeId'>, why: string, checks: readonly CheckResult[]): Promise<void> {
    await this.#c.store.appendEvent(ctx.migration.id, 'refused', { actor: this.#c.actor, reason: why }, { from: ctx.change.from, to: ctx.change.to, checks });
  }

  async begin(ctx: ChangeContext): Promise<void> {
    await this.#c.lease.check();
    await this.#c.store.appendEvent(
      ctx.migration.id,
      'note',
      this.#by(ctx),
      this.#journal(ctx, { cutover: 'begin', fromEpoch: ctx.migration.epoch, fenced: ctx.change.fenced }),
    );
    await this.#step('begun', ctx);
  }

  async fence(ctx: ChangeContext): Promise<FenceHandle> {
    await this.#c.lease.check();
    const at = performance.now();
    const record = await this.#c.fleet.fence(ctx.migration.id, ctx.migration.epoch, { ttlMs: this.#c.settings.fenceTtlMs });
    await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'fenced', fenceId: record.fenceId, fenceEpoch: record.epoch, fencedAt: record.at }));
    await this.#step('fenced', ctx);
    return { fenceId: record.fenceId, epoch: record.epoch, at };
  }

  async awaitFenceAcks(ctx: ChangeContext, fence: FenceHandle): Promise<AckWaitResult> {
    const result = await this.#c.fleet.waitForAcks(ctx.migration.id, { fenceId: fence.fenceId }, { timeoutMs: this.#c.settings.fenceAckTimeoutMs, pollMs: 5 });
    this.#fenceAcked = result.acked;
    if (result.ok) await this.#step('fence-acked', ctx);
    return result;
  }

  async checkInSync(ctx: ChangeContext): Promise<CheckResult> {
    const checkCtx: CheckContext = {
      migration: ctx.migration,
      change: ctx.change,
      store: this.#c.store,
      fleet: this.#c.fleet,
      settings: this.#c.settings,
      now: () => new Date(),
      events: () => this.#c.store.events(ctx.migration.id),
    };
    return { name: shadowFailuresRepaired.name, ...(await shadowFailuresRepaired.check(checkCtx)) };
  }

  async alignCounters(ctx: ChangeContext): Promise<CheckResult> {
    const name = COUNTERS_CHECK;
    const servers = this.#c.servers;
    if (servers === undefined) return { name, status: 'warn', detail: 'this coordinator has no connection to the data servers: auto-increment counters were not compared' };
    try {
      const raised = await alignAutoIncrement(ctx.migration.plan, ctx.change.routingBefore.primary, ctx.change.routingAfter.primary, servers, this.#c.settings.counterLockWaitSeconds);
      if (raised.length === 0) return { name, status: 'pass', detail: 'no counter of the new primary was behind' };
      await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'counters', raised }));
      return { name, status: 'pass', detail: `raised ${raised.map((r) => `${r.server}/${r.database}.${r.table} ${r.from} -> ${r.to}`).join(', ')}` };
    } catch (error) {
      if (error instanceof CounterAlignmentError) return { name, status: 'fail', detail: error.message };
      throw error;
    }
  }

  async awaitCapture(ctx: ChangeContext): Promise<CheckResult> {
    const servers = this.#c.servers;
    if (servers === undefined) return { name: CAPTURE_CHECK, status: 'warn', detail: 'this coordinator has no connection to the data servers: capture progress was not checked' };
    const result = await awaitCaptureCaughtUp(ctx.migration, this.#c.store.captureStreams(), servers, this.#c.settings.captureCatchUpMs);
    return { name: CAPTURE_CHECK, status: result.ok ? 'pass' : 'fail', detail: result.detail };
  }

  async prepareGuard(ctx: ChangeContext): Promise<CheckResult> {
    const name = GUARD_CHECK;
    const servers = this.#c.servers;
    if (servers === undefined) return { name, status: 'warn', detail: 'this coordinator has no connection to the data servers: the placement guards are not moved' };
    try {
      const sides = await prepareGuard(ctx.migration.plan, ctx.migration.id, ctx.change.to, servers);
      return { name, status: 'pass', detail: `guard triggers ready on ${sides.join(', ')}` };
    } catch (error) {
      return { name, status: 'fail', detail: `the placement guard could not be prepared: ${(error as Error).message}` };
    }
  }

  async markReads(ctx: ChangeContext, phase: MigrationPhase): Promise<CheckResult> {
    const name = GUARD_CHECK;
    const servers = this.#c.servers;
    if (servers === undefined) return { name, status: 'warn', detail: 'this coordinator has no connection to the data servers: the shadows are not marked as read' };
    try {
      const marked = await markReads(ctx.migration.plan, ctx.migration.id, phase, servers);
      return { name, status: 'pass', detail: marked.join('; ') };
    } catch (error) {
      return { name, status: 'fail', detail: `the shadows' guard rows could not be marked: ${(error as Error).message}` };
    }
  }

  async releaseGuard(ctx: ChangeContext, after: MigrationRecord): Promise<void> {
    const servers = this.#c.servers;
    if (servers === undefined) return;
    await releaseGuard(after.plan, after.id, after.phase, servers);
  }

  async closeOldPrimary(ctx: ChangeContext): Promise<CheckResult> {
    const name = GUARD_CHECK;
    const servers = this.#c.servers;
    if (servers === undefined) return { name, status: 'warn', detail: 'this coordinator has no connection to the data servers: the old primary was not closed' };
    try {
      const done = await denyOldPrimary(ctx.migration.plan, ctx.migration.id, ctx.change.from, ctx.change.to, ctx.migration.epoch + 1, servers);
      return { name, status: 'pass', detail: done.join('; ') };
    } catch (error) {
      return { name, status: 'fail', detail: `the old primary could not be closed to writes: ${(error as Error).message}` };
    }
  }

  async moveGuard(ctx: ChangeContext): Promise<CheckResult> {
    const name = GUARD_CHECK;
    const servers = this.#c.servers;
    if (servers === undefined) return { name, status: 'warn', detail: 'this coordinator has no connection to the data servers: the placement guards were not moved' };
    try {
      // The new phase's streams start before the new primary opens: nothing it takes from then on
      // (a router that reads the new phase releases its writes by itself) is before them.
      const aimed = await aimCaptureBeforeFlip(ctx.migration, ctx.change.to, this.#c.store.captureStreams(), servers);
      const done = [...aimed.map((a) => `capture ${a}`), ...(await flipGuard(ctx.migration.plan, ctx.migration.id, ctx.change.to, ctx.migration.epoch + 1, servers))];
      await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'guard', sides: done }));
      return { name, status: 'pass', detail: done.join('; ') };
    } catch (error) {
      return { name, status: 'fail', detail: `the placement guard could not be moved: ${(error as Error).message}` };
    }
  }

  async restoreGuard(ctx: ChangeContext, migration: MigrationRecord, options: GuardReadsOptions = {}): Promise<void> {
    const servers = this.#c.servers;
    if (servers === undefined) return;
    if (migration.phase === 'planned') await removeGuards(migration.plan, migration.id, servers);
    else await enforceGuard(migration.plan, migration.id, migration.phase, migration.guardEpoch, servers, options);
  }

  async handOverCapture(ctx: ChangeContext, after: MigrationRecord): Promise<void> {
    const servers = this.#c.servers;
    if (servers === undefined) return;
    const changes = await handOverCapture(after, ctx.change.from, this.#c.store.captureStreams(), servers);
    if (changes.length > 0) await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'capture', streams: changes }));
  }

  async flip(ctx: ChangeContext, details: Record<string, unknown>): Promise<MigrationRecord> {
    await this.#c.lease.check(); // early exit; the store's check of the token below is the guarantee
    const after = await this.#c.store.changePhase(
      ctx.migration.id,
      {
        from: ctx.change.from,
        to: ctx.change.to,
        expectedEpoch: ctx.migration.epoch,
        fence: { token: this.#c.lease.token }, // refused (STALE_COORDINATOR) once a newer coordinator claimed the migration
        details: this.#journal(ctx, details),
      },
      this.#by(ctx),
    );
    await this.#step('flipped', ctx);
    return after;
  }

  async announceEpoch(ctx: ChangeContext, epoch: number): Promise<void> {
    await this.#c.fleet.announceEpoch(ctx.migration.id, epoch);
  }

  async awaitEpochAcks(ctx: ChangeContext, epoch: number): Promise<AckWaitResult> {
    const result = await this.#c.fleet.waitForAcks(ctx.migration.id, { epoch }, { timeoutMs: this.#c.settings.epochAckTimeoutMs, pollMs: 5 });
    await this.#step('epoch-acked', ctx);
    return result;
  }

  async unfence(ctx: ChangeContext, fenceId: string | null, epoch: number): Promise<void> {
    await this.#c.fleet.unfence(ctx.migration.id, fenceId ?? undefined, { epoch });
    // Collected in the background: the unfence (and the pause measured up to it) does not wait.
    this.#heldWrites = this.#collectHeldWrites(ctx, fenceId);
    await this.#step('unfenced', ctx);
  }

  /** The routers' held-write reports of the fence; null when there is none to ask for. Never throws. */
  async #collectHeldWrites(ctx: ChangeContext, fenceId: string | null): Promise<HeldWritesSummary | null> {
    const wait = this.#c.fleet.waitForHeldWrites?.bind(this.#c.fleet);
    if (fenceId === null || wait === undefined) return null;
    try {
      const acked = this.#fenceAcked ?? [];
      const summary = await wait(ctx.migration.id, fenceId, acked, { timeoutMs: acked.length > 0 ? this.#c.settings.heldWritesReportMs : 0, pollMs: 10 });
      return summary.routers === 0 && summary.unreported.length === 0 ? null : summary;
    } catch {
      return null; // statistics only: a switch never fails for them
    }
  }

  async archive(ctx: ChangeContext, renames: readonly ArchiveRename[]): Promise<void> {
    const servers = this.#c.servers;
    if (renames.length > 0 && servers === undefined) throw new Error('finalize needs the source server to archive tables');
    // The archive record (what `cleave drop-archive` may drop later), fenced: a stale coordinator
    // is refused here, before it renames anything.
    await this.#c.lease.check();
    await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'archive', archived: renames }));
    for (const r of renames) {
      if (servers === undefined) throw new Error('finalize needs the source server to archive tables');
      const db = servers(r.server);
      const [rows] = await db.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?)', [r.database, r.table, r.archive]);
      const present = new Set((rows as Array<{ t: string }>).map((row) => row.t));
      if (!present.has(r.table)) continue; // renamed already (a resumed finalize)
      await db.query(`RENAME TABLE ${quoteIdentifier(r.database)}.${quoteIdentifier(r.table)} TO ${quoteIdentifier(r.database)}.${quoteIdentifier(r.archive)}`);
    }
    await this.#step('archived', ctx);
  }

  async complete(ctx: ChangeContext, summary: ChangeSummary): Promise<void> {
    const heldWrites = (await this.#heldWrites) ?? null;
    await this.#c.store.appendEvent(ctx.migration.id, 'note', this.#by(ctx), this.#journal(ctx, { cutover: 'done', ...summary, ...(heldWrites === null ? {} : { heldWrites }) }));
  }

  async abort(ctx: ChangeContext, why: string, fenceId: string | null, details: Record<string, unknown>): Promise<void> {
    let heldWrites: HeldWritesSummary | null = null;
    if (ctx.change.fenced || fenceId !== null) {
      await this.#c.fleet.unfence(ctx.migration.id, fenceId ?? undefined, { epoch: ctx.migration.epoch });
      heldWrites = await this.#collectHeldWrites(ctx, fenceId);
    }
    await this.#c.store.appendEvent(
      ctx.migration.id,
      'aborted',
      { actor: this.#c.actor, reason: why },
      this.#journal(ctx, { epoch: ctx.migration.epoch, ...details, ...(heldWrites === null ? {} : { heldWrites }) }),
    );
  }
}
