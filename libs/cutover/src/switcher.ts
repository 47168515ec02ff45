import type { MigrationPhase } from '@cleave/core';
import type { AckWaitResult, MigrationRecord } from '@cleave/control';
import type { CheckResult } from './precondition.js';
import type { PhaseChange } from './phase-change.js';
import type { GuardReadsOptions } from './placement-guard-sides.js';

/** The change being run: what every step of a {@link Switcher} receives. */
export interface ChangeContext {
  /** The migration as it was when the change began (its epoch is the old epoch). */
  readonly migration: MigrationRecord;
  readonly change: PhaseChange;
  /** Unique id of this change, recorded with every journal entry. */
  readonly changeId: string;
  /** The moved source tables, sorted. */
  readonly tables: readonly string[];
  readonly reason: string | undefined;
}

/** A published fence. */
export interface FenceHandle {
  readonly fenceId: string;
  /** Routers whose applied epoch is <= this hold writes. */
  readonly epoch: number;
  /** `performance.now()` when it was published (the start of the write pause). */
  readonly at: number;
}

/** One table finalize renames on the source. */
export interface ArchiveRename {
  readonly server: string;
  readonly database: string;
  readonly table: string;
  readonly archive: string;
}

/** How long writes were held by a switch, as the coordinator measured it (ms). */
export interface WritePause {
  /**
   * From the fence to the last router's ack of the new epoch (routers release held writes when
   * they apply it), or to the unfence of an abort: no write was held longer.
   */
  readonly heldUpToMs: number;
  readonly fenceAckMs: number;
  /** The in-sync check and the auto-increment alignment, with writes held. */
  readonly syncCheckMs: number;
  readonly flipMs: number;
  readonly epochAckMs: number;
  readonly fenceToUnfenceMs: number;
  /** Each step with writes held, by name (inSync, closeOldPrimary, alignCounters, captureCatchUp, moveGuard, handOverCapture, announceEpoch). */
  readonly stepsMs: Readonly<Record<string, number>>;
}

/** What the change recorded when it completed. */
export interface ChangeSummary {
  readonly epoch: number;
  readonly writePause: WritePause | null;
  /** Live routers that had not acked the new epoch by the deadline (they reload it by polling). */
  readonly lateRouters: readonly string[];
  readonly archived: readonly ArchiveRename[];
  readonly resumedFrom: string | null;
}

/**
 * The steps of a phase change, each one call; the cutover script (`Cutover`) calls them in order
 * with abort checks between them. Two twins: {@link LiveSwitcher} does it; `DryRunSwitcher`
 * prints what it would do, as deterministic lines (Vitess' traffic switcher pattern).
 */
export interface Switcher {
  readonly dryRun: boolean;
  /** The precondition results (already evaluated, sorted by name). */
  reportChecks(ctx: Omit<ChangeContext, 'changeId'>, checks: readonly CheckResult[]): void;
  /** A refused change: recorded as a `refused` event naming the failing checks. */
  refuse(ctx: Omit<ChangeContext, 'changeId'>, why: string, checks: readonly CheckResult[]): Promise<void>;
  /** Journals the change's start (before anything is published). */
  begin(ctx: ChangeContext): Promise<void>;
  fence(ctx: ChangeContext): Promise<FenceHandle>;
  awaitFenceAcks(ctx: ChangeContext, fence: FenceHandle): Promise<AckWaitResult>;
  /** With writes held: the shadow has every acknowledged write. */
  checkInSync(ctx: ChangeContext): Promise<CheckResult>;
  /**
   * With writes held, when the write primary moves: the new primary's auto-increment counters
   * are raised to the old primary's (no id is handed out twice). `fail` aborts the change.
   */
  alignCounters(ctx: ChangeContext): Promise<CheckResult>;
  /** With writes held: every capture stream applied what its server committed. `fail` aborts the change. */
  awaitCapture(ctx: ChangeContext): Promise<CheckResult>;
  /**
   * Before the fence, when the write primary moves: the placement guard's triggers on the side
   * the new phase denies, still letting writes through (the slow DDL, out of the write pause).
   * `fail` refuses the change.
   */
  prepareGuard(ctx: ChangeContext): Promise<CheckResult>;
  /**
   * When the reads move and the primary stays: marks whether each shadow serves reads in `phase`
   * (the binlog capture syncs a shadow unlocked only while it serves none). Before the fence when
   * the reads move to the shadow (`fail` refuses the change); after every router acknowledged the
   * new routing when they leave it.
   */
  markReads(ctx: ChangeContext, phase: MigrationPhase): Promise<CheckResult>;
  /**
   * With writes held, when the write primary moves, before anything else: the old primary refuses
   * writes without the new guard epoch (writers outside the router are not held by the fence).
   * `fail` aborts the change (then {@link restoreGuard}).
   */
  closeOldPrimary(ctx: ChangeContext): Promise<CheckResult>;
  /**
   * With writes held, when the write primary moves, before the flip: the guard rows flip (the old
   * primary refuses writes without the new guard epoch, the new primary takes every write).
   * `fail` aborts the change (then {@link restoreGuard}).
   */
  moveGuard(ctx: ChangeContext): Promise<CheckResult>;
  /** After the unfence: the new primary's guard triggers go. */
  releaseGuard(ctx: ChangeContext, after: MigrationRecord): Promise<void>;
  /**
   * The guards as the migration's current phase and guard epoch want them (an aborted change, a
   * recovery, a rollback to planned); `options.stillReadIn` keeps the read mark of a phase whose
   * readers may not have moved yet.
   */
  restoreGuard(ctx: ChangeContext, migration: MigrationRecord, options?: GuardReadsOptions): Promise<void>;
  /** After the flip, writes still held: start the new phase's capture streams, retire the old ones. */
  handOverCapture(ctx: ChangeContext, after: MigrationRecord): Promise<void>;
  /** The point of no return of this change: phase and epoch, compare-and-set, with the event. */
  flip(ctx: ChangeContext, details: Record<string, unknown>): Promise<MigrationRecord>;
  announceEpoch(ctx: ChangeContext, epoch: number): Promise<void>;
  awaitEpochAcks(ctx: ChangeContext, epoch: number): Promise<AckWaitResult>;
  /** Lifts the fence; routers still on an epoch older than `epoch` keep holding writes until they load it. */
  unfence(ctx: ChangeContext, fenceId: string | null, epoch: number): Promise<void>;
  archive(ctx: ChangeContext, renames: readonly ArchiveRename[]): Promise<void>;
  complete(ctx: ChangeContext, summary: ChangeSummary): Promise<void>;
  /** Abandons the change before its flip: lifts the fence, keeps the old epoch, records why. */
  abort(ctx: ChangeContext, why: string, fenceId: string | null, details: Record<string, unknown>): Promise<void>;
}
