import { describe, expect, it } from 'vitest';
import { backfillUnits, movedTables } from './backfill-units.js';
import { parsePlan } from './parse-plan.js';

describe('backfillUnits', () => {
  it('lists one unit per moved table and one per shard range, with filters and dropped keys', () => {
    const plan = parsePlan({
      version: 1,
      name: 'split',
      source: { server: 'source', database: 'accounts' },
      targets: { mail: { server: 'target1', database: 'mail' }, s2: { server: 'target2', database: 'sessions' } },
      moves: [
        { kind: 'tables', tables: ['email_aliases', 'addresses'], to: 'mail', droppedForeignKeys: [{ table: 'addresses', name: 'fk_addresses_user' }] },
        { kind: 'shard', table: 'sessions', key: { column: 'user_id', type: 'integer' }, ranges: [{ from: null, to: 1000, target: 'mail' }, { from: 1000, to: null, target: 's2' }] },
      ],
    });
    expect(backfillUnits(plan).map((u) => [u.id, u.targetName, u.target.database, u.filter, u.droppedForeignKeys])).toEqual([
      ['email_aliases', 'mail', 'mail', null, []],
      ['addresses', 'mail', 'mail', null, ['fk_addresses_user']],
      ['sessions#0', 'mail', 'mail', { column: 'user_id', from: null, to: '1000' }, []],
      ['sessions#1', 's2', 'sessions', { column: 'user_id', from: '1000', to: null }, []],
    ]);
    expect(movedTables(plan)).toEqual(['email_aliases', 'addresses', 'sessions']);
  });
});
