import { describe, expect, it } from 'vitest';
import { isCleaveError, parsePlan } from '@cleave/core';
import { unitsFor } from './units-for.js';

const plan = parsePlan({
  version: 1,
  name: 'split',
  source: { server: 'source', database: 'accounts' },
  targets: { mail: { server: 'target1', database: 'mail' }, a: { server: 'target1', database: 'shard_a' }, b: { server: 'target2', database: 'shard_b' } },
  moves: [
    { kind: 'tables', tables: ['email_aliases', 'addresses'], to: 'mail' },
    {
      kind: 'shard',
      table: 'sessions',
      key: { column: 'user_id', type: 'integer' },
      ranges: [
        { from: null, to: 100, target: 'a' },
        { from: 100, to: null, target: 'b' },
      ],
    },
  ],
});

describe('unitsFor', () => {
  it('finds units by unit id, or every unit of a table', () => {
    expect(unitsFor(plan, 'sessions').map((u) => u.id)).toEqual(['sessions#0', 'sessions#1']);
    expect(unitsFor(plan, 'sessions#1').map((u) => [u.id, u.targetName, u.filter])).toEqual([
      ['sessions#1', 'b', { column: 'user_id', from: '100', to: null }],
    ]);
    expect(unitsFor(plan, 'addresses').map((u) => u.id)).toEqual(['addresses']);
  });

  it('names the units when the job names none of them', () => {
    let error: unknown;
    try {
      unitsFor(plan, 'users');
    } catch (e) {
      error = e;
    }
    expect(isCleaveError(error, 'NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('migration "split" moves no table or backfill unit named "users"');
    expect((error as { hint?: string }).hint).toBe('Its units are: email_aliases, addresses, sessions#0, sessions#1.');
  });
});
