// Test-only helpers for the sync primitives' integration tests (not exported by the lib).
import type { Connection } from 'mysql2/promise';
import type { Pool } from 'mysql2/promise';
import type { TestDatabases } from '@cleave/testing';
import { readCatalog } from '../../catalog/read-catalog.js';
import { findTable } from '../../catalog/catalog.js';
import { parseConnectionUrl } from '../../connection-url.js';
import { MysqlPools } from '../../mysql-pools.js';
import { nextChunkUpper } from '../chunking.js';
import type { KeyTuple } from '../key-codec.js';
import { syncKeyRange, type SyncOptions } from '../sync-rows.js';
import { tableShape, type TableShape } from '../table-shape.js';

/** Pools on the source and target1 of a test's databases. */
export interface SyncFixture {
  readonly pools: MysqlPools;
  readonly source: Pool;
  readonly target: Pool;
  readonly sourceAdmin: Connection;
  readonly targetAdmin: Connection;
  shape(table: string): Promise<TableShape>;
  /** Every row of `table` with every column as HEX(), ordered by `orderBy`, from an admin connection. */
  hexRows(admin: Connection, table: string, orderBy?: string): Promise<string[][]>;
  end(): Promise<void>;
}

export async function syncFixture(dbs: TestDatabases, connectionLimit = 6): Promise<SyncFixture> {
  const pools = new MysqlPools({ maxConnectionsPerServer: 20 });
  const source = pools.promisePool(parseConnectionUrl(dbs.source.url), { connectionLimit });
  const target = pools.promisePool(parseConnectionUrl(dbs.target1.url), { connectionLimit });
  const sourceAdmin = await dbs.admin('source');
  const targetAdmin = await dbs.admin('target1');
  const database = dbs.source.database;
  return {
    pools,
    source,
    target,
    sourceAdmin,
    targetAdmin,
    async shape(table) {
      const catalog = await readCatalog(source, database, { tables: [table] });
      return tableShape(findTable(catalog, table)!, database);
    },
    async hexRows(admin, table, orderBy = '1') {
      const [columns] = await admin.query(
        'SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
        [database, table],
      );
      // FLOAT/DOUBLE: HEX() of a number is the hex of its integer part, so compare the exact double text instead.
      const list = (columns as { c: string; t: string }[])
        .map(({ c, t }) => (t === 'float' || t === 'double' ? `HEX(CONCAT(CAST(\`${c}\` AS DOUBLE)))` : `HEX(\`${c}\`)`))
        .join(', ');
      const [rows] = await admin.query({ sql: `SELECT ${list} FROM \`${table}\` ORDER BY ${orderBy}`, rowsAsArray: true });
      return rows as string[][];
    },
    async end() {
      await pools.end();
    },
  };
}

/** A deterministic pseudo-random source: `random(n)` in [0, n); the same seed repeats the same writes. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/**
 * One random write to `table` (`id INT PRIMARY KEY, v INT, note VARCHAR, email VARCHAR UNIQUE`) on
 * the source: an update, a delete, an insert-or-update, a key update, or a unique value moved
 * between rows. Returns the keys it touched (the rows to sync: the touched rows, the keys the
 * target's holders of a moved unique value have), or `undefined` when the write did not happen
 * (duplicate key, deadlock between the writers).
 */
export async function randomSourceWrite(fx: SyncFixture, table: string, random: (n: number) => number, idSpace: number): Promise<number[] | undefined> {
  const id = 1 + random(idSpace);
  const op = random(10);
  try {
    if (op < 4) {
      await fx.source.query(`UPDATE ${table} SET v = v + 1, note = CONCAT('u', v + 1) WHERE id = ${id}`);
      return [id];
    }
    if (op < 6) {
      await fx.source.query(`DELETE FROM ${table} WHERE id = ${id}`);
      return [id];
    }
    if (op < 8) {
      await fx.source.query(`INSERT INTO ${table} VALUES (${id}, 0, 'ins', NULL) ON DUPLICATE KEY UPDATE v = v + 100, note = 'upsert'`);
      return [id];
    }
    if (op < 9) {
      const to = 1 + random(idSpace);
      await fx.source.query(`UPDATE IGNORE ${table} SET id = ${to} WHERE id = ${id}`); // a key update
      return [id, to];
    }
    // Move a unique value between rows (a unique-key conflict on the target).
    const other = 1 + random(idSpace);
    await fx.source.query(`UPDATE ${table} SET email = NULL WHERE email = 'e${other}'`);
    await fx.source.query(`UPDATE ${table} SET email = 'e${other}' WHERE id = ${id}`);
    const [owners] = await fx.target.query({ sql: `SELECT id FROM ${table} WHERE email = ?`, values: [`e${other}`], rowsAsArray: true });
    return [id, ...(owners as [number][]).map(([owner]) => Number(owner)), other];
  } catch (error) {
    if ([1062, 1213].includes((error as { errno?: number }).errno ?? 0)) return undefined;
    throw error;
  }
}

/** Copies all of `table` from source to target in chunks of `chunkRows` (a backfill). Returns the rows inserted, and of them those LOAD DATA wrote. */
export async function copyTable(fx: SyncFixture, shape: TableShape, table: string, chunkRows: number, options?: SyncOptions): Promise<{ inserted: number; loaded: number }> {
  let inserted = 0;
  let loaded = 0;
  let lower: KeyTuple | null = null;
  for (;;) {
    const upper: KeyTuple | null = await nextChunkUpper(fx.source, shape, lower, chunkRows, null);
    const result = await syncKeyRange({ source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table }, bounds: { lower, upper }, ...(options ? { options } : {}) });
    inserted += result.inserted;
    loaded += result.loaded;
    if (upper === null) return { inserted, loaded };
    lower = upper;
  }
}
