import type { MigrationPhase } from '@cleave/core';
import type { Precondition } from './precondition.js';
import type { PhaseChange } from './phase-change.js';
import { allRoutersAcked } from './preconditions/all-routers-acked.js';
import { backfillComplete } from './preconditions/backfill-complete.js';
import { captureHealthy } from './preconditions/capture-healthy.js';
import { shadowFailuresRepaired } from './preconditions/shadow-failures-repaired.js';
import { shadowReadMismatchesZero } from './preconditions/shadow-read-mismatches-zero.js';
import { soakTimeElapsed } from './preconditions/soak-time-elapsed.js';
import { targetLagOk } from './preconditions/target-lag-ok.js';
import { verificationClean } from './preconditions/verification-clean.js';

/** Every precondition, by name. */
export const PRECONDITIONS: ReadonlyMap<string, Precondition> = new Map(
  [allRoutersAcked, backfillComplete, captureHealthy, shadowFailuresRepaired, shadowReadMismatchesZero, soakTimeElapsed, targetLagOk, verificationClean].map((p) => [p.name, p]),
);

type ChangeKey = `${MigrationPhase}->${MigrationPhase}`;

/**
 * Which checks each step of the phase table must pass. Rollbacks are the escape hatch and check
 * little; a rollback that moves the primary back needs the old side to have every write.
 */
export const CHANGE_PRECONDITIONS: Readonly<Partial<Record<ChangeKey, readonly string[]>>> = Object.freeze({
  'planned->dual_write': [],
  'dual_write->verified': ['all-routers-acked', 'backfill-complete', 'capture-healthy', 'shadow-failures-repaired', 'verification-clean'],
  'verified->reads_switched': ['all-routers-acked', 'capture-healthy', 'shadow-failures-repaired', 'soak-time-elapsed', 'target-lag-ok', 'verification-clean'],
  'reads_switched->writes_switched': ['all-routers-acked', 'capture-healthy', 'shadow-failures-repaired', 'shadow-read-mismatches-zero', 'soak-time-elapsed', 'target-lag-ok', 'verification-clean'],
  'writes_switched->finalized': ['all-routers-acked', 'capture-healthy', 'shadow-failures-repaired', 'soak-time-elapsed', 'verification-clean'],
  'dual_write->planned': [],
  'verified->dual_write': [],
  'reads_switched->verified': [],
  'writes_switched->reads_switched': ['capture-healthy', 'shadow-failures-repaired'],
});

/** The preconditions of a change, sorted by name. */
export function preconditionsFor(change: Pick<PhaseChange, 'from' | 'to'>): Precondition[] {
  const names = CHANGE_PRECONDITIONS[`${change.from}->${change.to}`] ?? [];
  return [...names].sort().map((name) => {
    const p = PRECONDITIONS.get(name);
    if (p === undefined) throw new Error(`unregistered precondition ${name}`);
    return p;
  });
}
