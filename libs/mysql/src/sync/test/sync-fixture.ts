// Test-only helpers for the sync primitives' integration tests (not exported by the lib).
import type { Connection } from 'mysql2/promise';
import type { Pool } from 'mysql2/promise';
import type { TestDatabases } from '@cleave/testing';
import { readCatalog } from '../../catalog/read-catalog.js';
import { findTable } from '../../catalog/catalog.js';
import { parseConnectionUrl } from '../../connection-url.js';
import { MysqlPools } from '../../mysql-pools.js';
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
