import { describe, expect, it } from 'vitest';
import type { PlanEndpoint } from '@cleave/core';
import { ApplyLanes, type KeyGroup } from './apply-lanes.js';
import type { WatchedTable } from './stream-plan.js';

/** A table as the lanes see it (they key lanes by its primary database and name). */
const table = (name: string) => ({ table: name, primary: { server: 'source', database: 'app' } }) as unknown as WatchedTable;
const shadow: PlanEndpoint = { server: 'target1', database: 'app' };

/** Lanes whose syncs end when the test says so: each started sync is recorded with its keys. */
function lanesUnderTest(maxKeys = 100, spacingMs = 0) {
  const started: Array<{ table: string; keys: string[]; finish: () => void; fail: (error: Error) => void }> = [];
  const failures: unknown[] = [];
  let applied = 0;
  const lanes = new ApplyLanes({
    apply: (group: KeyGroup) =>
      new Promise<number>((resolve, reject) => {
        started.push({ table: group.watched.table, keys: [...group.keys.values()].map((k) => String(k[0])), finish: () => resolve(group.keys.size), fail: reject });
      }),
    applied: (count) => {
      applied += count;
    },
    failed: (error) => failures.push(error),
    maxKeys,
    spacingMs,
  });
  return { lanes, started, failures, applied: () => applied };
}

/** Until a sync that a finished one scheduled (after its promise settles, in the next turn) has started. */
const settle = async () => {
  for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe('ApplyLanes', () => {
  it("applies a quiet table's key while a busy table's sync still runs", async () => {
    const { lanes, started } = lanesUnderTest();
    lanes.add(table('sessions'), shadow, ['1'], 1);
    lanes.add(table('heartbeat'), shadow, ['7'], 2);
    await settle();
    expect(started.map((s) => s.table)).toEqual(['sessions', 'heartbeat']);
    started[1]!.finish();
    await settle();
    // The heartbeat's transaction is applied, the sessions' one is not: the checkpoint stays before it.
    expect(lanes.oldestUnapplied()).toBe(1);
    started[0]!.finish();
    await lanes.drained();
    expect(lanes.oldestUnapplied()).toBeUndefined();
  });

  it('gathers the keys that come during a sync into the next one, each key once, oldest transaction first', async () => {
    const { lanes, started, applied } = lanesUnderTest();
    lanes.add(table('sessions'), shadow, ['1'], 1);
    await settle();
    for (const [key, seq] of [[2, 2], [3, 3], [2, 4], [2, 5]] as const) lanes.add(table('sessions'), shadow, [String(key)], seq);
    expect(started).toHaveLength(1);
    expect(lanes.oldestUnapplied()).toBe(1);
    started[0]!.finish();
    await settle();
    expect(started).toHaveLength(2);
    expect(started[1]!.keys).toEqual(['2', '3']);
    // Key 2 changed in transactions 2, 4 and 5: it holds the checkpoint at 2 until applied.
    expect(lanes.oldestUnapplied()).toBe(2);
    started[1]!.finish();
    await lanes.drained();
    expect(applied()).toBe(3);
  });

  it('takes at most maxKeys keys a sync', async () => {
    const { lanes, started } = lanesUnderTest(2);
    for (const key of [1, 2, 3, 4, 5]) lanes.add(table('sessions'), shadow, [String(key)], key);
    // A full batch starts at once, without waiting for the rest of what was read.
    expect(started.map((s) => s.keys)).toEqual([['1', '2']]);
    started[0]!.finish();
    await settle();
    started[1]!.finish();
    await settle();
    expect(started.map((s) => s.keys)).toEqual([['1', '2'], ['3', '4'], ['5']]);
  });

  it('puts the keys added in one turn (a transaction read) in one sync', async () => {
    const { lanes, started } = lanesUnderTest();
    // An update that kept its key adds the same key twice, a multi-row change several keys.
    for (const key of [1, 1, 2, 3]) lanes.add(table('sessions'), shadow, [String(key)], 1);
    expect(started).toHaveLength(0);
    await settle();
    expect(started.map((s) => s.keys)).toEqual([['1', '2', '3']]);
  });

  it("spaces a busy lane's syncs, not a quiet lane's first one, and a drain waits for no spacing", async () => {
    const spacingMs = 200;
    const { lanes, started } = lanesUnderTest(100, spacingMs);
    lanes.add(table('sessions'), shadow, ['1'], 1);
    await settle();
    const firstStarted = performance.now();
    lanes.add(table('sessions'), shadow, ['2'], 2);
    started[0]!.finish();
    await settle();
    lanes.add(table('sessions'), shadow, ['3'], 3);
    await settle();
    // Keys 2 and 3 wait for the spacing since the first sync started, and then go together.
    expect(started).toHaveLength(1);
    lanes.add(table('heartbeat'), shadow, ['7'], 4);
    await settle();
    expect(started.map((s) => s.table)).toEqual(['sessions', 'heartbeat']);
    await new Promise((resolve) => setTimeout(resolve, spacingMs + 20));
    expect(started.map((s) => s.keys)).toEqual([['1'], ['7'], ['2', '3']]);
    expect(performance.now() - firstStarted).toBeGreaterThanOrEqual(spacingMs - 1);
    started[1]!.finish();
    started[2]!.finish();
    await settle();

    // Within the spacing again, a drain starts the waiting keys at once.
    lanes.add(table('sessions'), shadow, ['4'], 5);
    const drained = lanes.drained();
    expect(started.map((s) => s.keys).at(-1)).toEqual(['4']);
    started.at(-1)!.finish();
    await drained;
    expect(lanes.oldestUnapplied()).toBeUndefined();
  });

  it('a failed sync stops every lane from starting more and keeps its keys counted as not applied', async () => {
    const { lanes, started, failures } = lanesUnderTest();
    lanes.add(table('sessions'), shadow, ['1'], 3);
    lanes.add(table('addresses'), shadow, ['9'], 4);
    await settle();
    started[0]!.fail(new Error('refused by the guard'));
    await settle();
    lanes.add(table('sessions'), shadow, ['2'], 5);
    expect(failures).toHaveLength(1);
    expect(started).toHaveLength(2); // nothing new started after the failure
    expect(lanes.oldestUnapplied()).toBe(3);
    started[1]!.finish();
    await lanes.drained();
    expect(lanes.oldestUnapplied()).toBe(3);
  });
});
