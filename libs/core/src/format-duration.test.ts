import { describe, expect, it } from 'vitest';
import { formatDuration } from './format-duration.js';

describe('formatDuration', () => {
  it('reads at every scale, up to days', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(4_250)).toBe('4.3 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(3570 * 60_000 + 5_000)).toBe('2 d 11 h');
    expect(formatDuration(2 * 3_600_000 + 7 * 60_000)).toBe('2 h 7 min');
  });
});
