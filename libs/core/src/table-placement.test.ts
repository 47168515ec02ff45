import { describe, expect, it } from 'vitest';
import { parsePlan } from './parse-plan.js';
import { rowPlacement, tablePlacement } from './table-placement.js';

const plan = parsePlan({
  version: 1,
  name: 'placement',
  source: { server: 'source', database: 'accounts' },
  targets: { mail: { server: 'target1', database: 'mail' }, lo: { server: 'target1', database: 'shard_lo' }, hi: { server: 'target2', database: 'shard_hi' } },
  moves: [
    { kind: 'tables', tables: ['addresses'], to: 'mail' },
    { kind: 'shard', table: 'sessions', key: { column: 'user_id', type: 'integer' }, ranges: [{ from: null, to: '1000', target: 'lo' }, { from: '1000', to: null, target: 'hi' }] },
  ],
});

describe('tablePlacement', () => {
  it('places a table moved whole on its target and a sharded row by its shard value', () => {
    expect(tablePlacement(plan, 'addresses')?.targetOf()).toEqual({ server: 'target1', database: 'mail' });
    const sessions = tablePlacement(plan, 'sessions');
    expect(sessions?.shardColumn).toBe('user_id');
    expect(sessions?.targets.map((t) => t.database)).toEqual(['shard_lo', 'shard_hi']);
    expect(sessions?.targetOf('999')?.database).toBe('shard_lo');
    expect(sessions?.targetOf(1000)?.database).toBe('shard_hi');
    expect(sessions?.targetOf(18446744073709551615n)?.database).toBe('shard_hi');
    expect(sessions?.targetOf(null)).toBeUndefined();
    expect(tablePlacement(plan, 'users')).toBeUndefined();
  });

  it('takes primary and shadow from the phase', () => {
    const source = plan.source;
    const target = plan.targets['mail']!;
    expect(rowPlacement('dual_write', source, target)).toEqual({ primary: source, shadow: target });
    expect(rowPlacement('writes_switched', source, target)).toEqual({ primary: target, shadow: source });
    expect(rowPlacement('finalized', source, target)).toEqual({ primary: target, shadow: null });
  });
});
