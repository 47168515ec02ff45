import { MIGRATION_PHASES, PHASE_ROUTING, nextPhase, previousPhase, type MigrationPhase } from '@cleave/core';
import type { MigrationRecord } from '@cleave/control';
import { FINALIZE_WARNING, PRECONDITIONS, describeRouting, phaseChange, type CheckResult } from '@cleave/cutover';
import type { StepChecks } from './precondition-watch.js';

/** One phase of the stepper. */
export interface StepperPhase {
  readonly phase: MigrationPhase;
  readonly state: 'done' | 'current' | 'ahead';
}

/** A check of a step with what it requires (the dry run's `[requires: …]`). */
export interface StepCheck extends CheckResult {
  readonly requires: string;
}

/** A step the migration may take from its current phase: where to, what changes, what it needs. */
export interface StepView {
  readonly to: MigrationPhase;
  readonly direction: 'forward' | 'rollback';
  readonly fenced: boolean;
  readonly irreversible: boolean;
  /** Routing after the step (`reads source, primary target, shadow source`). */
  readonly routingAfter: string;
  readonly checks: readonly StepCheck[];
  /** A check fails: the step would be refused now. */
  readonly blocked: boolean;
  readonly warning: string | null;
}

/** Which action buttons the page shows (each only where the phase table allows it and the token is set). */
export interface ActionsView {
  /** The worker has an action token (CLEAVE_UI_TOKEN); without one the dashboard is read-only. */
  readonly tokenSet: boolean;
  /** Advance to this phase (never `finalized`, the finalize button; never out of `planned`, which `cleave start` leaves). */
  readonly advance: MigrationPhase | null;
  readonly rollback: MigrationPhase | null;
  readonly finalize: boolean;
}

export interface StepperView {
  readonly phases: readonly StepperPhase[];
  readonly current: MigrationPhase;
  readonly cancelled: boolean;
  readonly routing: string;
  readonly next: StepView | null;
  readonly rollback: StepView | null;
  /** When the checks were evaluated (ISO); null when there is no step to check. */
  readonly checkedAt: string | null;
  readonly actions: ActionsView;
}

/** The steps a migration may take now: none once cancelled or finalized. */
export function possibleSteps(m: MigrationRecord): { next: MigrationPhase | null; rollback: MigrationPhase | null } {
  if (m.cancelledAt !== null) return { next: null, rollback: null };
  return { next: nextPhase(m.phase), rollback: previousPhase(m.phase) };
}

function step(m: MigrationRecord, to: MigrationPhase, checks: readonly CheckResult[]): StepView {
  const change = phaseChange(m.phase, to, { capture: m.capture });
  return {
    to,
    direction: change.direction,
    fenced: change.fenced,
    irreversible: change.irreversible,
    routingAfter: describeRouting(change.routingAfter),
    checks: [...checks].sort((a, b) => a.name.localeCompare(b.name)).map((c) => ({ ...c, requires: PRECONDITIONS.get(c.name)?.description ?? '' })),
    blocked: checks.some((c) => c.status === 'fail'),
    warning: change.irreversible ? FINALIZE_WARNING : null,
  };
}

/** Where the migration is, what is next with its checks, and the rollback from here. */
export function phaseStepper(m: MigrationRecord, checks: StepChecks | null, tokenSet: boolean): StepperView {
  const steps = possibleSteps(m);
  const at = MIGRATION_PHASES.indexOf(m.phase);
  const next = steps.next === null ? null : step(m, steps.next, checks?.next ?? []);
  const rollback = steps.rollback === null ? null : step(m, steps.rollback, checks?.rollback ?? []);
  return {
    phases: MIGRATION_PHASES.map((phase, i) => ({ phase, state: i < at ? 'done' : i === at ? 'current' : 'ahead' })),
    current: m.phase,
    cancelled: m.cancelledAt !== null,
    routing: describeRouting(PHASE_ROUTING[m.phase]),
    next,
    rollback,
    checkedAt: next === null && rollback === null ? null : (checks?.checkedAt.toISOString() ?? null),
    actions: {
      tokenSet,
      // Out of planned goes `cleave start` (it also queues the copy), not a bare phase change.
      advance: tokenSet && steps.next !== null && steps.next !== 'finalized' && m.phase !== 'planned' ? steps.next : null,
      rollback: tokenSet ? steps.rollback : null,
      finalize: tokenSet && steps.next === 'finalized',
    },
  };
}
