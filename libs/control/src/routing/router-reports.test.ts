import { describe, expect, it } from 'vitest';
import { heldWriteStats, parseShadowReadReport, summariseHeldWrites, sumShadowReads } from './router-reports.js';

describe('router reports', () => {
  it('held-write stats: count, max and the nearest-rank p99', () => {
    expect(heldWriteStats([])).toEqual({ count: 0, maxMs: 0, p99Ms: 0 });
    expect(heldWriteStats([3, 1, 2])).toEqual({ count: 3, maxMs: 3, p99Ms: 3 });
    const many = Array.from({ length: 200 }, (_, i) => i + 1); // 1..200
    expect(heldWriteStats(many)).toEqual({ count: 200, maxMs: 200, p99Ms: 198 });
  });

  it('combines routers: counts add up, max and p99 are the largest (an upper bound of the fleet p99)', () => {
    const reports = new Map([
      ['a', { count: 2, maxMs: 10, p99Ms: 9, at: 1 }],
      ['b', { count: 5, maxMs: 7, p99Ms: 7, at: 1 }],
    ]);
    expect(summariseHeldWrites(reports, ['c'])).toEqual({ routers: 2, count: 7, maxMs: 10, p99Ms: 9, unreported: ['c'] });
    expect(summariseHeldWrites(new Map(), [])).toEqual({ routers: 0, count: 0, maxMs: 0, p99Ms: 0, unreported: [] });
  });

  it('sums shadow-read reports per epoch and in all; ignores malformed parts', () => {
    const a = parseShadowReadReport('a', { epochs: [{ epoch: 3, phase: 'verified', compared: 10, mismatched: 1, errors: 0 }, { epoch: 4, phase: 'reads_switched', compared: 5, mismatched: 0, errors: 2 }], at: 1 });
    const b = parseShadowReadReport('b', { epochs: [{ epoch: 4, phase: 'reads_switched', compared: 7, mismatched: 2, errors: 0 }, { epoch: 'x' }], at: 2 });
    expect(parseShadowReadReport('c', 'nonsense')).toBeNull();
    const stats = sumShadowReads([a!, b!], []);
    expect(stats).toMatchObject({ compared: 22, mismatched: 3, errors: 2, routers: ['a', 'b'] });
    expect(stats.byEpoch).toEqual([
      { epoch: 3, phase: 'verified', compared: 10, mismatched: 1, errors: 0 },
      { epoch: 4, phase: 'reads_switched', compared: 12, mismatched: 2, errors: 2 },
    ]);
  });
});
