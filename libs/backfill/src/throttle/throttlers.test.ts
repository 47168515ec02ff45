import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { useTestDatabases } from '@cleave/testing';
import { eventually, testPool } from '../../test/helpers.js';
import { NoopThrottler } from './noop-throttler.js';
import { ReplicaLagThrottler } from './replica-lag-throttler.js';
import { TargetLoadThrottler } from './target-load-throttler.js';
import { ThreadsRunningThrottler } from './threads-running-throttler.js';
import { ThrottleGate } from './throttle-gate.js';
import { readGlobalStatus } from './read-global-status.js';

describe('throttlers against real servers', () => {
  const dbs = useTestDatabases('throttle');
  let source: mysql.Pool;
  let target: mysql.Pool;
  beforeAll(() => {
    source = testPool(dbs(), 'source', 2);
    target = testPool(dbs(), 'target1', 2);
  });
  afterAll(async () => {
    await Promise.all([source.end(), target.end()]);
  });

  it('no-op never throttles', async () => {
    await expect(new NoopThrottler().check()).resolves.toEqual({ throttle: false });
  });

  it('Threads_running above the threshold throttles, naming the value and the threshold', async () => {
    const decision = await new ThreadsRunningThrottler({ db: source, maxThreadsRunning: 0 }).check();
    expect(decision.throttle).toBe(true);
    expect(decision.throttle && decision.reason).toMatch(/^source Threads_running [1-9]\d* > max 0$/);
    await expect(new ThreadsRunningThrottler({ db: source, maxThreadsRunning: 10_000 }).check()).resolves.toEqual({ throttle: false });
  });

  it('target load reads the target', async () => {
    const t = new TargetLoadThrottler({ db: target, target: 'mail', maxThreadsRunning: 0 });
    expect(t.name).toBe('target-load-mail');
    const decision = await t.check();
    expect(decision.throttle && decision.reason).toMatch(/^target mail Threads_running [1-9]\d* > max 0$/);
  });

  it('a real load on the source trips the gate, which opens again after the load ends', async () => {
    const baseline = await readGlobalStatus(source, 'Threads_running');
    const max = baseline + 4;
    const gate = new ThrottleGate({ throttlers: [new ThreadsRunningThrottler({ db: source, maxThreadsRunning: max })], intervalMs: 50 });
    await gate.start();
    const sleepers = await Promise.all(Array.from({ length: 12 }, () => dbs().admin('source')));
    try {
      const load = Promise.all(sleepers.map((c) => c.query('SELECT SLEEP(1.5)')));
      await eventually(() => gate.state.throttled, 1400);
      expect(gate.state.reasons[0]?.reason).toMatch(new RegExp(`^source Threads_running \\d+ > max ${max}$`));
      const waited = gate.waitUntilOpen();
      await load;
      // Resolves only when a check found the load gone (the server is shared with other tests,
      // whose load may trip the gate again right after: its state now proves nothing).
      await waited;
      expect(gate.throttledMs()['source-threads-running']).toBeGreaterThan(0);
    } finally {
      await gate.close();
      await Promise.all(sleepers.map((c) => c.end()));
    }
  });

  it('replica lag on a server that is not a replica throttles and says why', async () => {
    const t = new ReplicaLagThrottler({ replicas: [{ name: 'target1', db: target }], maxLagSeconds: 5 });
    const decision = await t.check();
    expect(decision.throttle).toBe(true);
    expect(decision.throttle && decision.reason).toBe(
      'replica target1 is not a replica (SHOW ALL SLAVES STATUS returned nothing): its lag cannot be measured; fix its replication or remove it from the replicas to watch',
    );
  });
});
