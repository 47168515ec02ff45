import { describe, expect, it } from 'vitest';
import { LaneBatcher } from './lane-batcher.js';

describe('LaneBatcher', () => {
  /** A batch runner whose batches finish when the test says so. */
  function gatedRunner() {
    const batches: Array<{ lane: string; items: number[]; finish: (outcomes?: PromiseSettledResult<string>[]) => void; fail: (error: Error) => void }> = [];
    const run = (lane: string, items: readonly number[]) =>
      new Promise<PromiseSettledResult<string>[]>((resolve, reject) => {
        batches.push({
          lane,
          items: [...items],
          finish: (outcomes) => resolve(outcomes ?? items.map((item) => ({ status: 'fulfilled', value: `${lane}:${item}` }))),
          fail: reject,
        });
      });
    return { batches, run };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('reports the busy lanes: the running batch, its age and what queues behind it; idle lanes are not listed', async () => {
    const { batches, run } = gatedRunner();
    const batcher = new LaneBatcher(run, { maxBatch: 2 });
    expect(batcher.busyLanes()).toEqual([]);
    const items = [batcher.submit('a', 1), batcher.submit('a', 2), batcher.submit('a', 3), batcher.submit('b', 4)];
    await new Promise((resolve) => setTimeout(resolve, 30));
    const busy = batcher.busyLanes();
    expect(busy.map(({ lane, running, queued }) => ({ lane, running, queued }))).toEqual([
      { lane: 'a', running: 1, queued: 2 },
      { lane: 'b', running: 1, queued: 0 },
    ]);
    expect(busy[0]!.runningMs).toBeGreaterThanOrEqual(20);
    batches[0]!.finish();
    await tick();
    expect(batcher.busyLanes().find((lane) => lane.lane === 'a')).toMatchObject({ running: 2, queued: 0 });
    batches[1]!.finish();
    batches[2]!.finish();
    await Promise.all(items);
    expect(batcher.busyLanes()).toEqual([]);
  });

  it('starts a lone item at once, and batches what queues while a batch runs, per lane', async () => {
    const { batches, run } = gatedRunner();
    const batcher = new LaneBatcher(run, { maxBatch: 3 });
    const first = batcher.submit('a', 1);
    expect(batches.map((b) => b.items)).toEqual([[1]]); // synchronously: no wait for company
    const queued = [2, 3, 4, 5].map((n) => batcher.submit('a', n));
    const other = batcher.submit('b', 9); // another lane does not wait for lane a
    expect(batches.map((b) => [b.lane, b.items])).toEqual([['a', [1]], ['b', [9]]]);
    batches[0]!.finish();
    expect(await first).toBe('a:1');
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [9], [2, 3, 4]]); // at most maxBatch
    batches[2]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [9], [2, 3, 4], [5]]);
    batches[3]!.finish();
    batches[1]!.finish();
    expect(await Promise.all([...queued, other])).toEqual(['a:2', 'a:3', 'a:4', 'a:5', 'b:9']);
  });

  it('settles each item with its own outcome, and rejects a whole batch whose run throws', async () => {
    const { batches, run } = gatedRunner();
    const batcher = new LaneBatcher(run);
    const lone = batcher.submit('a', 1);
    const [two, three] = [batcher.submit('a', 2), batcher.submit('a', 3)];
    batches[0]!.fail(new Error('read failed'));
    await expect(lone).rejects.toThrow('read failed');
    await tick();
    batches[1]!.finish([{ status: 'fulfilled', value: 'ok' }, { status: 'rejected', reason: new Error('this one failed') }]);
    expect(await two).toBe('ok');
    await expect(three).rejects.toThrow('this one failed');
    // The lane is idle again: the next item starts at once.
    void batcher.submit('a', 4);
    expect(batches).toHaveLength(3);
  });

  it('with defer, a lone item starts on the next turn of the event loop, after the caller went on', async () => {
    const { batches, run } = gatedRunner();
    const batcher = new LaneBatcher(run, { defer: true });
    const order: string[] = [];
    void batcher.submit('a', 1).then(() => order.push('settled'));
    void batcher.submit('a', 2);
    await Promise.resolve();
    order.push('caller went on');
    expect(batches).toHaveLength(0);
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1, 2]]); // what was submitted in the same turn goes together
    batches[0]!.finish();
    await tick();
    expect(order).toEqual(['caller went on', 'settled']);
  });
});
