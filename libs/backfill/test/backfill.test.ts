import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { isCleaveError, type Plan, type PlanInput } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { MysqlPools, parseConnectionUrl, type ConnectionUrl } from '@cleave/mysql';
import { useTestDatabases } from '@cleave/testing';
import { copySegment, splitTable, ThrottleGate, type CopyProgress, type CopySegmentDeps, type ServerResolver, type Throttler } from '../src/index.js';
import { sleep, testPool } from './helpers.js';
import { runWriters } from './writers.js';
import { createPeople, tableImage, testPlan, type Server } from './fixtures.js';

const POOL_SIZE = 3;

describe('backfill processors against real servers', () => {
  const dbs = useTestDatabases('backfill');
  let pools: MysqlPools;
  let servers: ServerResolver;
  let storePool: mysql.Pool;
  let store: ControlStore;
  const admin = {} as Record<Server, mysql.Connection>;

  beforeAll(async () => {
    pools = new MysqlPools({ maxConnectionsPerServer: 10 });
    const urls: Record<string, ConnectionUrl> = {
      source: parseConnectionUrl(dbs().source.url),
      target1: parseConnectionUrl(dbs().target1.url),
      target2: parseConnectionUrl(dbs().target2.url),
    };
    servers = (name) => {
      const url = urls[name];
      if (url === undefined) throw new Error(`no server ${name}`);
      return pools.pool(url, { connectionLimit: POOL_SIZE }).promise;
    };
    storePool = testPool(dbs(), 'source', 4);
    store = await ControlStore.open({ pool: storePool, database: dbs().name });
    for (const server of ['source', 'target1', 'target2'] as const) admin[server] = await dbs().admin(server);
  });
  afterAll(async () => {
    await pools?.end();
    await storePool?.end();
  });

  /** Registers a migration for the plan and moves it to dual_write (routers acked, as the coordinator would). */
  async function start(name: string, moves: PlanInput['moves']): Promise<{ plan: Plan; id: string }> {
    const plan = testPlan(dbs(), name, moves);
    const m = await store.createMigration(plan, { actor: 'test' });
    await store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
    return { plan, id: m.id };
  }

  function deps(extra: Partial<CopySegmentDeps> = {}): CopySegmentDeps {
    return { store, servers, owner: 'test-worker', chunkSize: { minRows: 50, maxRows: 400, initialRows: 100 }, ...extra };
  }

  /** Split then copy every segment, one after the other. */
  async function backfill(id: string, table: string, extra: Partial<CopySegmentDeps> = {}) {
    const split = await splitTable({ migrationId: id, table }, { ...deps(extra), segmentRows: 700 });
    const copies = [];
    for (const unit of split.units) {
      for (const segmentNo of unit.segmentNos) copies.push(await copySegment({ migrationId: id, table: unit.unit, segmentNo }, deps(extra)));
    }
    return { split, copies };
  }

  it('splits and copies a table end to end: the target equals the source, byte for byte', async () => {
    await createPeople(admin.source, 'people', 3000);
    const { id } = await start('e2e', [{ kind: 'tables', tables: ['people'], to: 't1' }]);
    const opened = pools.stats().servers;
    const { split, copies } = await backfill(id, 'people');

    expect(split.units).toHaveLength(1);
    expect(split.units[0]).toMatchObject({ unit: 'people', target: 't1', targetTable: 'created' });
    expect(split.units[0]!.segments).toBeGreaterThanOrEqual(4);
    expect(copies.reduce((n, c) => n + c.rows, 0)).toBe(3002);
    expect(copies.at(-1)).toMatchObject({ unitCopied: true, migrationCopied: true });
    const image = await tableImage(admin.source, 'people');
    expect(image).toHaveLength(3002);
    expect(await tableImage(admin.target1, 'people')).toEqual(image);

    const [record] = await store.backfillTables(id);
    expect(record).toMatchObject({ table: 'people', target: 't1', state: 'copied', rowsCopied: 3002, segmentsDone: split.units[0]!.segments });
    const kinds = (await store.events(id)).map((e) => e.kind);
    expect(kinds).toEqual(['created', 'phase_change', 'backfill_started', 'backfill_table_done', 'backfill_done']);

    // A retried split changes nothing and enqueues nothing; a retried copy of a done segment copies nothing.
    const again = await splitTable({ migrationId: id, table: 'people' }, deps());
    expect(again.units[0]).toMatchObject({ targetTable: 'exists', segmentNos: [] });
    const retried = await copySegment({ migrationId: id, table: 'people', segmentNo: 0 }, deps());
    expect(retried).toMatchObject({ alreadyDone: true, rows: 0, unitCopied: true, migrationCopied: true });
    expect((await store.events(id)).map((e) => e.kind)).toHaveLength(5);

    // Connection budget: the processors borrowed from the pools, never more than their size.
    for (const [server, stats] of Object.entries(pools.stats().servers)) {
      expect(stats.connectionsOpened, server).toBeLessThanOrEqual(POOL_SIZE);
      expect(stats.connectionsOpened, server).toBeGreaterThanOrEqual(opened[server]?.connectionsOpened ?? 0);
    }
  });

  it('copies with INSERTs when asked to (bulkInsert: insert), to the same image', async () => {
    await createPeople(admin.source, 'inserted_only', 700);
    const { id } = await start('insert-only', [{ kind: 'tables', tables: ['inserted_only'], to: 't1' }]);
    await splitTable({ migrationId: id, table: 'inserted_only' }, { ...deps(), segmentRows: 100_000 });
    const result = await copySegment({ migrationId: id, table: 'inserted_only', segmentNo: 0 }, deps({ bulkInsert: 'insert' }));
    expect(result).toMatchObject({ rows: 702, inserted: 702, loaded: 0, unitCopied: true });
    expect(await tableImage(admin.target1, 'inserted_only')).toEqual(await tableImage(admin.source, 'inserted_only'));
  });

  it('copies composite and character keys', async () => {
    await admin.source.query(`CREATE TABLE tenant_keys (tenant VARCHAR(20) COLLATE utf8mb4_bin NOT NULL, n INT NOT NULL, v VARBINARY(16) NULL, PRIMARY KEY (tenant, n))`);
    await admin.source.query(`INSERT INTO tenant_keys SELECT ELT(1 + seq % 4, 'acme', 'Beta', 'ß-corp', 'z'), seq, UNHEX(HEX(seq)) FROM seq_1_to_1500`);
    const { id } = await start('composite', [{ kind: 'tables', tables: ['tenant_keys'], to: 't2' }]);
    await backfill(id, 'tenant_keys');
    expect(await tableImage(admin.target2, 'tenant_keys', 'tenant, n')).toEqual(await tableImage(admin.source, 'tenant_keys', 'tenant, n'));
  });

  it('resumes from the checkpoint after an abort: each chunk counted once, target equals source', async () => {
    await createPeople(admin.source, 'resumed', 2000);
    const { id } = await start('resume', [{ kind: 'tables', tables: ['resumed'], to: 't1' }]);
    const split = await splitTable({ migrationId: id, table: 'resumed' }, { ...deps(), segmentRows: 100_000 });
    expect(split.units[0]!.segmentNos).toEqual([0]);
    const fixed = { minRows: 100, maxRows: 100, initialRows: 100 };
    const controller = new AbortController();
    const progress: CopyProgress[] = [];
    const first = await copySegment(
      { migrationId: id, table: 'resumed', segmentNo: 0 },
      deps({ chunkSize: fixed, signal: controller.signal, onProgress: (p) => (progress.push(p), p.chunks === 3 && controller.abort()) }),
    ).catch((e: unknown) => e);
    expect(isCleaveError(first, 'ABORTED')).toBe(true);
    expect((first as Error).message).toMatch(/^copy of resumed segment 0 stopped at checkpoint \["300"\]/);
    let [segment] = await store.segments(id, 'resumed');
    expect(segment).toMatchObject({ state: 'copying', rowsCopied: 300, chunks: 3, checkpoint: progress[2]!.checkpoint, owner: 'test-worker' });
    const [[{ n }]] = (await admin.target1.query('SELECT COUNT(*) AS n FROM resumed')) as unknown as [[{ n: string }]];
    expect(Number(n)).toBe(300);

    const second = await copySegment({ migrationId: id, table: 'resumed', segmentNo: 0 }, deps({ chunkSize: fixed }));
    expect(second).toMatchObject({ alreadyDone: false, rows: 1702, inserted: 1702, loaded: 1702, unitCopied: true });
    [segment] = await store.segments(id, 'resumed');
    expect(segment).toMatchObject({ state: 'done', rowsCopied: 2002, chunks: 3 + second.chunks });
    expect(await tableImage(admin.target1, 'resumed')).toEqual(await tableImage(admin.source, 'resumed'));
  });

  it('after a crash between the target commit and the checkpoint, re-syncs that chunk idempotently', async () => {
    await createPeople(admin.source, 'crashed', 600);
    const { id } = await start('crash', [{ kind: 'tables', tables: ['crashed'], to: 't1' }]);
    await splitTable({ migrationId: id, table: 'crashed' }, { ...deps(), segmentRows: 100_000 });
    const fixed = { minRows: 100, maxRows: 100, initialRows: 100 };
    const controller = new AbortController();
    await copySegment(
      { migrationId: id, table: 'crashed', segmentNo: 0 },
      deps({ chunkSize: fixed, signal: controller.signal, onProgress: (p) => p.chunks === 2 && controller.abort() }),
    ).catch(() => undefined);
    // The chunk (100, 200] was committed on the target, but pretend its checkpoint was lost.
    await storePool.query(`UPDATE \`${dbs().name}\`.backfill_segments SET checkpoint_key = '["100"]' WHERE migration_id = ?`, [id]);
    const resumed = await copySegment({ migrationId: id, table: 'crashed', segmentNo: 0 }, deps({ chunkSize: fixed }));
    expect(resumed).toMatchObject({ unchanged: 100, inserted: 402 });
    expect(await tableImage(admin.target1, 'crashed')).toEqual(await tableImage(admin.source, 'crashed'));
  });

  it('concurrent writers with dual writes during the copy (inside the chunk being copied too): the target equals the source', async () => {
    await createPeople(admin.source, 'busy', 3000);
    const { id } = await start('busy', [{ kind: 'tables', tables: ['busy'], to: 't1' }]);
    const split = await splitTable({ migrationId: id, table: 'busy' }, { ...deps(), segmentRows: 700 });
    const router = new MysqlPools({ maxConnectionsPerServer: 6 });
    const writers = runWriters({
      source: router.promisePool(parseConnectionUrl(dbs().source.url), { connectionLimit: 4 }),
      target: router.promisePool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 4 }),
      database: dbs().name,
      table: 'busy',
      rows: 3000,
      writers: 4,
    });
    try {
      // Every segment at once, small chunks: many chunks in flight, writers aiming just past the checkpoints.
      await Promise.all(
        split.units[0]!.segmentNos.map((segmentNo) =>
          copySegment(
            { migrationId: id, table: 'busy', segmentNo },
            deps({ chunkSize: { minRows: 20, maxRows: 60, initialRows: 40, targetMs: 5 }, onProgress: (p) => writers.aimAt(p.checkpoint) }),
          ),
        ),
      );
    } finally {
      await writers.stop();
      await router.end();
    }
    const stats = writers.stats();
    expect(stats.writes).toBeGreaterThan(100);
    expect(stats.nearCheckpoint).toBeGreaterThan(20);
    expect(stats.keyUpdates).toBeGreaterThan(5);
    expect(stats.deletes).toBeGreaterThan(5);
    const image = await tableImage(admin.source, 'busy');
    expect(await tableImage(admin.target1, 'busy')).toEqual(image);
  });

  it('a shard move copies only the rows of each range to its target', async () => {
    await createPeople(admin.source, 'sharded', 1000);
    const { id } = await start('shard', [
      {
        kind: 'shard',
        table: 'sharded',
        key: { column: 'id', type: 'integer' },
        ranges: [
          { from: null, to: 300, target: 't1' },
          { from: 300, to: 700, target: 't2' },
          { from: 700, to: null, target: 't1' },
        ],
      },
    ]);
    const { split } = await backfill(id, 'sharded');
    expect(split.units.map((u) => [u.unit, u.target])).toEqual([
      ['sharded#0', 't1'],
      ['sharded#1', 't2'],
      ['sharded#2', 't1'],
    ]);
    const source = await tableImage(admin.source, 'sharded');
    const ids = async (c: mysql.Connection) => ((await c.query('SELECT id FROM sharded ORDER BY id'))[0] as Array<{ id: string }>).map((r) => BigInt(r.id));
    const inT1 = await ids(admin.target1);
    const inT2 = await ids(admin.target2);
    expect(inT1.every((k) => k < 300n || k >= 700n)).toBe(true);
    expect(inT2.every((k) => k >= 300n && k < 700n)).toBe(true);
    expect(inT1.length + inT2.length).toBe(1002);
    const all = [...(await tableImage(admin.target1, 'sharded')), ...(await tableImage(admin.target2, 'sharded'))].sort();
    expect(all).toEqual([...source].sort());
    expect((await store.backfillTables(id)).map((t) => [t.table, t.target, t.state])).toEqual([
      ['sharded#0', 't1', 'copied'],
      ['sharded#1', 't2', 'copied'],
      ['sharded#2', 't1', 'copied'],
    ]);
  });

  it('a shard move on a binary key splits by bytes', async () => {
    await admin.source.query('CREATE TABLE bin_keys (k VARBINARY(32) NOT NULL PRIMARY KEY, v INT NOT NULL)');
    await admin.source.query('INSERT INTO bin_keys SELECT UNHEX(SHA2(seq, 256)) , seq FROM seq_1_to_600');
    await admin.source.query("INSERT INTO bin_keys VALUES (x'80', -1), (x'7fffff00', -2), (x'', -3)");
    const { id } = await start('binshard', [
      {
        kind: 'shard',
        table: 'bin_keys',
        key: { column: 'k', type: 'binary' },
        ranges: [
          { from: null, to: '0x80', target: 't1' },
          { from: '0x80', to: null, target: 't2' },
        ],
      },
    ]);
    await backfill(id, 'bin_keys');
    const [low] = await admin.source.query("SELECT HEX(k) AS k, v FROM bin_keys WHERE k < x'80' ORDER BY k");
    const [high] = await admin.source.query("SELECT HEX(k) AS k, v FROM bin_keys WHERE k >= x'80' ORDER BY k");
    expect((await admin.target1.query('SELECT HEX(k) AS k, v FROM bin_keys ORDER BY k'))[0]).toEqual(low);
    expect((await admin.target2.query('SELECT HEX(k) AS k, v FROM bin_keys ORDER BY k'))[0]).toEqual(high);
    expect((low as unknown[]).length + (high as unknown[]).length).toBe(603);
  });

  it('pauses while the throttle gate is closed, and records the time spent throttled', async () => {
    await createPeople(admin.source, 'throttled', 300);
    const { id } = await start('throttle', [{ kind: 'tables', tables: ['throttled'], to: 't2' }]);
    await splitTable({ migrationId: id, table: 'throttled' }, deps());
    const toggle = { on: true };
    const throttler: Throttler = { name: 'test-switch', check: () => Promise.resolve(toggle.on ? { throttle: true, reason: 'switched on by the test' } : { throttle: false }) };
    const gate = new ThrottleGate({ throttlers: [throttler], intervalMs: 20, report: { store, migrationId: id } });
    await gate.start();
    let finished = false;
    const copy = copySegment({ migrationId: id, table: 'throttled', segmentNo: 0 }, deps({ gate })).then((r) => ((finished = true), r));
    await sleep(300);
    expect(finished).toBe(false);
    const [[{ n }]] = (await admin.target2.query('SELECT COUNT(*) AS n FROM throttled')) as unknown as [[{ n: string }]];
    expect(Number(n)).toBe(0);
    toggle.on = false;
    expect((await copy).rows).toBe(302);
    await gate.close();
    const [stat] = await store.throttleStats(id);
    expect(stat?.reason).toBe('test-switch');
    expect(stat?.throttledMs).toBeGreaterThanOrEqual(250);
    expect(gate.throttledMs()['test-switch']).toBe(stat?.throttledMs);
  });

  it('the split walks the key space only while the throttle gate is open', async () => {
    await createPeople(admin.source, 'splitgated', 300);
    const { id } = await start('splitgate', [{ kind: 'tables', tables: ['splitgated'], to: 't2' }]);
    const toggle = { on: true };
    const throttler: Throttler = { name: 'test-switch', check: () => Promise.resolve(toggle.on ? { throttle: true, reason: 'switched on by the test' } : { throttle: false }) };
    const gate = new ThrottleGate({ throttlers: [throttler], intervalMs: 20, report: { store, migrationId: id } });
    await gate.start();
    try {
      let finished = false;
      const split = splitTable({ migrationId: id, table: 'splitgated' }, { ...deps({ gate }), segmentRows: 100 }).then((r) => ((finished = true), r));
      await sleep(300);
      expect(finished).toBe(false);
      expect(await store.segments(id, 'splitgated')).toEqual([]);
      toggle.on = false;
      expect((await split).units[0]?.segments).toBe(4); // 302 rows in segments of 100
    } finally {
      await gate.close();
    }
  });

  it('rests between chunks with a nice ratio, caps chunks by bytes, and refuses bad values', async () => {
    await createPeople(admin.source, 'niced', 300);
    const { id } = await start('nice', [{ kind: 'tables', tables: ['niced'], to: 't2' }]);
    await splitTable({ migrationId: id, table: 'niced' }, deps());
    const bad = await copySegment({ migrationId: id, table: 'niced', segmentNo: 0 }, deps({ niceRatio: -1 })).catch((e: unknown) => e);
    expect(isCleaveError(bad, 'CONFIG_INVALID')).toBe(true);
    const sizes: number[] = [];
    // A byte cap far below one chunk's rows: after the first chunk, chunks hold about 2 rows' bytes.
    const result = await copySegment(
      { migrationId: id, table: 'niced', segmentNo: 0 },
      deps({ niceRatio: 0.1, maxChunkBytes: 200, onProgress: (p) => sizes.push(p.chunkRows) }),
    );
    expect(result.rows).toBe(302);
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(5);
    const [[{ n }]] = (await admin.target2.query('SELECT COUNT(*) AS n FROM niced')) as unknown as [[{ n: string }]];
    expect(Number(n)).toBe(302);
  });

  it('refuses to copy before dual writes are on, and refuses a table without a usable key', async () => {
    await admin.source.query('CREATE TABLE keyless (a INT NULL, b INT NULL, UNIQUE KEY uk_a (a))');
    await admin.source.query('CREATE TABLE early (id INT PRIMARY KEY)');
    const plan = testPlan(dbs(), 'refusals', [{ kind: 'tables', tables: ['keyless', 'early'], to: 't1' }]);
    const m = await store.createMigration(plan, { actor: 'test' });
    const split = await splitTable({ migrationId: m.id, table: 'early' }, deps());
    const early = await copySegment({ migrationId: m.id, table: 'early', segmentNo: split.units[0]!.segmentNos[0]! }, deps()).catch((e: unknown) => e);
    expect(isCleaveError(early, 'PRECONDITION_FAILED')).toBe(true);
    expect((early as Error).message).toMatch(/is in phase planned: rows are copied only in dual_write/);

    const keyless = await splitTable({ migrationId: m.id, table: 'keyless' }, deps()).catch((e: unknown) => e);
    expect(isCleaveError(keyless, 'NO_USABLE_KEY')).toBe(true);
    const record = (await store.backfillTables(m.id)).find((t) => t.table === 'keyless');
    expect(record).toMatchObject({ state: 'failed' });
    expect(record?.error).toMatch(/has no usable key/);
    expect((await store.events(m.id)).at(-1)).toMatchObject({ kind: 'refused', reason: record?.error });
  });

  it('refuses a target table whose definition differs, with a diff', async () => {
    await admin.source.query('CREATE TABLE differs (id INT PRIMARY KEY, a VARCHAR(10) NOT NULL)');
    await admin.target1.query('CREATE TABLE differs (id INT PRIMARY KEY, a VARCHAR(20) NOT NULL)');
    const { id } = await start('differs', [{ kind: 'tables', tables: ['differs'], to: 't1' }]);
    const error = await splitTable({ migrationId: id, table: 'differs' }, deps()).catch((e: unknown) => e);
    expect(isCleaveError(error)).toBe(true);
    expect((error as Error).message).toContain('- `a` varchar(10) NOT NULL');
    expect((error as Error).message).toContain('+ `a` varchar(20) NOT NULL');
    expect((await store.backfillTables(id))[0]).toMatchObject({ table: 'differs', state: 'failed' });
    expect(await store.segments(id)).toEqual([]);
  });
});
