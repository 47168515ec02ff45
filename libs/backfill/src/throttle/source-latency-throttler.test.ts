import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { isCleaveError } from '@cleave/core';
import { useTestDatabases } from '@cleave/testing';
import { testPool } from '../../test/helpers.js';
import { SourceLatencyThrottler, type ProbePool } from './source-latency-throttler.js';

// A pool that never hands out a connection: decide() is driven directly with latencies.
const unused: ProbePool = { getConnection: () => Promise.reject(new Error('not used')) };

describe('SourceLatencyThrottler', () => {
  it('throttles when the latency exceeds ratio x the baseline and baseline + minExtraMs', () => {
    let now = 0;
    const t = new SourceLatencyThrottler({ db: unused, ratio: 2, minExtraMs: 0.5, now: () => now });
    expect(t.decide(1)).toEqual({ throttle: false }); // the first sample is the baseline
    expect(t.baselineMs).toBe(1);
    expect(t.decide(1.9)).toEqual({ throttle: false });
    const slow = t.decide(2.5);
    expect(slow.throttle).toBe(true);
    expect(slow.throttle && slow.reason).toBe('source probe latency 2.50 ms > 2.00 ms (baseline 1.00 ms)');
    now += 1;
    // Sub-millisecond noise on a tiny baseline never throttles.
    const tiny = new SourceLatencyThrottler({ db: unused, ratio: 2, minExtraMs: 0.5, now: () => now });
    tiny.decide(0.05);
    expect(tiny.decide(0.4)).toEqual({ throttle: false });
    expect(tiny.decide(0.6).throttle).toBe(true);
  });

  it('forgets a baseline older than its window, keeping the lowest recent sample', () => {
    let now = 0;
    const t = new SourceLatencyThrottler({ db: unused, ratio: 2, minExtraMs: 0, baselineWindowMs: 1000, now: () => now });
    t.decide(1);
    now = 500;
    t.decide(3); // throttles against 1
    expect(t.baselineMs).toBe(1);
    now = 1200;
    t.decide(4); // the sample of t=0 has expired: the baseline is now 3
    expect(t.baselineMs).toBe(3);
    expect(t.decide(5)).toEqual({ throttle: false });
  });

  it('refuses bad settings with CONFIG_INVALID', () => {
    for (const bad of [{ ratio: 1 }, { minExtraMs: -1 }, { probes: 0 }]) {
      let error: unknown;
      try {
        new SourceLatencyThrottler({ db: unused, ...bad });
      } catch (e) {
        error = e;
      }
      expect(isCleaveError(error, 'CONFIG_INVALID'), JSON.stringify(bad)).toBe(true);
    }
  });

  describe('against a real server', () => {
    const dbs = useTestDatabases('latency');
    let source: mysql.Pool;
    beforeAll(() => {
      source = testPool(dbs(), 'source', 2);
    });
    afterAll(async () => {
      await source.end();
    });

    it('probes the source and records a baseline', async () => {
      const t = new SourceLatencyThrottler({ db: source, ratio: 1_000_000 });
      await expect(t.check()).resolves.toEqual({ throttle: false });
      expect(t.baselineMs).toBeGreaterThan(0);
      expect(t.name).toBe('source-latency');
    });
  });
});
