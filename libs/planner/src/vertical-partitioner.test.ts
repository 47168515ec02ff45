import { describe, expect, it } from 'vitest';
import { balancedIntegerBounds } from './shard-ranges.js';
import { partitionItems } from './vertical-partitioner.js';

describe('partitionItems', () => {
  const items = [
    { id: 'a', load: 0.3, bytes: 0, fixedPart: null },
    { id: 'b', load: 0.3, bytes: 0, fixedPart: null },
    { id: 'c', load: 0.2, bytes: 0, fixedPart: null },
    { id: 'd', load: 0.2, bytes: 0, fixedPart: null },
  ];
  it('balances load and keeps co-accessed items together', () => {
    const p = partitionItems({ items, hyperedges: [{ items: [0, 2], load: 0.1 }, { items: [1, 3], load: 0.1 }], parts: 2, fixedLoad: [0, 0] });
    expect(p.partOf[0]).toBe(p.partOf[2]);
    expect(p.partOf[1]).toBe(p.partOf[3]);
    expect(p.partOf[0]).not.toBe(p.partOf[1]);
    expect(p.cut).toBe(0);
    expect(p.loads.map((l) => Number(l.toFixed(6)))).toEqual([0.5, 0.5]);
  });
  it('honours fixed items and fixed load, and is deterministic', () => {
    const problem = { items: items.map((i, k) => (k === 3 ? { ...i, fixedPart: 0 } : i)), hyperedges: [], parts: 3, fixedLoad: [0.1, 0, 0] };
    const p = partitionItems(problem);
    expect(p.partOf[3]).toBe(0);
    expect(partitionItems(problem)).toEqual(p);
  });
});

describe('balancedIntegerBounds', () => {
  it('finds split points with equal rows from a cumulative count', async () => {
    // keys 1..1000, dense: below(v) = v - 1
    const { bounds, counts } = await balancedIntegerBounds(1n, 1000n, 4, 1000, (v) => Promise.resolve(Math.min(1000, Math.max(0, Number(v) - 1))));
    expect(bounds).toEqual([251n, 501n, 751n]);
    expect(counts).toEqual([250, 500, 750]);
  });
});
