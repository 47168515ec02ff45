import { describe, expect, it } from 'vitest';
import { isCleaveError } from '@cleave/core';
import { AdaptiveChunkSize } from './adaptive-chunk-size.js';

describe('AdaptiveChunkSize', () => {
  it('starts at the initial size, clamped to the bounds', () => {
    expect(new AdaptiveChunkSize().rows).toBe(1000);
    expect(new AdaptiveChunkSize({ initialRows: 5 }).rows).toBe(100);
    expect(new AdaptiveChunkSize({ initialRows: 1e9 }).rows).toBe(20_000);
  });

  it('grows when chunks are fast and shrinks when they are slow, smoothed', () => {
    const size = new AdaptiveChunkSize({ targetMs: 500, initialRows: 1000 });
    expect(size.feedback(1000, 125)).toBe(2000); // ideal 4000, half-way in log space
    expect(size.feedback(2000, 2000)).toBe(1000); // ideal 500
  });

  it('converges to the size that takes the target time at a steady rate', () => {
    const size = new AdaptiveChunkSize({ targetMs: 500, initialRows: 100 });
    const rowsPerMs = 7; // ideal 3500 rows
    for (let i = 0; i < 30; i += 1) size.feedback(size.rows, size.rows / rowsPerMs);
    expect(Math.abs(size.rows - 3500)).toBeLessThanOrEqual(2);
  });

  it('never leaves its bounds and moves at most maxStep per chunk', () => {
    const size = new AdaptiveChunkSize({ minRows: 200, maxRows: 5000, initialRows: 1000, smoothing: 1, maxStep: 2 });
    expect(size.feedback(1000, 0)).toBe(2000); // 0 ms counts as 1 ms: ideal huge, step capped at 2x
    expect(size.feedback(2000, 1)).toBe(4000);
    expect(size.feedback(4000, 1)).toBe(5000);
    expect(size.feedback(5000, 1e9)).toBe(2500);
    for (let i = 0; i < 10; i += 1) size.feedback(size.rows, 1e9);
    expect(size.rows).toBe(200);
  });

  it('ignores chunks that covered no rows', () => {
    const size = new AdaptiveChunkSize();
    expect(size.feedback(0, 3)).toBe(1000);
    expect(size.feedback(10, Number.NaN)).toBe(1000);
  });

  it('honours a configured target time', () => {
    const size = new AdaptiveChunkSize({ targetMs: 100, smoothing: 1 });
    expect(size.feedback(1000, 400)).toBe(250);
  });

  it('refuses bad settings with CONFIG_INVALID', () => {
    for (const bad of [{ targetMs: 0 }, { minRows: 0 }, { minRows: 10, maxRows: 5 }, { smoothing: 0 }, { smoothing: 2 }, { maxStep: 1 }]) {
      let error: unknown;
      try {
        new AdaptiveChunkSize(bad);
      } catch (e) {
        error = e;
      }
      expect(isCleaveError(error, 'CONFIG_INVALID'), JSON.stringify(bad)).toBe(true);
    }
  });
});
