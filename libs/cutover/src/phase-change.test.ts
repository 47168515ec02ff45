import { describe, expect, it } from 'vitest';
import { MIGRATION_PHASES, isCleaveError } from '@cleave/core';
import { phaseChange } from './phase-change.js';
import { preconditionsFor, CHANGE_PRECONDITIONS, PRECONDITIONS } from './precondition-registry.js';
import { archiveTableName } from './archive-name.js';

describe('phaseChange', () => {
  it('follows DESIGN: forward one step, rollback from every phase but planned and finalized', () => {
    const legal = MIGRATION_PHASES.flatMap((from) =>
      MIGRATION_PHASES.filter((to) => {
        try {
          phaseChange(from, to);
          return true;
        } catch {
          return false;
        }
      }).map((to) => `${from}->${to}:${phaseChange(from, to).direction}`),
    );
    expect(legal).toEqual([
      'planned->dual_write:forward',
      'dual_write->planned:rollback',
      'dual_write->verified:forward',
      'verified->dual_write:rollback',
      'verified->reads_switched:forward',
      'reads_switched->verified:rollback',
      'reads_switched->writes_switched:forward',
      'writes_switched->reads_switched:rollback',
      'writes_switched->finalized:forward',
    ]);
  });

  it('names the changes where readers start or stop reading the shadow while the primary stays (the guard row marks it)', () => {
    const marked = MIGRATION_PHASES.flatMap((from) =>
      MIGRATION_PHASES.flatMap((to) => {
        try {
          const change = phaseChange(from, to);
          return change.shadowReads === 'unchanged' ? [] : [`${from}->${to}:${change.shadowReads}`];
        } catch {
          return [];
        }
      }),
    );
    expect(marked).toEqual(['verified->reads_switched:begin', 'reads_switched->verified:end']);
  });

  it('fences exactly the changes that move the write primary; only finalize is irreversible', () => {
    expect(phaseChange('reads_switched', 'writes_switched')).toMatchObject({ fenced: true, irreversible: false });
    expect(phaseChange('writes_switched', 'reads_switched')).toMatchObject({ fenced: true, direction: 'rollback' });
    expect(phaseChange('verified', 'reads_switched').fenced).toBe(false);
    expect(phaseChange('writes_switched', 'finalized')).toMatchObject({ fenced: false, irreversible: true });
  });

  it('with binlog capture also fences the reads switch (readers move to what only the capture filled), not its rollback', () => {
    const fencedWithCapture = MIGRATION_PHASES.flatMap((from) =>
      MIGRATION_PHASES.filter((to) => to !== from)
        .map((to) => {
          try {
            return phaseChange(from, to, { capture: true });
          } catch {
            return null;
          }
        })
        .filter((c) => c?.fenced === true)
        .map((c) => `${c!.from}->${c!.to}${c!.primaryMoves ? ' (primary moves)' : ''}`),
    );
    expect(fencedWithCapture).toEqual(['verified->reads_switched', 'reads_switched->writes_switched (primary moves)', 'writes_switched->reads_switched (primary moves)']);
  });

  it('refuses a skip with PHASE_TRANSITION_INVALID and says where it can go', () => {
    const error = (() => {
      try {
        phaseChange('dual_write', 'reads_switched');
      } catch (e) {
        return e;
      }
    })();
    expect(isCleaveError(error, 'PHASE_TRANSITION_INVALID')).toBe(true);
    expect((error as { hint: string }).hint).toBe('From dual_write it can go to: verified, planned.');
    expect(() => phaseChange('finalized', 'writes_switched')).toThrow('a migration cannot go from finalized to writes_switched');
  });
});

describe('precondition registry', () => {
  it('every change of the phase table lists registered checks, returned sorted', () => {
    for (const names of Object.values(CHANGE_PRECONDITIONS)) for (const n of names ?? []) expect(PRECONDITIONS.has(n)).toBe(true);
    expect(preconditionsFor({ from: 'reads_switched', to: 'writes_switched' }).map((p) => p.name)).toEqual([
      'all-routers-acked',
      'capture-healthy',
      'shadow-failures-repaired',
      'shadow-read-mismatches-zero',
      'soak-time-elapsed',
      'target-lag-ok',
      'verification-clean',
    ]);
    expect(preconditionsFor({ from: 'dual_write', to: 'planned' })).toEqual([]);
  });
});

describe('archiveTableName', () => {
  it('is clearly marked, and stays within 64 characters, unique by a hash', () => {
    expect(archiveTableName('split-mail', 'email_aliases')).toBe('_cleave_archived_split-mail_email_aliases');
    const long = archiveTableName('a'.repeat(60), 'users');
    expect(long).toHaveLength(64);
    expect(long.startsWith('_cleave_archived_aaaa')).toBe(true);
    expect(long).not.toBe(archiveTableName('a'.repeat(60), 'users2'));
  });
});
