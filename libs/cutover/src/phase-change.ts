import { CleaveError, PHASE_ROUTING, canTransition, nextPhase, previousPhase, type MigrationPhase, type PhaseRouting } from '@cleave/core';

/** One step of DESIGN's phase table, forward or back. */
export interface PhaseChange {
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  readonly direction: 'forward' | 'rollback';
  /**
   * Whether the change runs the fence protocol: it flips the write primary, so no router may
   * write under the old routing once a router writes under the new one; or, with binlog capture,
   * it sends reads to the side only the capture was filling, so every committed write must be
   * there first (writes held while the capture catches up).
   */
  readonly fenced: boolean;
  /** Whether the write primary moves (the fence then also aligns auto-increment counters). */
  readonly primaryMoves: boolean;
  /**
   * With the primary staying: whether readers start (`begin`) or stop (`end`) reading the shadow.
   * The shadow's guard row then marks it (the capture syncs a shadow unlocked only while nobody
   * reads it); a change that moves the primary sets the mark with its guard flip.
   */
  readonly shadowReads: 'begin' | 'end' | 'unchanged';
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
 * phaseChange('verified', 'reads_switched', { capture: true }).fenced; // true: reads move to what the capture filled
 */
export function phaseChange(from: MigrationPhase, to: MigrationPhase, options: { capture?: boolean } = {}): PhaseChange {
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
    fenced: before.primary !== after.primary || (options.capture === true && readsMoveToShadow(before, after)),
    primaryMoves: before.primary !== after.primary,
    shadowReads: before.primary !== after.primary ? 'unchanged' : readsMoveToShadow(before, after) ? 'begin' : readsMoveToShadow(after, before) ? 'end' : 'unchanged',
    irreversible: to === 'finalized',
    routingBefore: before,
    routingAfter: after,
  });
}

/**
 * Readers move to the side that is not the primary. With capture, routers write that side only
 * while readers read it, so until this change it was filled by the capture alone, behind by its lag.
 */
function readsMoveToShadow(before: PhaseRouting, after: PhaseRouting): boolean {
  return before.reads !== after.reads && after.reads === after.shadow;
}

/** `reads source, primary source, shadow target` */
export function describeRouting(r: PhaseRouting): string {
  return `reads ${r.reads}, primary ${r.primary}, shadow ${r.shadow ?? 'none'}`;
}

/** The warning every finalize carries (CLI, dry run, refusal). */
export const FINALIZE_WARNING =
  'finalize is IRREVERSIBLE: the source stops receiving writes, its moved tables are renamed to _cleave_archived_* names, and no rollback is possible afterwards';
