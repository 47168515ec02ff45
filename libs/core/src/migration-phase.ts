/**
 * The phases of a migration, in order. Backfill and verification run in `dual_write`;
 * `finalized` is the only irreversible phase.
 */
export const MIGRATION_PHASES = [
  'planned',
  'dual_write',
  'verified',
  'reads_switched',
  'writes_switched',
  'finalized',
] as const;

/** One of {@link MIGRATION_PHASES}. */
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** Whether `value` is one of {@link MIGRATION_PHASES}. */
export function isMigrationPhase(value: unknown): value is MigrationPhase {
  return typeof value === 'string' && (MIGRATION_PHASES as readonly string[]).includes(value);
}

/** The two sides of a move. */
export const MIGRATION_SIDES = ['source', 'target'] as const;

/** One of {@link MIGRATION_SIDES}. */
export type MigrationSide = (typeof MIGRATION_SIDES)[number];

/** How routers serve a migration's tables in one phase. */
export interface PhaseRouting {
  /** Where reads go. */
  readonly reads: MigrationSide;
  /** Where writes go first; the primary is the truth, and the caller waits for it. */
  readonly primary: MigrationSide;
  /**
   * Where the row images written to the primary are copied after it (`null`: nowhere).
   * A failed shadow write never fails the caller; it is recorded and repaired.
   */
  readonly shadow: MigrationSide | null;
  /**
   * Whether `cleave rollback` can leave this phase backwards. False for `planned` (nothing to
   * undo) and `finalized` (irreversible).
   */
  readonly reversible: boolean;
}

/** The routing table of DESIGN.md, as data. */
export const PHASE_ROUTING: Readonly<Record<MigrationPhase, PhaseRouting>> = Object.freeze({
  planned: Object.freeze({ reads: 'source', primary: 'source', shadow: null, reversible: false }),
  dual_write: Object.freeze({ reads: 'source', primary: 'source', shadow: 'target', reversible: true }),
  verified: Object.freeze({ reads: 'source', primary: 'source', shadow: 'target', reversible: true }),
  reads_switched: Object.freeze({ reads: 'target', primary: 'source', shadow: 'target', reversible: true }),
  writes_switched: Object.freeze({ reads: 'target', primary: 'target', shadow: 'source', reversible: true }),
  finalized: Object.freeze({ reads: 'target', primary: 'target', shadow: null, reversible: false }),
});

/**
 * The phase after `phase`, or `null` after `finalized`.
 *
 * @example
 * nextPhase('verified'); // 'reads_switched'
 */
export function nextPhase(phase: MigrationPhase): MigrationPhase | null {
  return MIGRATION_PHASES[MIGRATION_PHASES.indexOf(phase) + 1] ?? null;
}

/**
 * Where `cleave rollback` goes from `phase`: the phase before it (`dual_write` -> `planned`,
 * which stops shadow writes). `null` for `planned` (nothing to undo) and `finalized`
 * (irreversible).
 *
 * @example
 * previousPhase('writes_switched'); // 'reads_switched'
 * previousPhase('finalized'); // null
 */
export function previousPhase(phase: MigrationPhase): MigrationPhase | null {
  if (!PHASE_ROUTING[phase].reversible) return null;
  return MIGRATION_PHASES[MIGRATION_PHASES.indexOf(phase) - 1] ?? null;
}

/**
 * Whether going from `from` to `to` moves forward (towards `finalized`), by any number of steps.
 *
 * @example
 * isForward('planned', 'verified'); // true
 * isForward('verified', 'dual_write'); // false
 */
export function isForward(from: MigrationPhase, to: MigrationPhase): boolean {
  return MIGRATION_PHASES.indexOf(to) > MIGRATION_PHASES.indexOf(from);
}

/**
 * Whether `from` -> `to` is one legal step: the next phase, or the rollback target.
 *
 * @example
 * canTransition('dual_write', 'verified'); // true
 * canTransition('dual_write', 'reads_switched'); // false: skips verification
 */
export function canTransition(from: MigrationPhase, to: MigrationPhase): boolean {
  return to === nextPhase(from) || to === previousPhase(from);
}
