import { describe, expect, it } from 'vitest';
import {
  MIGRATION_PHASES,
  PHASE_ROUTING,
  canTransition,
  isForward,
  isMigrationPhase,
  nextPhase,
  previousPhase,
} from './migration-phase.js';

describe('MigrationPhase', () => {
  it('lists the phases in order', () => {
    expect(MIGRATION_PHASES).toEqual(['planned', 'dual_write', 'verified', 'reads_switched', 'writes_switched', 'finalized']);
  });

  it('validates phase names', () => {
    expect(isMigrationPhase('dual_write')).toBe(true);
    expect(isMigrationPhase('dual-write')).toBe(false);
    expect(isMigrationPhase(undefined)).toBe(false);
  });

  it('routes each phase as DESIGN.md says', () => {
    expect(PHASE_ROUTING).toEqual({
      planned: { reads: 'source', primary: 'source', shadow: null, reversible: false },
      dual_write: { reads: 'source', primary: 'source', shadow: 'target', reversible: true },
      verified: { reads: 'source', primary: 'source', shadow: 'target', reversible: true },
      reads_switched: { reads: 'target', primary: 'source', shadow: 'target', reversible: true },
      writes_switched: { reads: 'target', primary: 'target', shadow: 'source', reversible: true },
      finalized: { reads: 'target', primary: 'target', shadow: null, reversible: false },
    });
    expect(Object.isFrozen(PHASE_ROUTING)).toBe(true);
    expect(Object.isFrozen(PHASE_ROUTING.dual_write)).toBe(true);
  });

  it('never routes the shadow to the primary', () => {
    for (const phase of MIGRATION_PHASES) {
      const routing = PHASE_ROUTING[phase];
      expect(routing.shadow === routing.primary, phase).toBe(false);
    }
  });

  it('steps forward', () => {
    expect(MIGRATION_PHASES.map(nextPhase)).toEqual([
      'dual_write',
      'verified',
      'reads_switched',
      'writes_switched',
      'finalized',
      null,
    ]);
  });

  it('rolls back one phase, never from planned or finalized', () => {
    expect(MIGRATION_PHASES.map(previousPhase)).toEqual([null, 'planned', 'dual_write', 'verified', 'reads_switched', null]);
  });

  it('tells forward from backward', () => {
    expect(isForward('planned', 'dual_write')).toBe(true);
    expect(isForward('planned', 'finalized')).toBe(true);
    expect(isForward('reads_switched', 'verified')).toBe(false);
    expect(isForward('verified', 'verified')).toBe(false);
  });

  it('allows only single steps: next, or rollback', () => {
    expect(canTransition('dual_write', 'verified')).toBe(true);
    expect(canTransition('dual_write', 'planned')).toBe(true);
    expect(canTransition('dual_write', 'reads_switched')).toBe(false);
    expect(canTransition('writes_switched', 'finalized')).toBe(true);
    expect(canTransition('finalized', 'writes_switched')).toBe(false);
    expect(canTransition('planned', 'planned')).toBe(false);
  });
});
