import { CleaveError, PHASE_ROUTING, canTransition, nextPhase, previousPhase, type MigrationPhase, type PhaseRouting } from '@cleave/core';

/** One step of DESIGN's phase table, forward or back. */
export interface PhaseChange {
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  readonly direction: 'forward' | 'rollback';
  /**
   * Whether the change runs the fence protocol: it flips the write primary, so no router may
   * write under the old routing once a router writes under the new one.
   */
  readonly fenced: boolean;
  /** Whether the change cannot be undone (`finalized`). */
  readonly irreversible: boolean;
  readonly routingBefore: PhaseRouting;
  readonly routingAfter: PhaseRouting;
}

/**
 * The change from `from` to `to`, or `PHASE_TRANSITION_INVALID` when it is not one legal step.
 *
 * @example
 * phaseChange('reads_switched', 'writes_switched').fenced; // true: the primary moves to the target
 */
export function phaseChange(from: MigrationPhase, to: MigrationPhase): PhaseChange {
  if (!canTransition(from, to)) {
    const legal = [nextPhase(from), previousPhase(from)].filter((p) => p !== null);
    throw new CleaveError('PHASE_TRANSITION_INVALID', `a migration cannot go from ${from} to ${to}`, {
      hint: legal.length === 0 ? `${from} is final.` : `From ${from} it can go to: ${legal.join(', ')}.`,
    });
  }
  const before = PHASE_ROUTING[from];
  const after = PHASE_ROUTING[to];
  return Object.freeze({
    from,
    to,
    direction: to === nextPhase(from) ? 'forward' : 'rollback',
    fenced: before.primary !== after.primary,
    irreversible: to === 'finalized',
    routingBefore: before,
    routingAfter: after,
  });
}

/** `reads source, primary source, shadow target` */
export function describeRouting(r: PhaseRouting): string {
  return `reads ${r.reads}, primary ${r.primary}, shadow ${r.shadow ?? 'none'}`;
}

/** The warning every finalize carries (CLI, dry run, refusal). */
export const FINALIZE_WARNING =
  'finalize is IRREVERSIBLE: the source stops receiving writes, its moved tables are renamed to _cleave_archived_* names, and no rollback is possible afterwards';
