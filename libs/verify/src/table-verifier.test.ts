import { useTestDatabases } from '@cleave/testing';
import type { Connection, Pool } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findTable, MysqlPools, parseConnectionUrl, readCatalog } from '@cleave/mysql';
import { syncKeyRange, syncKeys, tableShape, type TableShape } from '@cleave/mysql';
import { chunkChecksum, sameChecksum } from './chunk-checksum.js';
import { verifyTable } from './table-verifier.js';
import { verifyTables } from './verify-tables.js';

const ROWS = 3000;
const DDL = `CREATE TABLE accounts (
  id INT PRIMARY KEY,
  bin BINARY(4) NOT NULL,
  note VARCHAR(20) NULL,
  name VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
  amount DECIMAL(20,6) NOT NULL,
  at DATETIME(6) NULL
)`;

describe('verifyTable', () => {
  const dbs = useTestDatabases('verify');
  let pools: MysqlPools;
  let source: Pool;
  let target: Pool;
  let sourceAdmin: Connection;
  let targetAdmin: Connection;
  let shape: TableShape;
  const targetTable = () => ({ database: dbs().target1.database, table: 'accounts' });

  const hexRows = async (admin: Connection): Promise<unknown[]> => {
    const [rows] = await admin.query({ sql: 'SELECT HEX(id), HEX(bin), HEX(note), HEX(name), HEX(amount), HEX(at) FROM accounts ORDER BY id', rowsAsArray: true });
    return rows as unknown[];
  };

  beforeAll(async () => {
    pools = new MysqlPools();
    source = pools.promisePool(parseConnectionUrl(dbs().source.url), { connectionLimit: 6 });
    target = pools.promisePool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 6 });
    sourceAdmin = await dbs().admin('source');
    targetAdmin = await dbs().admin('target1');
    await sourceAdmin.query(DDL);
    await targetAdmin.query(DDL);
    const catalog = await readCatalog(source, dbs().source.database, { tables: ['accounts'] });
    shape = tableShape(findTable(catalog, 'accounts')!, dbs().source.database);
  });
  beforeEach(async () => {
    await sourceAdmin.query(
      `DELETE FROM accounts; INSERT INTO accounts SELECT seq, UNHEX(LPAD(HEX(seq), 8, '0')), IF(seq % 7 = 0, NULL, CONCAT('n', seq)),
         CONCAT('Name', seq), seq / 7, IF(seq % 5 = 0, NULL, '2024-01-01 00:00:00.5' + INTERVAL seq SECOND) FROM seq_1_to_${ROWS}`,
    );
    await targetAdmin.query('DELETE FROM accounts');
    await syncKeyRange({ source, target, sourceShape: shape, targetTable: targetTable(), bounds: { lower: null, upper: null } });
  });
  afterAll(async () => {
    await pools.end();
  });

  it('finds identical tables clean in one pass', async () => {
    const progress: number[] = [];
    const report = await verifyTable({
      source, target, sourceShape: shape, targetTable: targetTable(), repair: true, initialChunkRows: 500,
      onProgress: (p) => progress.push(p.rowsChecked),
    });
    expect(report).toMatchObject({ passes: 1, rowsChecked: ROWS, rowsDiffering: 0, rowsRepaired: 0, clean: true, sampleDifferences: [] });
    expect(report.chunks).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(ROWS);
  });

  it('shrinks chunks that overrun the target time, by halves from an odd size', async () => {
    // Every chunk overruns a 0.001 ms target: each next chunk is half the last (301 -> 150.5,
    // which must become a whole number of rows) down to the minimum.
    const report = await verifyTable({
      source, target, sourceShape: shape, targetTable: targetTable(), repair: false, initialChunkRows: 301, minChunkRows: 40, targetChunkMs: 0.001,
    });
    expect(report).toMatchObject({ rowsChecked: ROWS, clean: true });
    expect(report.chunks).toBeGreaterThan(ROWS / 100); // 301-row chunks would be 10
  });

  async function damageTarget(): Promise<void> {
    await sourceAdmin.query(`
      UPDATE accounts SET note = NULL WHERE id = 20;
      UPDATE accounts SET name = 'Alice' WHERE id = 30;
      UPDATE accounts SET note = 'x#', name = 'y' WHERE id = 50`);
    await syncKeys({ source, target, sourceShape: shape, targetTable: targetTable(), keys: [['20'], ['30'], ['50']] });
    await targetAdmin.query(`
      DELETE FROM accounts WHERE id IN (1, 1500, 3000);
      INSERT INTO accounts VALUES (0, X'00', NULL, 'extra', 0, NULL), (3001, X'00', NULL, 'extra', 0, NULL);
      UPDATE accounts SET bin = X'00000101' WHERE id = 256;      -- BINARY: only the trailing byte (0x00 on the source) differs
      UPDATE accounts SET note = '' WHERE id = 20;               -- '' on the target, NULL on the source
      UPDATE accounts SET name = 'alice' WHERE id = 30;          -- case only, equal under utf8mb4_general_ci
      UPDATE accounts SET note = 'x', name = '#y' WHERE id = 50; -- the separator moves between columns
      UPDATE accounts SET amount = amount + 0.000001 WHERE id = 2999`);
  }

  it('reports differences without repairing when repair is false', async () => {
    await damageTarget();
    const before = await hexRows(targetAdmin);
    const report = await verifyTable({ source, target, sourceShape: shape, targetTable: targetTable(), repair: false, initialChunkRows: 700 });
    expect(report).toMatchObject({ passes: 1, rowsDiffering: 10, rowsRepaired: 0, clean: false });
    expect(await hexRows(targetAdmin)).toEqual(before);
    // Each subtle change alone changes its chunk's checksum (the hash sees raw bytes and NULLs).
    for (const id of [20, 30, 50, 256, 2999]) {
      const where = `id = ${id}`;
      const [a, b] = await Promise.all([chunkChecksum(source, shape, shape, where), chunkChecksum(target, shape, targetTable(), where)]);
      expect(a.rows).toBe(1);
      expect(sameChecksum(a, b), `row ${id}`).toBe(false);
    }
    const untouched = await Promise.all([chunkChecksum(source, shape, shape, 'id BETWEEN 60 AND 255'), chunkChecksum(target, shape, targetTable(), 'id BETWEEN 60 AND 255')]);
    expect(untouched[0]).toEqual(untouched[1]);
    const kinds = Object.fromEntries(report.sampleDifferences.map((d) => [d.key, d.kind]));
    expect(kinds).toEqual({
      '["0"]': 'extra', '["1"]': 'missing', '["20"]': 'changed', '["30"]': 'changed', '["50"]': 'changed',
      '["256"]': 'changed', '["1500"]': 'missing', '["2999"]': 'changed', '["3000"]': 'missing', '["3001"]': 'extra',
    });
  });

  it('finds the same differences with one chunk at a time and with several in flight, reporting progress in key order', async () => {
    await damageTarget();
    for (const parallelChunks of [1, 3]) {
      const keys: number[] = [];
      const report = await verifyTable({
        source, target, sourceShape: shape, targetTable: targetTable(), repair: false, initialChunkRows: 300, maxChunkRows: 600, parallelChunks,
        onProgress: (p) => keys.push(p.lastKey === null ? Infinity : Number(JSON.parse(p.lastKey)[0])),
      });
      expect(report, `parallelChunks ${parallelChunks}`).toMatchObject({ rowsDiffering: 10, rowsRepaired: 0, clean: false });
      expect(report.chunks).toBeGreaterThan(3);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
      expect(keys.at(-1)).toBe(Infinity);
    }
  });

  it('without repairing, reports only differences that persist: dual writes in flight are not differences', async () => {
    await targetAdmin.query("UPDATE accounts SET name = 'really different' WHERE id = 2500");
    let stop = false;
    let writes = 0;
    // Dual writes whose shadow apply lags 40 ms behind the primary commit, all over the table.
    const writer = async (seed: number): Promise<void> => {
      let n = seed;
      while (!stop) {
        n = (n * 7919 + 13) % 2000;
        await source.query(`UPDATE accounts SET amount = amount + 1 WHERE id = ${n + 1}`);
        await new Promise((resolve) => setTimeout(resolve, 40));
        await syncKeys({ source, target, sourceShape: shape, targetTable: targetTable(), keys: [[String(n + 1)]] });
        writes += 1;
      }
    };
    const writers = [writer(3), writer(4), writer(5)];
    let report;
    try {
      while (writes < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      report = await verifyTable({ source, target, sourceShape: shape, targetTable: targetTable(), repair: false, initialChunkRows: 300 });
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(report).toMatchObject({ rowsDiffering: 1, rowsRepaired: 0, clean: false });
    expect(report.sampleDifferences).toEqual([{ table: `${shape.database}.accounts`, key: '["2500"]', kind: 'changed' }]);
  });

  it('with a capture to wait for, repairs only what the capture did not bring: a pass under load ends clean with the real difference repaired', async () => {
    await targetAdmin.query("UPDATE accounts SET name = 'really different' WHERE id = 2500");
    let stop = false;
    let writes = 0;
    // Writes on the primary whose apply to the shadow (a capture's) lags behind: `pending` holds
    // the keys committed and not yet applied; settle() is the capture catching up.
    const pending = new Set<number>();
    const applyPending = async (): Promise<void> => {
      const keys = [...pending];
      pending.clear(); // a key written again meanwhile comes back
      if (keys.length === 0) return;
      await syncKeys({ source, target, sourceShape: shape, targetTable: targetTable(), keys: keys.map((k) => [String(k)]) });
    };
    let settles = 0;
    const writer = async (seed: number): Promise<void> => {
      let n = seed;
      while (!stop) {
        n = (n * 7919 + 13) % 2000;
        await source.query(`UPDATE accounts SET amount = amount + 1 WHERE id = ${n + 1}`);
        pending.add(n + 1);
        writes += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const writers = [writer(3), writer(4), writer(5)];
    let report;
    try {
      while (writes < 30) await new Promise((resolve) => setTimeout(resolve, 5));
      report = await verifyTable({
        source,
        target,
        sourceShape: shape,
        targetTable: targetTable(),
        repair: true,
        initialChunkRows: 300,
        settle: async () => {
          settles += 1;
          await applyPending();
        },
      });
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(settles).toBeGreaterThan(0);
    // The one real difference, repaired in the first pass; the second pass finds nothing to repair.
    expect(report).toMatchObject({ rowsRepaired: 1, clean: true, passes: 2 });
    expect(report.sampleDifferences).toEqual([{ table: `${shape.database}.accounts`, key: '["2500"]', kind: 'changed' }]);
  });

  it('repairs missing, extra and changed rows, then a second pass is clean', async () => {
    await damageTarget();
    const report = await verifyTables({ source, target, tables: [{ sourceShape: shape, targetTable: targetTable() }], repair: true, initialChunkRows: 700 });
    expect(report).toMatchObject({ passes: 2, rowsDiffering: 10, rowsRepaired: 10, clean: true, rowsChecked: 2 * ROWS });
    expect(report.tables[0]).toMatchObject({ table: `${shape.database}.accounts`, clean: true, rowsRepaired: 10 });
    expect(report.sampleDifferences).toHaveLength(10);
    expect(await hexRows(targetAdmin)).toEqual(await hexRows(sourceAdmin));
  });

  it('converges to clean while the source is written and dual-written concurrently', async () => {
    await damageTarget();
    let stop = false;
    let writes = 0;
    const writer = async (seed: number): Promise<void> => {
      let n = seed;
      while (!stop) {
        n = (n * 7919 + 13) % ROWS;
        const id = n + 1;
        if (n % 3 === 0) await source.query(`DELETE FROM accounts WHERE id = ${id}`);
        else await source.query(`INSERT INTO accounts VALUES (${id}, X'01020300', 'w', 'W', ${n}, NULL) ON DUPLICATE KEY UPDATE note = CONCAT('w', ${n}), amount = amount + 1`);
        await syncKeys({ source, target, sourceShape: shape, targetTable: targetTable(), keys: [[String(id)]] });
        writes += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const writers = [writer(1), writer(2)];
    let report;
    let duringVerify = 0;
    try {
      while (writes < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      const before = writes;
      report = await verifyTable({ source, target, sourceShape: shape, targetTable: targetTable(), repair: true, maxPasses: 10, initialChunkRows: 500 });
      duringVerify = writes - before;
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    // The writers really raced the verification (a floor of overlap, not a speed).
    expect(duringVerify).toBeGreaterThan(0);
    expect(report.clean).toBe(true);
    expect(report.rowsRepaired).toBeGreaterThanOrEqual(10);
    expect(await hexRows(targetAdmin)).toEqual(await hexRows(sourceAdmin));
  });
});
