import { hexRows, useTestDatabases } from '@cleave/testing';
import type { Connection, Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findTable,
  MysqlPools,
  parseConnectionUrl,
  readCatalog,
  syncKeyRange,
  tableShape,
  type TableName,
  type TableShape,
  type TransactionalPool,
} from '@cleave/mysql';
import { verifyTable, type VerifyTableArgs } from './table-verifier.js';

/** Chunks of at most 20 rows: spans start and end all over the key space. */
const SMALL_CHUNKS = { initialChunkRows: 10, minChunkRows: 5, maxChunkRows: 20 } as const;

interface SparseCase {
  readonly table: string;
  readonly keyType: string;
  /** Key expressions of `{n}` (0..99, signed) for each region; the regions are far apart. */
  readonly regions: readonly string[];
  /** Target-side damage, one per region at least; keys as decimal text. */
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly changed: readonly string[];
}

const CASES: readonly SparseCase[] = [
  {
    table: 'signed_ids',
    keyType: 'BIGINT',
    regions: ['-9223372036854775807 - 1 + {n}', '-1000000000000 + {n} * 1000', '{n} - 50', '9007199254740992 + {n}', '9223372036854775806 - {n}'],
    // The minimum, a row in a dense run, the maximum; an extra row in a gap and one past the maximum.
    missing: ['-9223372036854775808', '-999999995000', '9223372036854775806'],
    extra: ['-9223372036854770000', '1000', '9223372036854775807'],
    changed: ['-9223372036854775758', '9007199254740993', '9223372036854775756'],
  },
  {
    table: 'unsigned_ids',
    keyType: 'BIGINT UNSIGNED',
    regions: ['{n}', '9007199254740992 + {n}', '9223372036854775808 + {n}', '18446744073709551614 - {n}'],
    missing: ['0', '9223372036854775850', '18446744073709551614'],
    extra: ['1000', '9223372036855775808', '18446744073709551615'],
    changed: ['9007199254740993', '9223372036854775815', '18446744073709551564'],
  },
];

describe('verifyTable on a single integer key (chunks by key value)', () => {
  const dbs = useTestDatabases('verify-int');
  let pools: MysqlPools;
  let source: Pool;
  let target: Pool;
  let sourceAdmin: Connection;
  let targetAdmin: Connection;
  const database = (): string => dbs().source.database;
  const targetOf = (shape: TableShape): TableName => ({ database: dbs().target1.database, table: shape.table });

  const createBoth = async (sql: string): Promise<void> => {
    await sourceAdmin.query(sql);
    await targetAdmin.query(sql);
  };
  const shapeOf = async (table: string): Promise<TableShape> => {
    const found = findTable(await readCatalog(source, database(), { tables: [table] }), table);
    if (found === undefined) throw new Error(`no table ${table}`);
    return tableShape(found, database());
  };
  /** Makes the target a copy of the source. */
  const copy = async (shape: TableShape): Promise<void> => {
    await targetAdmin.query(`DELETE FROM ${shape.table}`);
    await syncKeyRange({ source, target, sourceShape: shape, targetTable: targetOf(shape), bounds: { lower: null, upper: null } });
  };
  const verify = (shape: TableShape, options: Partial<VerifyTableArgs> = {}) =>
    verifyTable({ source, target, sourceShape: shape, targetTable: targetOf(shape), repair: false, ...options });
  /** Rows per chunk, from the progress reports. */
  const chunkSizes = (): { sizes: number[]; onProgress: VerifyTableArgs['onProgress'] } => {
    const sizes: number[] = [];
    let last = 0;
    return {
      sizes,
      onProgress: (p) => {
        sizes.push(p.rowsChecked - last);
        last = p.rowsChecked;
      },
    };
  };
  const same = async (table: string): Promise<void> => {
    expect(await hexRows(targetAdmin, database(), table, 'id')).toEqual(await hexRows(sourceAdmin, database(), table, 'id'));
  };

  beforeAll(async () => {
    pools = new MysqlPools();
    source = pools.promisePool(parseConnectionUrl(dbs().source.url), { connectionLimit: 6 });
    target = pools.promisePool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 6 });
    sourceAdmin = await dbs().admin('source');
    targetAdmin = await dbs().admin('target1');
  });
  afterAll(async () => {
    await pools.end();
  });

  describe.each(CASES)('$keyType keys with huge gaps', (c) => {
    let shape: TableShape;
    const rows = c.regions.length * 100;
    const damage = async (): Promise<void> => {
      await copy(shape);
      await targetAdmin.query(`DELETE FROM ${c.table} WHERE id IN (${c.missing.join(', ')})`);
      await targetAdmin.query(`INSERT INTO ${c.table} VALUES ${c.extra.map((id) => `(${id}, 'extra')`).join(', ')}`);
      await targetAdmin.query(`UPDATE ${c.table} SET v = CONCAT(v, '!') WHERE id IN (${c.changed.join(', ')})`);
    };
    const expected = (): Record<string, string> =>
      Object.fromEntries([
        ...c.missing.map((id) => [`["${id}"]`, 'missing']),
        ...c.extra.map((id) => [`["${id}"]`, 'extra']),
        ...c.changed.map((id) => [`["${id}"]`, 'changed']),
      ]);

    beforeAll(async () => {
      await createBoth(`CREATE TABLE ${c.table} (id ${c.keyType} PRIMARY KEY, v VARCHAR(40) NOT NULL)`);
      for (const [i, region] of c.regions.entries()) {
        const key = region.replaceAll('{n}', 'CAST(seq AS SIGNED)');
        await sourceAdmin.query(`INSERT INTO ${c.table} SELECT ${key}, CONCAT('r${i}-', seq) FROM seq_0_to_99`);
      }
      shape = await shapeOf(c.table);
    });

    it('verifies clean in a few dozen chunks, with small and default chunks', async () => {
      await copy(shape);
      for (const sizes of [{}, SMALL_CHUNKS]) {
        const report = await verify(shape, sizes);
        expect(report).toMatchObject({ passes: 1, rowsChecked: rows, rowsDiffering: 0, clean: true });
        // Walking 2^64 key values 20 at a time would never end; x4 widening crosses each gap in ~30 spans.
        expect(report.chunks).toBeLessThan(200);
      }
    });

    it('reports a missing, an extra and a changed row in each region without repairing', async () => {
      await damage();
      const report = await verify(shape, SMALL_CHUNKS);
      expect(report).toMatchObject({ rowsDiffering: 9, rowsRepaired: 0, clean: false });
      expect(Object.fromEntries(report.sampleDifferences.map((d) => [d.key, d.kind]))).toEqual(expected());
    });

    it('repairs them with one chunk and several in flight, then a second pass is clean', async () => {
      for (const options of [{ parallelChunks: 1 }, { ...SMALL_CHUNKS, parallelChunks: 1 }, { ...SMALL_CHUNKS, parallelChunks: 3 }]) {
        await damage();
        const report = await verify(shape, { ...options, repair: true });
        expect(report, JSON.stringify(options)).toMatchObject({ passes: 2, rowsDiffering: 9, rowsRepaired: 9, clean: true });
        expect(Object.fromEntries(report.sampleDifferences.map((d) => [d.key, d.kind]))).toEqual(expected());
        await same(c.table);
      }
    });
  });

  it('checks rows inserted past the maximum during the pass (the last chunk is open-ended)', async () => {
    await createBoth('CREATE TABLE growing (id BIGINT PRIMARY KEY, v INT NOT NULL)');
    await sourceAdmin.query('INSERT INTO growing SELECT seq * 1000, seq FROM seq_1_to_300');
    const shape = await shapeOf('growing');
    await copy(shape);
    // After the first chunk, 50 rows past the maximum land on both sides and one on the target
    // only; queries wait for them (the two chunks already started end far below the maximum).
    let gate: Promise<unknown> = Promise.resolve();
    const gated = (pool: TransactionalPool): TransactionalPool => ({
      query: async (options) => {
        await gate;
        return pool.query(options);
      },
      getConnection: () => pool.getConnection(),
    });
    const insert = async (): Promise<void> => {
      const rows = 'SELECT 1000000000000 + seq, seq FROM seq_1_to_50';
      await sourceAdmin.query(`INSERT INTO growing ${rows}`);
      await targetAdmin.query(`INSERT INTO growing ${rows}; INSERT INTO growing VALUES (1000000000999, 0)`);
    };
    const lastKeys: (string | null)[] = [];
    const report = await verifyTable({
      source: gated(source), target: gated(target), sourceShape: shape, targetTable: targetOf(shape), repair: false, ...SMALL_CHUNKS,
      onProgress: (p) => {
        if (p.chunks === 1) gate = insert();
        lastKeys.push(p.lastKey);
      },
    });
    expect(report.chunks).toBeGreaterThan(3);
    expect(report).toMatchObject({ rowsChecked: 350, rowsDiffering: 1, clean: false });
    expect(report.sampleDifferences).toEqual([{ table: `${database()}.growing`, key: '["1000000000999"]', kind: 'extra' }]);
    expect(lastKeys.at(-1)).toBeNull();
    expect(lastKeys.slice(0, -1).every((key) => key !== null && BigInt(JSON.parse(key)[0] as string) < 300_000n)).toBe(true);
  });

  describe('with a shard filter', () => {
    let shape: TableShape;
    const id = (seq: number): string => String(BigInt(seq) * 1_000_003n);

    beforeAll(async () => {
      await createBoth('CREATE TABLE sharded (id BIGINT PRIMARY KEY, shard INT NOT NULL, v VARCHAR(20) NOT NULL)');
      await sourceAdmin.query("INSERT INTO sharded SELECT seq * 1000003, seq % 10, CONCAT('v', seq) FROM seq_1_to_2000");
      shape = await shapeOf('sharded');
    });

    it('on the key column checks and repairs only the rows in [from, to)', async () => {
      await copy(shape);
      await targetAdmin.query(`
        UPDATE sharded SET v = 'in' WHERE id IN (${id(500)}, ${id(1499)});
        UPDATE sharded SET v = 'out' WHERE id IN (${id(499)}, ${id(1500)});
        INSERT INTO sharded VALUES (${id(700)} + 1, 0, 'in'), (${id(1800)} + 1, 0, 'out')`);
      const filter = { column: 'id', from: id(500), to: id(1500) };
      const report = await verify(shape, { filter, ...SMALL_CHUNKS });
      expect(report).toMatchObject({ rowsChecked: 1000, rowsDiffering: 3 });
      expect(report.sampleDifferences.map((d) => d.key).sort()).toEqual([`["${id(1499)}"]`, `["${id(500)}"]`, `["${BigInt(id(700)) + 1n}"]`].sort());
      const repaired = await verify(shape, { filter, repair: true });
      expect(repaired).toMatchObject({ passes: 2, rowsRepaired: 3, clean: true });
      const [outside] = await targetAdmin.query(`SELECT COUNT(*) AS n FROM sharded WHERE v = 'out'`);
      expect(outside).toEqual([{ n: '3' }]);
    });

    it('on another column checks only the rows it keeps', async () => {
      await copy(shape);
      await targetAdmin.query(`UPDATE sharded SET v = 'x' WHERE id IN (${id(13)}, ${id(17)}, ${id(1994)})`); // shards 3, 7, 4
      const report = await verify(shape, { filter: { column: 'shard', from: '3', to: '5' }, ...SMALL_CHUNKS });
      expect(report).toMatchObject({ rowsChecked: 400, rowsDiffering: 2 });
      expect(report.sampleDifferences.map((d) => d.key).sort()).toEqual([`["${id(13)}"]`, `["${id(1994)}"]`]);
    });
  });

  it('spreads 1,000 rows over 0..2^62 in a few dozen chunks, not thousands', async () => {
    await createBoth('CREATE TABLE sparse (id BIGINT PRIMARY KEY, v INT NOT NULL)');
    await sourceAdmin.query('INSERT INTO sparse SELECT seq * 4611686018427387 + (seq * 7919) % 1000, seq FROM seq_0_to_999');
    const shape = await shapeOf('sparse');
    await copy(shape);
    for (const options of [{}, { initialChunkRows: 200, minChunkRows: 200, maxChunkRows: 200 }]) {
      const report = await verify(shape, options);
      expect(report).toMatchObject({ rowsChecked: 1000, clean: true });
      expect(report.chunks, JSON.stringify(options)).toBeLessThan(60);
    }
  });

  it('cuts the span that reaches a dense run past a gap down to a normal chunk', async () => {
    await createBoth('CREATE TABLE gap_then_dense (id BIGINT UNSIGNED PRIMARY KEY, v INT NOT NULL)');
    await sourceAdmin.query(`
      INSERT INTO gap_then_dense SELECT seq, seq FROM seq_1_to_300;
      INSERT INTO gap_then_dense SELECT (1 << 40) + seq, seq FROM seq_1_to_20000`);
    const shape = await shapeOf('gap_then_dense');
    await copy(shape);
    const { sizes, onProgress } = chunkSizes();
    const report = await verify(shape, { initialChunkRows: 500, minChunkRows: 500, maxChunkRows: 500, onProgress });
    expect(report).toMatchObject({ rowsChecked: 20_300, clean: true });
    // Widening x4 per span over the 2^40 gap, the span reaching the dense run would take all of it;
    // unchecked spans are at most 4 x 500 wide, checked ones are estimated (hence the slack).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8 * 500);
    expect(report.chunks).toBeLessThan(150);
  });

  it('checks an empty table as one open chunk, which still finds rows only the target has', async () => {
    await createBoth('CREATE TABLE empty_ids (id INT UNSIGNED PRIMARY KEY, v INT NOT NULL)');
    const shape = await shapeOf('empty_ids');
    await targetAdmin.query('INSERT INTO empty_ids VALUES (7, 7), (4294967295, 0)');
    const report = await verify(shape, { repair: true });
    expect(report).toMatchObject({ passes: 2, chunks: 2, rowsChecked: 0, rowsDiffering: 2, rowsRepaired: 2, clean: true });
    await same('empty_ids');
  });

  it('still walks the index of a key that is not one integer column', async () => {
    await createBoth('CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT NOT NULL, PRIMARY KEY (a, b))');
    await sourceAdmin.query("INSERT INTO pairs SELECT seq DIV 3, CONCAT('b', seq % 3), seq FROM seq_0_to_2999");
    const shape = await shapeOf('pairs');
    await copy(shape);
    await targetAdmin.query("UPDATE pairs SET v = -1 WHERE a = 500 AND b = 'b1'; DELETE FROM pairs WHERE a = 999");
    const { sizes, onProgress } = chunkSizes();
    const report = await verify(shape, { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100, onProgress });
    expect(report).toMatchObject({ rowsChecked: 3000, rowsDiffering: 4, chunks: 31 });
    expect(sizes.slice(0, -1).every((n) => n === 100)).toBe(true); // exact row counts: the walk
  });
});
