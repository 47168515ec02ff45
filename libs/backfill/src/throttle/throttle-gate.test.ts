import { describe, expect, it } from 'vitest';
import { isCleaveError } from '@cleave/core';
import { sleep } from '../../test/helpers.js';
import { ThrottleGate } from './throttle-gate.js';
import { OPEN, throttleFor, type Throttler } from './throttler.js';

/** A throttler the test switches by hand. */
class Switch implements Throttler {
  on = false;
  fail = false;
  checks = 0;
  constructor(readonly name: string) {}
  check() {
    this.checks += 1;
    if (this.fail) return Promise.reject(new Error('server went away'));
    return Promise.resolve(this.on ? throttleFor(`${this.name} is on`) : OPEN);
  }
}

describe('ThrottleGate', () => {
  it('is open without throttlers and before its first round', async () => {
    const gate = new ThrottleGate({ throttlers: [] });
    await gate.waitUntilOpen();
    await gate.start();
    expect(gate.state).toMatchObject({ throttled: false, reasons: [] });
    await gate.close();
  });

  it('holds waiters while any throttler says so, and counts the time per throttler', async () => {
    const a = new Switch('a');
    const b = new Switch('b');
    const recorded: Array<[string, string, number]> = [];
    const changes: boolean[] = [];
    const gate = new ThrottleGate({
      throttlers: [a, b],
      intervalMs: 10,
      report: { migrationId: 'm1', store: { addThrottled: (id, reason, ms) => (recorded.push([id, reason, ms]), Promise.resolve()) } },
      onChange: (s) => changes.push(s.throttled),
    });
    a.on = true;
    await gate.start();
    expect(gate.state.reasons).toEqual([{ name: 'a', reason: 'a is on' }]);
    let released = false;
    const waiting = gate.waitUntilOpen().then(() => (released = true));
    await sleep(80);
    expect(released).toBe(false);
    a.on = false;
    await waiting;
    const ms = gate.throttledMs()['a'] ?? 0;
    expect(ms).toBeGreaterThanOrEqual(60);
    expect(gate.throttledMs()['b']).toBeUndefined();
    await gate.close();
    expect(recorded.every(([id, reason]) => id === 'm1' && reason === 'a')).toBe(true);
    expect(recorded.reduce((sum, [, , n]) => sum + n, 0)).toBe(ms);
    expect(changes).toEqual([true, false]);
  });

  it('does not count throttled time while nobody waits', async () => {
    const a = new Switch('a');
    a.on = true;
    const gate = new ThrottleGate({ throttlers: [a], intervalMs: 10 });
    await gate.start();
    await sleep(50);
    expect(gate.throttledMs()).toEqual({});
    await gate.close();
  });

  it('throttles when a check fails (fail closed), naming the error', async () => {
    const a = new Switch('replica-lag');
    a.fail = true;
    const gate = new ThrottleGate({ throttlers: [a], intervalMs: 10 });
    await gate.start();
    expect(gate.state.reasons).toEqual([{ name: 'replica-lag', reason: 'replica-lag check failed: server went away' }]);
    a.fail = false;
    await gate.poll();
    expect(gate.state.throttled).toBe(false);
    await gate.close();
  });

  it('a waiter leaves with ABORTED when its signal fires or the gate closes', async () => {
    const a = new Switch('a');
    a.on = true;
    const gate = new ThrottleGate({ throttlers: [a], intervalMs: 10 });
    await gate.start();
    const controller = new AbortController();
    const first = gate.waitUntilOpen(controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isCleaveError(await first, 'ABORTED')).toBe(true);
    const second = gate.waitUntilOpen().catch((e: unknown) => e);
    await gate.close();
    expect(isCleaveError(await second, 'ABORTED')).toBe(true);
    await gate.close(); // idempotent
    expect(isCleaveError(await gate.waitUntilOpen().catch((e: unknown) => e), 'ABORTED')).toBe(true);
  });
});
