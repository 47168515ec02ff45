import { describe, expect, it } from 'vitest';
import { fmtDuration } from './output.js';

describe('fmtDuration', () => {
  it('reads at every scale, up to days', () => {
    expect(fmtDuration(12.4)).toBe('12 ms');
    expect(fmtDuration(4_250)).toBe('4.3 s');
    expect(fmtDuration(185_000)).toBe('3 min 5 s');
    expect(fmtDuration(3570 * 60_000 + 5_000)).toBe('2 d 11 h');
    expect(fmtDuration(2 * 3_600_000 + 7 * 60_000)).toBe('2 h 7 min');
  });
});
