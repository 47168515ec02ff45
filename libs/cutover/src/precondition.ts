import type { MigrationEvent, MigrationRecord } from '@cleave/control';
import type { CutoverSettings } from './cutover-settings.js';
import type { CutoverStore, ServerQueryable } from './cutover-store.js';
import type { PhaseChange } from './phase-change.js';
import type { RouterFleet } from './router-fleet.js';

/** `fail` blocks the change; `warn` is shown (and recorded) but does not block. */
export const CHECK_STATUSES = ['pass', 'warn', 'fail'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** The outcome of one named check. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** One sentence: what was found. */
  readonly detail: string;
}

/** Shadow-read comparisons reported by the routers for one migration. */
export interface ShadowReadStats {
  readonly compared: number;
  readonly mismatched: number;
  /** Shadow reads that failed to run (not compared). */
  readonly errors?: number;
  /** The epoch counted (null or absent: every epoch). */
  readonly epoch?: number | null;
  /** Tables where recent mismatches were found. */
  readonly mismatchedTables?: readonly string[];
  /** The latest mismatches (newest first): table, statement (no values), rows only on each side. */
  readonly recentMismatches?: ReadonlyArray<{ readonly table: string; readonly epoch: number; readonly sql: string; readonly servedOnly: number; readonly otherOnly: number }>;
}

/**
 * Where shadow-read statistics come from (routers report them; `null`: nothing reported).
 * `shadowReadSource(channel)` of `@cleave/control` is the one over the routing channel.
 */
export interface ShadowReadSource {
  /** With `epoch`: only the reads routed under that epoch (the migration's stay in its current phase). */
  shadowReads(migrationId: string, options?: { readonly epoch?: number }): Promise<ShadowReadStats | null>;
}

/** Everything a precondition may look at. Checks only read. */
export interface CheckContext {
  readonly migration: MigrationRecord;
  readonly change: PhaseChange;
  readonly store: CutoverStore;
  readonly fleet: RouterFleet;
  readonly settings: CutoverSettings;
  /** The operator accepted that nothing carries writes to the other side (see `ChangeOptions.acceptUncapturedWrites`). */
  readonly acceptUncapturedWrites?: boolean;
  /** Data servers by name, for checks that ask them (replica lag). */
  readonly servers?: (server: string) => ServerQueryable;
  readonly shadowReads?: ShadowReadSource;
  readonly now: () => Date;
  /** The migration's event log (read once per evaluation). */
  events(): Promise<readonly MigrationEvent[]>;
}

/**
 * A named check a phase change must pass, one per file in `preconditions/`, registered by name
 * in `precondition-registry.ts`.
 */
export interface Precondition {
  readonly name: string;
  /** What it requires, in one sentence (printed by the dry run). */
  readonly description: string;
  check(ctx: CheckContext): Promise<Omit<CheckResult, 'name'>>;
}

export const pass = (detail: string): Omit<CheckResult, 'name'> => ({ status: 'pass', detail });
export const fail = (detail: string): Omit<CheckResult, 'name'> => ({ status: 'fail', detail });
export const warn = (detail: string): Omit<CheckResult, 'name'> => ({ status: 'warn', detail });

/** When the migration last entered `phase` (its latest phase_change into it), or null. */
export function enteredAt(events: readonly MigrationEvent[], phase: string): Date | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e !== undefined && e.kind === 'phase_change' && e.to === phase) return e.at;
  }
  return null;
}
