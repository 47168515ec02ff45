import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parseConnectionUrl } from '../connection-url.js';
import { syncKeyRange, syncKeys } from './sync-rows.js';
import type { PooledConnection, QueryOptions, Queryable, TransactionalPool } from './queryable.js';
import type { TableShape } from './table-shape.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

describe('syncKeyRange / syncKeys', () => {
  const dbs = useTestDatabases('syncrows');
  let fx: SyncFixture;
  let items: TableShape;
  let names: TableShape;

  const ITEMS_DDL = `CREATE TABLE items (id BIGINT UNSIGNED PRIMARY KEY, shard INT NOT NULL, email VARCHAR(50) NULL, note VARCHAR(20), UNIQUE KEY uk_email (email))`;
  const NAMES_DDL = `CREATE TABLE names (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)`;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query(`${ITEMS_DDL}; ${NAMES_DDL}`);
    items = await fx.shape('items');
    names = await fx.shape('names');
  });
  beforeEach(async () => {
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query('DELETE FROM items; DELETE FROM names');
    await fx.sourceAdmin.query(
      `INSERT INTO items SELECT seq, seq % 4, CONCAT('u', seq, '@x'), CONCAT('n', seq) FROM seq_1_to_20`,
    );
  });
  afterAll(async () => {
    await fx.end();
  });

  const range = (shape: TableShape, lower: string[] | null, upper: string[] | null, filter?: { column: string; from: string | null; to: string | null }) =>
    syncKeyRange({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: shape.table }, bounds: { lower, upper }, ...(filter ? { filter } : {}) });
  const keys = (shape: TableShape, list: (string | Buffer)[][]) =>
    syncKeys({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: shape.table }, keys: list });
  const targetIds = async (): Promise<number[]> => {
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT id FROM items ORDER BY id', rowsAsArray: true });
    return (rows as [number][]).map(([id]) => Number(id));
  };

  it('copies (lower, upper]: lower exclusive, upper inclusive', async () => {
    expect(await range(items, ['5'], ['9'])).toMatchObject({ sourceRows: 4, inserted: 4, updated: 0, deleted: 0, unchanged: 0 });
    expect(await targetIds()).toEqual([6, 7, 8, 9]);
    expect(await range(items, null, ['2'])).toMatchObject({ inserted: 2 });
    expect(await range(items, ['18'], null)).toMatchObject({ inserted: 2 });
    expect(await targetIds()).toEqual([1, 2, 6, 7, 8, 9, 19, 20]);
  });

  it('splits inserts by rows and by statement size without losing or repeating a row', async () => {
    for (const options of [{ insertRows: 3 }, { maxStatementChars: 120 }, { insertRows: 1, maxStatementChars: 1 }]) {
      await fx.targetAdmin.query('DELETE FROM items');
      const result = await syncKeyRange({ source: fx.source, target: fx.target, sourceShape: items, targetTable: { database: items.database, table: 'items' }, bounds: { lower: null, upper: null }, options });
      expect(result, JSON.stringify(options)).toMatchObject({ sourceRows: 20, inserted: 20 });
      expect(await fx.hexRows(fx.targetAdmin, 'items', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'items', 'id'));
    }
    await expect(async () =>
      syncKeyRange({ source: fx.source, target: fx.target, sourceShape: items, targetTable: { database: items.database, table: 'items' }, bounds: { lower: null, upper: null }, options: { insertRows: 0 } }),
    ).rejects.toThrow(/insertRows/);
  });

  it('copies and upserts a table whose table and column names are not ASCII (the statement mixes them with the literal list)', async () => {
    const ddl = 'CREATE TABLE `café_ünï` (`ключ` INT PRIMARY KEY, `naïve_名前` VARCHAR(20) NOT NULL, `blob_é` VARBINARY(8) NULL)';
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query(`SET NAMES utf8mb4; DROP TABLE IF EXISTS \`café_ünï\`; ${ddl}`);
    await fx.sourceAdmin.query("INSERT INTO `café_ünï` VALUES (1, 'zoë 名', X'FF00'), (2, '', NULL), (3, 'x', X'')");
    const shape = await fx.shape('café_ünï');
    const table = { database: shape.database, table: shape.table };
    expect(await syncKeyRange({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: table, bounds: { lower: null, upper: null } })).toMatchObject({ inserted: 3 });
    await fx.sourceAdmin.query("UPDATE `café_ünï` SET `naïve_名前` = 'ß' WHERE `ключ` = 2");
    expect(await syncKeys({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: table, keys: [['2']] })).toMatchObject({ updated: 1 });
    expect(await fx.hexRows(fx.targetAdmin, 'café_ünï', '`ключ`')).toEqual(await fx.hexRows(fx.sourceAdmin, 'café_ünï', '`ключ`'));
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT HEX(`naïve_名前`) FROM `café_ünï` ORDER BY 1', rowsAsArray: true });
    expect((rows as string[][]).map(([hex]) => Buffer.from(hex!, 'hex').toString('utf8')).sort()).toEqual(['x', 'zoë 名', 'ß'].sort());
  });

  it('copies with LOAD DATA, and with INSERTs the batch it could not insert whole (a stale unique holder outside the range)', async () => {
    expect(await range(items, null, ['10'])).toMatchObject({ inserted: 10, loaded: 10 });
    // Row 15 is not copied yet, but the target holds a stale row 99 with row 15's email: LOAD
    // DATA (LOCAL implies IGNORE) would skip row 15 silently; the copy must take the batch back,
    // find the conflict with INSERTs and sync row 99 too (the source has no row 99: deleted).
    await fx.targetAdmin.query(`INSERT INTO items VALUES (99, 0, 'u15@x', 'stale')`);
    expect(await range(items, ['10'], ['20'])).toMatchObject({ sourceRows: 10, inserted: 10, deleted: 1 });
    expect(await fx.hexRows(fx.targetAdmin, 'items', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'items', 'id'));
  });

  it('copies rows of several MiB with LOAD DATA byte-exact (sent in packets of 1 MiB)', async () => {
    const ddl = 'CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)';
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query(`DROP TABLE IF EXISTS big; ${ddl}`);
    // Random bytes (tabs, newlines, backslashes and NULs among them), 3 MiB per row.
    await fx.sourceAdmin.query('INSERT INTO big VALUES (1, RANDOM_BYTES(1024)), (2, NULL), (3, RANDOM_BYTES(1024))');
    await fx.sourceAdmin.query(`UPDATE big SET b = REPEAT(b, 3072) WHERE b IS NOT NULL`);
    const shape = await fx.shape('big');
    const result = await syncKeyRange({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table: 'big' }, bounds: { lower: null, upper: null } });
    expect(result).toMatchObject({ inserted: 3, loaded: 3 });
    const digest = 'SELECT id, LENGTH(b), SHA2(b, 256) FROM big ORDER BY id';
    const [sourceRows] = await fx.sourceAdmin.query({ sql: digest, rowsAsArray: true });
    expect((sourceRows as unknown[][])[0]![1]).toBe(3 * 1024 * 1024);
    expect((await fx.targetAdmin.query({ sql: digest, rowsAsArray: true }))[0]).toEqual(sourceRows);
  });

  it('copies with INSERTs into a target that refuses LOCAL INFILE, and keeps doing so without asking again', async () => {
    const url = parseConnectionUrl(dbs().target1.url);
    // A client without the LOCAL_FILES capability: the server refuses LOAD DATA LOCAL as a server with local_infile=OFF does.
    const refusing = mysql.createPool({ host: url.host, port: url.port, user: url.user, password: url.password(), database: url.database, flags: ['-LOCAL_FILES'], connectionLimit: 2 });
    // The target as the copy sees it, counting the LOAD DATA statements it is sent.
    let loadStatements = 0;
    const counting = <T extends Queryable>(db: T): T =>
      Object.assign(Object.create(db) as T, {
        query: (options: QueryOptions) => {
          if (options.sql.startsWith('LOAD DATA')) loadStatements += 1;
          return db.query(options);
        },
      });
    const target = Object.assign(counting(refusing as unknown as TransactionalPool), {
      getConnection: async () => {
        const conn = await refusing.getConnection();
        return Object.assign(counting(conn as unknown as PooledConnection), { release: () => conn.release() });
      },
    });
    try {
      const copy = (lower: string[] | null, upper: string[] | null) =>
        syncKeyRange({ source: fx.source, target, sourceShape: items, targetTable: { database: items.database, table: 'items' }, bounds: { lower, upper } });
      expect(await copy(null, ['10'])).toMatchObject({ inserted: 10, loaded: 0 });
      expect(loadStatements).toBe(1);
      expect(await copy(['10'], null)).toMatchObject({ inserted: 10, loaded: 0 });
      expect(loadStatements).toBe(1);
      expect(await fx.hexRows(fx.targetAdmin, 'items', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'items', 'id'));
    } finally {
      await refusing.end();
    }
  });

  it('copies only rows whose filter column lies in [from, to)', async () => {
    expect(await range(items, null, null, { column: 'shard', from: '1', to: '3' })).toMatchObject({ sourceRows: 10, inserted: 10 });
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT DISTINCT shard FROM items ORDER BY shard', rowsAsArray: true });
    expect(rows).toEqual([[1], [2]]);
  });

  it('propagates deletes and updates inside the range and leaves rows outside untouched', async () => {
    await range(items, null, null);
    await fx.sourceAdmin.query(`DELETE FROM items WHERE id IN (3, 4, 15); UPDATE items SET note = 'changed' WHERE id IN (5, 16)`);
    await fx.targetAdmin.query(`INSERT INTO items VALUES (100, 0, NULL, 'extra outside'), (7, 0, NULL, 'x') ON DUPLICATE KEY UPDATE note = 'stale'`);
    expect(await range(items, ['2'], ['10'])).toMatchObject({ sourceRows: 6, inserted: 0, updated: 2, deleted: 2, unchanged: 4 });
    expect(await targetIds()).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 100]);
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT id, note FROM items WHERE id IN (5, 7, 16) ORDER BY id', rowsAsArray: true });
    expect(rows).toEqual([['5', 'changed'], ['7', 'n7'], ['16', 'n16']]);
  });

  it('syncKeys inserts, updates and deletes exactly the given keys', async () => {
    await range(items, null, null);
    await fx.sourceAdmin.query(`DELETE FROM items WHERE id = 1; UPDATE items SET note = 'new' WHERE id IN (2, 3); INSERT INTO items VALUES (21, 1, NULL, 'born')`);
    expect(await keys(items, [['1'], ['2'], ['21'], ['21'], ['4'], ['999']])).toMatchObject({ sourceRows: 3, inserted: 1, updated: 1, deleted: 1, unchanged: 1 });
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT id, note FROM items WHERE id <= 3 OR id = 21 ORDER BY id', rowsAsArray: true });
    expect(rows).toEqual([['2', 'new'], ['3', 'n3'], ['21', 'born']]);
  });

  it('resolves unique-key swaps inside the set and stale unique holders outside it', async () => {
    await range(items, null, null);
    // Swap two emails, and move a third email to a row outside the synced keys.
    await fx.sourceAdmin.query(
      `UPDATE items SET email = NULL WHERE id IN (1, 2, 3); UPDATE items SET email = 'u2@x' WHERE id = 1; UPDATE items SET email = 'u1@x' WHERE id = 2;
       UPDATE items SET email = 'u3@x' WHERE id = 4`,
    );
    // Only keys 1, 2 and 4 are synced: row 3 on the target still holds u3@x, which row 4 now needs.
    const result = await keys(items, [['1'], ['2'], ['4']]);
    expect(result).toMatchObject({ updated: 4, deleted: 0, inserted: 0 });
    expect(await fx.hexRows(fx.targetAdmin, 'items', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'items', 'id'));
  });

  it('compares keys by exact bytes: a case-only key change is applied under a case-insensitive collation', async () => {
    await fx.sourceAdmin.query(`INSERT INTO names VALUES ('abc', 1), ('Zed', 2), ('straße', 3)`);
    await range(names, null, null);
    await fx.sourceAdmin.query(`UPDATE names SET k = 'ABC' WHERE k = 'abc'; UPDATE names SET k = 'zed ', v = 5 WHERE k = 'Zed'`);
    expect(await range(names, null, null)).toMatchObject({ sourceRows: 3, inserted: 2, updated: 0, deleted: 2, unchanged: 1 });
    expect(await fx.hexRows(fx.targetAdmin, 'names', 'k')).toEqual(await fx.hexRows(fx.sourceAdmin, 'names', 'k'));
    await fx.sourceAdmin.query(`UPDATE names SET k = 'Abc' WHERE k = 'ABC'`);
    expect(await keys(names, [[Buffer.from('ABC')]])).toMatchObject({ inserted: 1, deleted: 1 });
    expect(await fx.hexRows(fx.targetAdmin, 'names', 'k')).toEqual(await fx.hexRows(fx.sourceAdmin, 'names', 'k'));
  });
});
