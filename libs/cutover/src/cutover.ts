import { randomBytes } from 'node:crypto';
import { CleaveError, movedTables, nextPhase, previousPhase, type MigrationPhase } from '@cleave/core';
import type { MigrationEvent, MigrationRecord } from '@cleave/control';
import { archiveTableName } from './archive-name.js';
import { ArchiveDropApprovalRequiredError, droppableArchives, dropArchivedTable, recordedArchives, type DropArchiveOptions, type DropArchiveResult } from './archive-drop.js';
import type { CoordinatorLease, CoordinatorLeases } from './coordinator-lease.js';
import { interruptedChange, type InterruptedChange } from './cutover-journal.js';
import { resolveCutoverSettings, type CutoverSettings } from './cutover-settings.js';
import type { CutoverStore, ServerQueryable } from './cutover-store.js';
import { DryRunSwitcher } from './dry-run-switcher.js';
import { LiveSwitcher, type CutoverStepPoint } from './live-switcher.js';
import { fencedStore } from './fenced-store.js';
import { FINALIZE_WARNING, phaseChange, type PhaseChange } from './phase-change.js';
import type { CheckContext, CheckResult, ShadowReadSource } from './precondition.js';
import { PreconditionFailedError } from './precondition-failed-error.js';
import { preconditionsFor } from './precondition-registry.js';
import type { RouterFleet } from './router-fleet.js';
import type { ArchiveRename, ChangeContext, ChangeSummary, Switcher, WritePause } from './switcher.js';

/** Construction settings of {@link Cutover}. */
export interface CutoverConfig {
  readonly store: CutoverStore;
  readonly fleet: RouterFleet;
  readonly leases: CoordinatorLeases;
  /** Who makes the changes (recorded with every event), e.g. `cli:alice` or `coordinator:host-12`. */
  readonly actor: string;
  readonly settings?: Partial<CutoverSettings>;
  /** Data servers by name: replica lag checks and finalize's table renames. */
  readonly servers?: (server: string) => ServerQueryable;
  readonly shadowReads?: ShadowReadSource;
  /** How long to wait for another coordinator's lease, ms. @defaultValue the lease TTL plus 1 s */
  readonly leaseWaitMs?: number;
  /** Awaited after each live step (hooks; tests stop a coordinator here). */
  readonly onStep?: (point: CutoverStepPoint, ctx: ChangeContext) => Promise<void> | void;
  readonly now?: () => Date;
}

/** Per-call options of {@link Cutover.change}. */
export interface ChangeOptions {
  /** Target phase. @defaultValue the next phase */
  readonly to?: MigrationPhase;
  /** Print the steps and checks; change nothing (no lease, no event). */
  readonly dryRun?: boolean;
  /** Needed to enter `finalized` (irreversible). */
  readonly approve?: boolean;
  /**
   * A migration without binlog capture and with no router registered has nothing that carries
   * writes to the other side: a switch refuses unless the operator accepts that writes made since
   * the last verification pass are lost (`--accept-uncaptured-writes`).
   */
  readonly acceptUncapturedWrites?: boolean;
  /** Why (recorded with the events). */
  readonly reason?: string;
  /**
   * When a change interrupted after its flip is finished first, return that instead of making the
   * requested one too (a rollback rerun after its coordinator died must not go one phase further).
   * `change` without `to` always does.
   */
  readonly stopAfterRecovery?: boolean;
}

/** What a change did (or, in a dry run, would do). */
export interface CutoverResult {
  readonly migrationId: string;
  readonly name: string;
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  readonly outcome: 'done' | 'aborted' | 'refused' | 'dry-run';
  /** The epoch after the change (unchanged when aborted or refused). */
  readonly epoch: number;
  readonly checks: readonly CheckResult[];
  readonly changeId: string | null;
  /** Why it was aborted or refused. */
  readonly reason: string | null;
  readonly writePause: WritePause | null;
  readonly lateRouters: readonly string[];
  readonly archived: readonly ArchiveRename[];
  /** The dry run's lines (empty for a live change). */
  readonly lines: readonly string[];
  /** An interrupted change that this run finished or aborted first. */
  readonly recovered: RecoveryResult | null;
}

/** What {@link Cutover.recover} did with an interrupted change. */
export interface RecoveryResult {
  readonly changeId: string;
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  /** `finished`: it had flipped, the rest was done; `aborted`: it had not, the old epoch stays. */
  readonly action: 'finished' | 'aborted';
  readonly interruptedHolder: string;
  readonly epoch: number;
}

/**
 * The cutover coordinator's script: moves a migration one step of DESIGN's phase table at a
 * time, checking named preconditions, running the fence protocol when the write primary moves,
 * journaling every step in the control store so that a successor finishes or aborts a change
 * whose coordinator died. One coordinator per migration at a time (a Redis lease with a fencing
 * token). Reads as an ordered script with abort checks between steps (gh-ost's Migrator).
 *
 * @example
 * const cutover = new Cutover({ store, fleet: new RoutingChannel({ redis }), leases, actor: 'cli:alice' });
 * await cutover.change('split-mail', { to: 'reads_switched', dryRun: true }); // .lines
 * await cutover.change('split-mail', { to: 'reads_switched' });
 */
export class Cutover {
  readonly #c: CutoverConfig;
  readonly settings: CutoverSettings;

  constructor(config: CutoverConfig) {
    this.#c = config;
    this.settings = resolveCutoverSettings(config.settings);
  }

  #now(): Date {
    return this.#c.now?.() ?? new Date();
  }

  /** Evaluates the preconditions of `from -> to` for a migration, without changing anything. */
  async evaluate(migration: MigrationRecord, change: PhaseChange, options: Pick<ChangeOptions, 'acceptUncapturedWrites'> = {}): Promise<CheckResult[]> {
    let events: Promise<MigrationEvent[]> | undefined;
    const ctx: CheckContext = {
      migration,
      change,
      acceptUncapturedWrites: options.acceptUncapturedWrites === true,
      store: this.#c.store,
      fleet: this.#c.fleet,
      settings: this.settings,
      ...(this.#c.servers === undefined ? {} : { servers: this.#c.servers }),
      ...(this.#c.shadowReads === undefined ? {} : { shadowReads: this.#c.shadowReads }),
      now: () => this.#now(),
      events: () => (events ??= this.#c.store.events(migration.id)),
    };
    const results: CheckResult[] = [];
    for (const p of preconditionsFor(change)) {
      try {
        results.push({ name: p.name, ...(await p.check(ctx)) });
      } catch (error) {
        results.push({ name: p.name, status: 'fail', detail: `check failed to run: ${(error as Error).message}` });
      }
    }
    return results;
  }

  /** Moves forward one phase (or to `options.to`, which must be one legal step). */
  async change(idOrName: string, options: ChangeOptions = {}): Promise<CutoverResult> {
    if (options.dryRun) {
      const migration = await this.#c.store.getMigration(idOrName);
      return this.#run(new DryRunSwitcher(this.settings), migration, this.#changeFor(migration, options.to), options, null);
    }
    const id = (await this.#c.store.getMigration(idOrName)).id;
    const lease = await this.#takeLease(id);
    try {
      const recovered = await this.#recover(id, lease);
      const migration = await this.#c.store.getMigration(id);
      // A change that had flipped when its coordinator died was finished just now: that is what a
      // rerun of the same command asked for. Going further takes another command (or an explicit --to).
      if (recovered?.action === 'finished' && (options.to === undefined || options.to === migration.phase || options.stopAfterRecovery === true)) {
        return this.#recoveredResult(migration, recovered);
      }
      const switcher = this.#live(lease);
      return await this.#run(switcher, migration, this.#changeFor(migration, options.to), options, recovered);
    } finally {
      await lease.release();
    }
  }

  /** Goes back one phase (rollback). Refused from `planned` and `finalized`. */
  async rollback(idOrName: string, options: Omit<ChangeOptions, 'to' | 'approve'> = {}): Promise<CutoverResult> {
    const migration = await this.#c.store.getMigration(idOrName);
    const to = previousPhase(migration.phase);
    if (to === null) {
      throw new CleaveError('PHASE_TRANSITION_INVALID', migration.phase === 'finalized' ? `migration ${migration.name} is finalized: ${FINALIZE_WARNING.split(': ')[0]}, it cannot be rolled back` : `migration ${migration.name} is ${migration.phase}: there is nothing to roll back`);
    }
    return this.change(migration.id, { ...options, to, stopAfterRecovery: true });
  }

  #recoveredResult(migration: MigrationRecord, recovered: RecoveryResult): CutoverResult {
    return {
      migrationId: migration.id,
      name: migration.name,
      from: recovered.from,
      to: recovered.to,
      outcome: 'done',
      epoch: migration.epoch,
      checks: [],
      changeId: recovered.changeId,
      reason: `finished the change ${recovered.from} -> ${recovered.to} that ${recovered.interruptedHolder} began and did not finish; nothing else was changed (run the command again to go on from ${migration.phase})`,
      writePause: null,
      lateRouters: [],
      archived: [],
      lines: [],
      recovered,
    };
  }

  /** Enters `finalized` (irreversible; needs `approve`). */
  async finalize(idOrName: string, options: Omit<ChangeOptions, 'to'> = {}): Promise<CutoverResult> {
    return this.change(idOrName, { ...options, to: 'finalized' });
  }

  /**
   * Takes the migration's lease and finishes (flipped) or aborts (not flipped) a change whose
   * coordinator died; `null` when none was interrupted.
   */
  async recover(idOrName: string): Promise<RecoveryResult | null> {
    const id = (await this.#c.store.getMigration(idOrName)).id;
    const lease = await this.#takeLease(id);
    try {
      return await this.#recover(id, lease);
    } finally {
      await lease.release();
    }
  }

  /** The interrupted change of a migration, if any (read-only). */
  async interrupted(idOrName: string): Promise<InterruptedChange | null> {
    const m = await this.#c.store.getMigration(idOrName);
    return interruptedChange(await this.#c.store.events(m.id));
  }

  /**
   * Takes the migration's lease and claims its fencing token in the control store before reading
   * anything to act on: from then on every write of an older coordinator (one paused past its
   * lease) is refused by the store with `STALE_COORDINATOR`.
   */
  async #takeLease(id: string): Promise<CoordinatorLease> {
    const minToken = await this.#c.store.coordinatorToken(id);
    const lease = await this.#c.leases.acquire(id, { waitMs: this.#c.leaseWaitMs ?? this.#c.leases.ttlMs + 1000, minToken });
    try {
      await this.#c.store.claimCoordinator(id, { token: lease.token });
    } catch (error) {
      await lease.release();
      throw error;
    }
    return lease;
  }

  // ---- the archive ------------------------------------------------------------------------

  /**
   * The archived tables of a finalized migration that {@link dropArchive} would drop now (read-only):
   * those finalize recorded, verified to be this migration's archive names and to exist on their
   * servers.
   */
  async archivedTables(idOrName: string): Promise<DropArchiveResult> {
    return this.dropArchive(idOrName, { dryRun: true });
  }

  /**
   * Drops the `_cleave_archived_*` tables finalize left on the source: IRREVERSIBLE, needs
   * `approve`, only for a finalized migration. Under the migration's lease; records a `note`
   * event (`details.archive = 'dropped'`: tables, servers) with the coordinator's fencing token.
   * Idempotent: a re-run finds nothing left to drop. Never drops a table that is not an archive
   * of this migration.
   *
   * @example
   * await cutover.dropArchive('split-mail', { dryRun: true });  // .tables: what it would drop
   * await cutover.dropArchive('split-mail', { approve: true });
   */
  async dropArchive(idOrName: string, options: DropArchiveOptions = {}): Promise<DropArchiveResult> {
    const migration = await this.#c.store.getMigration(idOrName);
    if (migration.phase !== 'finalized') {
      throw new CleaveError('PRECONDITION_FAILED', `migration ${migration.name} is in phase ${migration.phase}: its archive can be dropped only after finalize`, {
        hint: `Finalize it first (\`cleave finalize ${migration.name} --approve\`); before that the source tables are not archived and \`cleave rollback\` still needs them.`,
      });
    }
    const servers = this.#c.servers;
    if (servers === undefined) throw new CleaveError('CONFIG_INVALID', 'dropping the archive needs a connection to the source server, and this coordinator has none');
    const list = async (m: MigrationRecord) => {
      const others = (await this.#c.store.listMigrations()).filter((o) => o.id !== m.id).flatMap((o) => this.archiveRenames(o));
      return droppableArchives(m, this.archiveRenames(m), recordedArchives(await this.#c.store.events(m.id)), others, servers);
    };
    const result = (outcome: DropArchiveResult['outcome'], l: Awaited<ReturnType<typeof list>>): DropArchiveResult => ({
      migrationId: migration.id,
      name: migration.name,
      outcome,
      tables: l.present,
      gone: l.gone,
      skipped: l.skipped,
    });
    const first = await list(migration);
    if (options.dryRun) return result('dry-run', first);
    if (first.present.length === 0) return result('nothing-to-drop', first);
    if (!options.approve) throw new ArchiveDropApprovalRequiredError(migration.name, first.present);

    const lease = await this.#takeLease(migration.id);
    try {
      const current = await list(migration); // under the lease: what another run left
      if (current.present.length === 0) return result('nothing-to-drop', current);
      const store = fencedStore(this.#c.store, lease);
      const dropped: typeof current.present = [];
      let failure: unknown = null;
      try {
        for (const a of current.present) {
          await lease.check();
          await dropArchivedTable(servers(a.server), a);
          dropped.push(a);
        }
      } catch (error) {
        failure = error;
      }
      if (dropped.length > 0) {
        await store.appendEvent(
          migration.id,
          'note',
          { actor: this.#c.actor, reason: options.reason ?? 'drop the archive of a finalized migration (approved)' },
          {
            archive: 'dropped',
            tables: dropped,
            servers: [...new Set(dropped.map((a) => a.server))].sort(),
            token: lease.token,
            holder: lease.holder,
            ...(failure === null ? {} : { failed: `stopped after ${dropped.length} of ${current.present.length}: ${(failure as Error).message}` }),
          },
        );
      }
      if (failure !== null) throw failure;
      return { ...result('dropped', current), tables: dropped };
    } finally {
      await lease.release();
    }
  }

  #changeFor(migration: MigrationRecord, to: MigrationPhase | undefined): PhaseChange {
    const target = to ?? nextPhase(migration.phase);
    if (target === null) throw new CleaveError('PHASE_TRANSITION_INVALID', `migration ${migration.name} is finalized: there is no next phase`);
    return phaseChange(migration.phase, target, { capture: migration.capture });
  }

  #live(lease: CoordinatorLease): LiveSwitcher {
    return new LiveSwitcher({
      store: this.#c.store,
      fleet: this.#c.fleet,
      settings: this.settings,
      lease,
      actor: this.#c.actor,
      ...(this.#c.servers === undefined ? {} : { servers: this.#c.servers }),
      ...(this.#c.onStep === undefined ? {} : { onStep: this.#c.onStep }),
    });
  }

  /** The renames finalize does: every moved table on the source, unless a target is the source itself. */
  archiveRenames(migration: MigrationRecord): ArchiveRename[] {
    const { plan } = migration;
    const sameAsSource = (name: string) => {
      const t = plan.targets[name];
      return t !== undefined && t.server === plan.source.server && t.database === plan.source.database;
    };
    const keep = new Set(plan.moves.filter((m) => (m.kind === 'tables' ? sameAsSource(m.to) : m.ranges.some((r) => sameAsSource(r.target)))).flatMap((m) => (m.kind === 'tables' ? m.tables : [m.table])));
    return movedTables(plan)
      .filter((t) => !keep.has(t))
      .sort()
      .map((table) => ({ server: plan.source.server, database: plan.source.database, table, archive: archiveTableName(migration.name, table) }));
  }

  // ---- the script ------------------------------------------------------------------------

  async #run(sw: Switcher, migration: MigrationRecord, change: PhaseChange, options: ChangeOptions, recovered: RecoveryResult | null): Promise<CutoverResult> {
    const base = { migration, change, tables: movedTables(migration.plan).sort(), reason: options.reason };
    const result = (outcome: CutoverResult['outcome'], extra: Partial<CutoverResult> = {}): CutoverResult => ({
      migrationId: migration.id,
      name: migration.name,
      from: change.from,
      to: change.to,
      outcome,
      epoch: migration.epoch,
      checks,
      changeId: null,
      reason: null,
      writePause: null,
      lateRouters: [],
      archived: [],
      lines: sw instanceof DryRunSwitcher ? sw.lines : [],
      recovered,
      ...extra,
    });

    // 1. Preconditions (and approval for the irreversible step).
    const checks = await this.evaluate(migration, change, options);
    sw.reportChecks(base, checks);
    const failed = checks.filter((c) => c.status === 'fail');
    if (failed.length > 0) {
      const why = `precondition failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
      await sw.refuse(base, why, checks);
      if (sw.dryRun) return result('dry-run', { reason: why });
      throw new PreconditionFailedError(`cannot go from ${change.from} to ${change.to}: ${why}`, checks);
    }
    if (change.irreversible && !options.approve && !sw.dryRun) {
      const why = `approval required: ${FINALIZE_WARNING}`;
      await sw.refuse(base, why, checks);
      throw new CleaveError('APPROVAL_REQUIRED', `${FINALIZE_WARNING}. Pass --approve to finalize migration ${migration.name}.`, {
        hint: `Run \`cleave finalize ${migration.name} --approve\` once you are sure; \`cleave rollback\` is impossible afterwards.`,
      });
    }
    if (change.irreversible && this.archiveRenames(migration).length > 0 && this.#c.servers === undefined && !sw.dryRun) {
      throw new CleaveError('CONFIG_INVALID', 'finalize renames the moved source tables, but this coordinator has no connection to the source server');
    }

    // 2. The change.
    const ctx: ChangeContext = { ...base, changeId: sw.dryRun ? '<change-id>' : randomBytes(6).toString('hex') };
    await sw.begin(ctx);
    let fenceId: string | null = null;
    let fenceAt = 0;
    let guardMoved = false;
    const timing = { fenceAckMs: 0, syncCheckMs: 0, flipMs: 0, epochAckMs: 0, stepsMs: {} as Record<string, number> };
    // Before writes are held: the slow part of moving the guards (DDL) when the primary moves; when
    // readers move to the shadow, its guard row's mark (the capture keeps to the locked sync from here on).
    if (change.shadowReads === 'begin') guardMoved = true;
    const beforeFence = change.primaryMoves ? await sw.prepareGuard(ctx) : change.shadowReads === 'begin' ? await sw.markReads(ctx, change.to) : null;
    if (beforeFence?.status === 'fail') {
      await sw.restoreGuard(ctx, migration).catch(() => undefined);
      await sw.abort(ctx, `switch aborted, epoch ${migration.epoch} kept: ${beforeFence.detail}`, null, {});
      return result('aborted', { changeId: ctx.changeId, reason: beforeFence.detail });
    }
    if (change.fenced) {
      const fence = await sw.fence(ctx);
      fenceId = fence.fenceId;
      fenceAt = fence.at;
      const acks = await sw.awaitFenceAcks(ctx, fence);
      timing.fenceAckMs = performance.now() - fenceAt;
      let abortWhy: string | null = null;
      if (!acks.ok) abortWhy = `router ack deadline missed (${this.settings.fenceAckTimeoutMs} ms) by ${acks.missing.join(', ')}`;
      else {
        const t = performance.now();
        abortWhy = await this.#settle(sw, ctx, () => (guardMoved = true), timing.stepsMs);
        timing.syncCheckMs = performance.now() - t;
      }
      if (abortWhy !== null) {
        // Re-opens the old primary (and keeps the new one closed); a failure here is reported with the abort.
        if (guardMoved) {
          const restored = await sw.restoreGuard(ctx, migration).then(
            () => null,
            (error: unknown) => (error as Error).message,
          );
          if (restored !== null) abortWhy = `${abortWhy}; restoring the placement guards failed too (${restored}): \`cleave cutover ${migration.name}\` restores them`;
        }
        const held = performance.now() - fenceAt;
        const writePause: WritePause = { heldUpToMs: held, ...timing, flipMs: 0, epochAckMs: 0, fenceToUnfenceMs: held };
        await sw.abort(ctx, `switch aborted, epoch ${migration.epoch} kept: ${abortWhy}`, fenceId, { writePause, missing: acks.missing });
        return result('aborted', { changeId: ctx.changeId, reason: abortWhy, writePause });
      }
    }
    const t = performance.now();
    let after: MigrationRecord;
    try {
      after = await sw.flip(ctx, { fenceId, fenceAckMs: Math.round(timing.fenceAckMs), checks: checks.map((c) => `${c.name}:${c.status}`) });
    } catch (error) {
      // Not flipped: the guards go back to the phase the migration stays in (a recovery does the same).
      // Only when the store says so: a flip whose answer was lost (or a coordinator stopped right after
      // it) may have landed, and the guards of the old phase would then contradict the new one.
      if (guardMoved && (await this.#epochStayed(migration))) await sw.restoreGuard(ctx, migration).catch(() => undefined);
      throw error;
    }
    timing.flipMs = performance.now() - t;
    return this.#finish(sw, ctx, after, fenceId, fenceAt, timing, null, (extra) =>
      result(sw.dryRun ? 'dry-run' : 'done', { changeId: sw.dryRun ? null : ctx.changeId, epoch: sw.dryRun ? migration.epoch : after.epoch, ...extra }),
    );
  }

  /**
   * With writes held, before the flip: no failed shadow write pending; when the primary moves, the
   * old primary closed first (writers outside the router get errors from here on), then the
   * counters aligned and the capture caught up with everything committed before the close, then
   * the guards flipped. The reason to abort, or null.
   */
  async #settle(sw: Switcher, ctx: ChangeContext, guardTouched: () => void, stepsMs: Record<string, number>): Promise<string | null> {
    const sync = await timed(stepsMs, 'inSync', () => sw.checkInSync(ctx));
    if (sync.status === 'fail') return `not in sync: ${sync.detail}`;
    if (ctx.change.primaryMoves) {
      guardTouched();
      const closed = await timed(stepsMs, 'closeOldPrimary', () => sw.closeOldPrimary(ctx));
      if (closed.status === 'fail') return closed.detail;
      const counters = await timed(stepsMs, 'alignCounters', () => sw.alignCounters(ctx));
      if (counters.status === 'fail') return counters.detail;
    }
    const capture = await timed(stepsMs, 'captureCatchUp', () => sw.awaitCapture(ctx));
    if (capture.status === 'fail') return capture.detail;
    if (ctx.change.primaryMoves) {
      const guard = await timed(stepsMs, 'moveGuard', () => sw.moveGuard(ctx));
      if (guard.status === 'fail') return guard.detail;
    }
    return null;
  }

  /** Whether the store still holds the migration at `migration`'s epoch (false when it cannot be read). */
  async #epochStayed(migration: MigrationRecord): Promise<boolean> {
    const now = await this.#c.store.getMigration(migration.id).catch(() => null);
    return now !== null && now.epoch === migration.epoch;
  }

  /** After the flip: announce, wait for acks, unfence, archive, journal done. */
  async #finish<T>(
    sw: Switcher,
    ctx: ChangeContext,
    after: MigrationRecord,
    fenceId: string | null,
    fenceAt: number,
    timing: { fenceAckMs: number; syncCheckMs: number; flipMs: number; epochAckMs: number; stepsMs: Record<string, number> },
    resumedFrom: string | null,
    done: (extra: Partial<CutoverResult>) => T,
  ): Promise<T> {
    const epoch = after.epoch;
    // A recovery repeats it (idempotent); a rollback to planned removes the guards. A recovered
    // rollback of the reads keeps the shadow marked as read until every router acknowledged (below).
    if (after.phase === 'planned' || resumedFrom !== null) await sw.restoreGuard(ctx, after, ctx.change.shadowReads === 'end' ? { stillReadIn: ctx.change.from } : {});
    await timed(timing.stepsMs, 'handOverCapture', () => sw.handOverCapture(ctx, after));
    await timed(timing.stepsMs, 'announceEpoch', () => sw.announceEpoch(ctx, epoch));
    const t = performance.now();
    const acks = await sw.awaitEpochAcks(ctx, epoch);
    timing.epochAckMs = performance.now() - t;
    const heldUpToMs = performance.now() - fenceAt;
    if (ctx.change.fenced) await sw.unfence(ctx, fenceId, epoch);
    if (ctx.change.primaryMoves) await sw.releaseGuard(ctx, after);
    // Once no router reads the shadow (a router that did not acknowledge might): the capture may sync it unlocked again.
    if (ctx.change.shadowReads === 'end' && acks.missing.length === 0) await sw.markReads(ctx, after.phase);
    const writePause: WritePause | null =
      ctx.change.fenced && resumedFrom === null ? { heldUpToMs, ...timing, fenceToUnfenceMs: performance.now() - fenceAt } : null;
    const archived = ctx.change.to === 'finalized' ? this.archiveRenames(ctx.migration) : [];
    if (ctx.change.to === 'finalized') await sw.archive(ctx, archived);
    const summary: ChangeSummary = { epoch, writePause, lateRouters: acks.missing, archived, resumedFrom };
    await sw.complete(ctx, summary);
    return done({ writePause, lateRouters: acks.missing, archived });
  }

  async #recover(id: string, lease: CoordinatorLease): Promise<RecoveryResult | null> {
    const interrupted = interruptedChange(await this.#c.store.events(id));
    if (interrupted === null) return null;
    const migration = await this.#c.store.getMigration(id);
    const change = phaseChange(interrupted.from, interrupted.to, { capture: migration.capture });
    // The context as the interrupted coordinator had it: the migration at the old epoch.
    const old: MigrationRecord = { ...migration, phase: interrupted.from, epoch: interrupted.fromEpoch };
    const ctx: ChangeContext = {
      migration: old,
      change,
      changeId: interrupted.changeId,
      tables: movedTables(migration.plan).sort(),
      reason: `recovering change ${interrupted.changeId} of ${interrupted.holder} (token ${interrupted.token}) as token ${lease.token}`,
    };
    const sw = this.#live(lease);
    await lease.check();
    if (interrupted.flipped) {
      await this.#finish(sw, ctx, migration, interrupted.fenceId, performance.now(), { fenceAckMs: 0, syncCheckMs: 0, flipMs: 0, epochAckMs: 0, stepsMs: {} }, interrupted.holder, () => null);
      return { changeId: interrupted.changeId, from: interrupted.from, to: interrupted.to, action: 'finished', interruptedHolder: interrupted.holder, epoch: migration.epoch };
    }
    // It may have moved the guards before it stopped: back to the phase the migration stays in.
    await sw.restoreGuard(ctx, migration);
    await sw.abort(ctx, `switch aborted, epoch ${interrupted.fromEpoch} kept: its coordinator (${interrupted.holder}) stopped before the flip`, interrupted.fenceId, {
      recoveredBy: lease.holder,
    });
    return { changeId: interrupted.changeId, from: interrupted.from, to: interrupted.to, action: 'aborted', interruptedHolder: interrupted.holder, epoch: migration.epoch };
  }
}

/** Runs `step`, adding its duration (ms, rounded to 0.1) to `stepsMs[name]`: where a switch's held time went. */
async function timed<T>(stepsMs: Record<string, number>, name: string, step: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await step();
  } finally {
    stepsMs[name] = Math.round((performance.now() - t) * 10) / 10;
  }
}
