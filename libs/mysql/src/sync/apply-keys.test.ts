import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyKeys, confirmApplies, prepareApply, readApplyImages, writeApplies, type PendingConfirm } from './apply-keys.js';
import type { KeyTuple } from './key-codec.js';
import type { TableShape } from './table-shape.js';
import { copyTable, randomSourceWrite, seededRandom, syncFixture, type SyncFixture } from './test/sync-fixture.js';

// The optimistic dual-write apply must give the same end state as the locked syncKeys: writers
// hammer a few keys (so applies of one key overlap all the time) while a backfill copies the
// table; each write is followed by applyKeys + confirm, the way the router does it.
describe('applyKeys racing other applies and a copy', () => {
  const dbs = useTestDatabases('applykeys');
  let fx: SyncFixture;
  let shape: TableShape;
  const stats = { optimistic: 0, locked: 0, confirmFallbacks: 0, batches: 0, batchedConfirms: 0 };
  let batchConfirms = false;

  beforeAll(async () => {
    fx = await syncFixture(dbs(), 12);
    const ddl = `CREATE TABLE hot (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NOT NULL, email VARCHAR(40) NULL, UNIQUE KEY uk_email (email))`;
    await fx.sourceAdmin.query(ddl);
    await fx.targetAdmin.query(ddl);
    shape = await fx.shape('hot');
  });
  afterAll(async () => {
    await fx.end();
  });

  async function apply(keys: number[]): Promise<void> {
    const applied = await applyKeys({
      source: fx.source,
      target: fx.target,
      sourceShape: shape,
      targetTable: { database: shape.database, table: 'hot' },
      keys: keys.map((key): KeyTuple => [String(key)]),
      targetFlavor: 'mariadb',
    });
    stats[applied.mode] += 1;
    if (batchConfirms && applied.pending !== undefined) {
      if (await confirmBatched(applied.pending)) stats.confirmFallbacks += 1;
    } else if (await applied.confirm()) stats.confirmFallbacks += 1;
  }

  // Confirms batched the way the router batches them: whatever queued while a batch was read
  // goes in the next one, through the pool (not the applies' connections).
  const queue: Array<{ pending: PendingConfirm; resolve: (raced: boolean) => void; reject: (error: unknown) => void }> = [];
  let flushing = false;
  function confirmBatched(pending: PendingConfirm): Promise<boolean> {
    return new Promise((resolve, reject) => {
      queue.push({ pending, resolve, reject });
      if (!flushing) void flush();
    });
  }
  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, 32);
      stats.batches += 1;
      stats.batchedConfirms += batch.length;
      const outcomes = await confirmApplies(fx.source, batch.map((item) => item.pending)).catch((error: unknown) => batch.map(() => ({ status: 'rejected' as const, reason: error })));
      outcomes.forEach((outcome, i) => (outcome.status === 'fulfilled' ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.reason)));
    }
    flushing = false;
  }

  async function writer(stop: () => boolean, seed: number, idSpace: number): Promise<number> {
    let writes = 0;
    const random = seededRandom(seed);
    while (!stop()) {
      const touched = await randomSourceWrite(fx, 'hot', random, idSpace);
      if (touched === undefined) continue;
      for (const key of touched) await apply([key]);
      writes += 1;
    }
    return writes;
  }

  async function expectEqual(): Promise<void> {
    const sourceRows = await fx.hexRows(fx.sourceAdmin, 'hot', 'id');
    const targetRows = await fx.hexRows(fx.targetAdmin, 'hot', 'id');
    expect(targetRows.length).toBe(sourceRows.length);
    expect(targetRows).toEqual(sourceRows);
  }

  it('converges when many writers change the same few keys', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot SELECT seq, seq, CONCAT('n', seq), NULL FROM seq_1_to_12`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot SELECT seq, seq, CONCAT('n', seq), NULL FROM seq_1_to_12`);
    let done = false;
    const writers = Array.from({ length: 8 }, (_, i) => writer(() => done, 7 + i, 12));
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    done = true;
    const writes = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
    expect(writes).toBeGreaterThan(50);
    // The fast path really ran, and races really sent some applies to the locked fallback.
    expect(stats.optimistic).toBeGreaterThan(writes / 2);
    expect(stats.confirmFallbacks + stats.locked).toBeGreaterThan(0);
    await expectEqual();
  });

  it('converges while a backfill copies the table', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot SELECT seq, seq, CONCAT('n', seq), IF(seq % 3 = 0, CONCAT('e', seq), NULL) FROM seq_1_to_6000`);
    await fx.targetAdmin.query('DELETE FROM hot');
    let done = false;
    const writers = Array.from({ length: 4 }, (_, i) => writer(() => done, 100 + i, 8_000));
    try {
      await copyTable(fx, shape, 'hot', 500);
    } finally {
      done = true;
    }
    expect((await Promise.all(writers)).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
    await expectEqual();
  });

  it('converges when many writers change the same few keys and the confirms are batched', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot SELECT seq, seq, CONCAT('n', seq), NULL FROM seq_1_to_12`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot SELECT seq, seq, CONCAT('n', seq), NULL FROM seq_1_to_12`);
    const before = { ...stats };
    batchConfirms = true;
    let done = false;
    try {
      const writers = Array.from({ length: 8 }, (_, i) => writer(() => done, 40 + i, 12));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      done = true;
      expect((await Promise.all(writers)).reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
    } finally {
      batchConfirms = false;
    }
    // Batches really held several confirms, and races really sent some to the fallback.
    expect(stats.batchedConfirms - before.batchedConfirms).toBeGreaterThan(stats.batches - before.batches);
    expect(stats.confirmFallbacks + stats.locked - before.confirmFallbacks - before.locked).toBeGreaterThan(0);
    await expectEqual();
  });

  it('deletes the target row of a key the primary no longer has, and leaves other rows alone', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'a', NULL)`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 9, 'stale', NULL), (2, 2, 'gone', NULL), (3, 3, 'other', NULL)`);
    await apply([1]);
    await apply([2]);
    const [rows] = await fx.targetAdmin.query('SELECT id, v, note FROM hot ORDER BY id');
    expect((rows as Array<{ id: number; v: number; note: string }>).map((r) => [r.id, r.v, r.note])).toEqual([
      [1, 1, 'a'],
      [3, 3, 'other'],
    ]);
  });

  // Deterministic races: the first apply's target write is delayed (a real pool behind a delay)
  // until a newer write and its apply have finished; only confirm() can then repair the target.
  const delayedTarget = (ms: number) => ({
    query: async (options: { sql: string; values?: unknown[] | null }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return fx.target.query(options);
    },
    getConnection: () => fx.target.getConnection(),
  });
  const args = (keys: number[], target = fx.target) => ({
    source: fx.source,
    target,
    sourceShape: shape,
    targetTable: { database: shape.database, table: 'hot' },
    keys: keys.map((key): KeyTuple => [String(key)]),
    targetFlavor: 'mariadb' as const,
  });
  const targetRow = async (id: number) => {
    const [rows] = await fx.targetAdmin.query('SELECT v, note FROM hot WHERE id = ?', [id]);
    return (rows as Array<{ v: number; note: string }>).map((r) => `${r.v}/${r.note}`);
  };

  it('confirm() overwrites an older image that landed after a newer apply', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'old', NULL)`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'old', NULL)`);
    await fx.source.query(`UPDATE hot SET v = 2, note = 'older' WHERE id = 1`);
    const slow = applyKeys(args([1], delayedTarget(300) as never)); // reads 2/older, writes it late
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fx.source.query(`UPDATE hot SET v = 3, note = 'newer' WHERE id = 1`);
    await (await applyKeys(args([1]))).confirm();
    const applied = await slow;
    expect(await targetRow(1)).toEqual(['2/older']); // the race happened: the older image won
    expect(await applied.confirm()).toBe(true);
    expect(await targetRow(1)).toEqual(['3/newer']);
  });

  it('confirmApplies reads the rows of each apply in one statement and repairs only the raced ones', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'a', NULL), (2, 2, 'b', NULL), (3, 3, 'c', NULL)`);
    await fx.targetAdmin.query('DELETE FROM hot');
    const applied = [await applyKeys(args([1])), await applyKeys(args([2, 3])), await applyKeys(args([4]))]; // 4: absent on both sides
    // A newer write to key 3 whose apply has not landed yet: only the second apply raced it.
    await fx.source.query(`UPDATE hot SET v = 30 WHERE id = 3`);
    const outcomes = await confirmApplies(fx.source, applied.map((a) => a.pending!));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason))).toEqual([false, true, false]);
    expect([...(await targetRow(1)), ...(await targetRow(2)), ...(await targetRow(3)), ...(await targetRow(4))]).toEqual(['1/a', '2/b', '30/c']);
  });

  it('writeApplies writes the applies of several writes in one upsert and one delete, each confirmed on its own', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'a', NULL), (2, 2, 'b', NULL)`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (3, 3, 'gone', NULL)`);
    const items = [args([1]), args([2]), args([3])];
    const images = await readApplyImages(fx.source, items); // one statement for the three
    expect(images.map((rows) => rows.length)).toEqual([1, 1, 0]);
    const prepared = items.map((item, i) => prepareApply(item, images[i]!)!);
    const outcomes = await writeApplies(prepared);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.mode : o.reason))).toEqual(['optimistic', 'optimistic', 'optimistic']);
    expect([...(await targetRow(1)), ...(await targetRow(2)), ...(await targetRow(3))]).toEqual(['1/a', '2/b']);
    const confirmed = await confirmApplies(fx.source, outcomes.map((o) => (o as PromiseFulfilledResult<{ pending: PendingConfirm }>).value.pending));
    expect(confirmed.map((o) => (o.status === 'fulfilled' ? o.value : o.reason))).toEqual([false, false, false]);
  });

  it('writeApplies sends a batch that meets a stale unique value to the locked form, which settles it', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'a', 'mail@x'), (2, 2, 'b', NULL), (9, 9, 'moved', NULL)`);
    // The shadow still has the email on row 9 (its change was not applied yet): updating its row 1
    // to that email collides (an upsert whose key is new would instead take over row 9: the
    // apply of row 9's own change puts it back).
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'a', NULL), (9, 9, 'moved', 'mail@x')`);
    const items = [args([1]), args([2])];
    const images = await readApplyImages(fx.source, items);
    const outcomes = await writeApplies(items.map((item, i) => prepareApply(item, images[i]!)!));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.mode : String(o.reason)))).toEqual(['locked', 'locked']);
    expect([...(await targetRow(1)), ...(await targetRow(2)), ...(await targetRow(9))]).toEqual(['1/a', '2/b', '9/moved']);
    await expectEqual();
  });

  it('confirmApplies refuses applies of different tables', async () => {
    const one = (await applyKeys(args([1]))).pending!;
    const other: PendingConfirm = { ...one, args: { ...one.args, targetTable: { database: shape.database, table: 'elsewhere' } } };
    await expect(confirmApplies(fx.source, [one, other])).rejects.toThrow(/one table/);
  });

  it('confirm() deletes a row that an older image resurrected', async () => {
    await fx.sourceAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'old', NULL)`);
    await fx.targetAdmin.query(`DELETE FROM hot; INSERT INTO hot VALUES (1, 1, 'old', NULL)`);
    await fx.source.query(`UPDATE hot SET v = 2 WHERE id = 1`);
    const slow = applyKeys(args([1], delayedTarget(300) as never));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fx.source.query(`DELETE FROM hot WHERE id = 1`);
    await (await applyKeys(args([1]))).confirm();
    const applied = await slow;
    expect(await targetRow(1)).toEqual(['2/old']); // resurrected by the late write
    expect(await applied.confirm()).toBe(true);
    expect(await targetRow(1)).toEqual([]);
  });
});
