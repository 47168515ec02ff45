import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { context, rawImageSelectList, readImages, syncKeyRange } from './sync-rows.js';
import { decodeLoadDataLine, loadDataLineExpression } from './load-data.js';
import { queryRaw } from './raw-rows.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';
import { parseConnectionUrl } from '../connection-url.js';

// One table per type family, filled with the values that break naive copiers. Each is copied
// with syncKeyRange over the whole table and compared with HEX() of every column on both
// servers (through the admin connections, not the code under test).
const FAMILIES: Record<string, { readonly ddl: string; readonly rows: readonly string[]; readonly orderBy: string }> = {
  integers: {
    ddl: `id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, u64 BIGINT UNSIGNED, s64 BIGINT, t TINYINT, mu MEDIUMINT UNSIGNED`,
    rows: [
      `(0, 18446744073709551615, -9223372036854775808, -128, 16777215)`,
      `(1, 9007199254740993, 9223372036854775807, 127, 0)`,
      `(5000, 18446744073709551614, -9007199254740993, NULL, NULL)`,
    ],
    orderBy: 'id',
  },
  numbers: {
    ddl: `id INT PRIMARY KEY, d DECIMAL(65,30), f FLOAT, dbl DOUBLE, fu FLOAT UNSIGNED`,
    rows: [
      `(1, 99999999999999999999999999999999999.999999999999999999999999999999, 3.1415927, 0.1e0 + 0.2e0, 16777217)`,
      `(2, -0.000000000000000000000000000001, 1.17549435e-38, 1.7976931348623157e308, 0.1)`,
      `(3, 12345678901234567890.123456789012345678901234567890, -3.4028234e38, 2.2250738585072014e-308, NULL)`,
    ],
    orderBy: 'id',
  },
  temporal: {
    ddl: `id INT PRIMARY KEY, dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, d DATE, t TIME(6), y YEAR, dt0 DATETIME`,
    rows: [
      `(1, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00', '-838:59:59.000000', 0, '0000-00-00 00:00:00')`,
      `(2, '2024-03-31 02:30:00.123456', '2038-01-19 03:14:07.999999', '2024-02-29', '838:59:59.999999', 2155, '2024-00-15 00:00:00')`,
      `(3, '9999-12-31 23:59:59.999999', '1970-01-01 05:30:01.000001', '1000-01-01', '00:00:00.000001', 1901, NULL)`,
    ],
    orderBy: 'id',
  },
  json: {
    ddl: `id INT PRIMARY KEY, j JSON, j2 JSON NOT NULL`,
    rows: [
      `(1, '{"b":1,  "a" : [1, 2.50, "\\u00e9", "é😀"]}', '[]')`,
      `(2, NULL, '  "x\\\\n\\\\ty"  ')`,
      `(3, '{"big": 18446744073709551616123, "dec": 1.000000000000000000001}', 'null')`,
    ],
    orderBy: 'id',
  },
  bytes: {
    ddl: `id INT PRIMARY KEY, b1 BIT(1), b10 BIT(10), b64 BIT(64), bin BINARY(8), vb VARBINARY(64), bl BLOB, lb LONGBLOB`,
    rows: [
      `(1, b'1', b'1010101010', b'1111111111111111111111111111111111111111111111111111111111111111', X'61620000', X'00090A5C27220D1A', X'00', X'')`,
      `(2, b'0', b'0', b'0', X'0000000000000000', X'', X'5C5C00', NULL)`,
      `(3, NULL, NULL, NULL, X'FF', X'0A', X'0000', X'5C')`,
    ],
    orderBy: 'id',
  },
  enumset: {
    ddl: `id INT PRIMARY KEY, e ENUM('a','b','c d','é'), s SET('x','y','z'), el ENUM('ä','ß') CHARACTER SET latin1`,
    rows: [`(1, 'a', '', 'ä')`, `(2, 'é', 'x,z', 'ß')`, `(3, NULL, 'x,y,z', NULL)`],
    orderBy: 'id',
  },
  charsets: {
    ddl: `id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1, g VARCHAR(20) CHARACTER SET gbk, u VARCHAR(20) CHARACTER SET utf8mb4,
          u3 TEXT CHARACTER SET utf8mb3, c CHAR(5), bin_coll VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    rows: [
      `(1, _latin1 X'636166E9FF', _gbk X'C4E3BAC3', 'é😀👍🏽', 'café', 'x', 'A  ')`,
      `(2, 'a\\tb\\nc\\\\d''e', _gbk X'5C', '', '', '', '')`,
      `(3, NULL, NULL, 'trailing  ', NULL, 'abc  ', ' lead')`,
    ],
    orderBy: 'id',
  },
  spatial: {
    ddl: `id INT PRIMARY KEY, g GEOMETRY, p POINT, poly POLYGON, srid_p POINT`,
    rows: [
      `(1, ST_GeomFromText('LINESTRING(0 0, 1.5 2.25, -3 4)'), ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'), ST_GeomFromText('POINT(45.5 -73.25)', 4326))`,
      `(2, ST_GeomFromText('POINT(0.1 0.2)'), NULL, NULL, ST_GeomFromText('POINT(1 1)', 3857))`,
    ],
    orderBy: 'id',
  },
  // MariaDB's own types (codec 'other'): written as their text, never as 16 binary bytes.
  mariadb_types: {
    ddl: `id INT PRIMARY KEY, u UUID, i6 INET6, i4 INET4`,
    rows: [
      `(1, '123e4567-e89b-12d3-a456-426614174000', '2001:db8::ff00:42:8329', '192.168.0.1')`,
      `(2, '00000000-0000-0000-0000-000000000000', '::ffff:10.0.0.1', '0.0.0.0')`,
      `(3, NULL, NULL, NULL)`,
    ],
    orderBy: 'id',
  },
  generated: {
    ddl: `id INT PRIMARY KEY, a INT, v INT AS (a * 2) VIRTUAL, s VARCHAR(20) AS (CONCAT('x', a)) STORED, b VARCHAR(5)`,
    rows: [`(1, 21, DEFAULT, DEFAULT, 'q')`, `(2, NULL, DEFAULT, DEFAULT, NULL)`],
    orderBy: 'id',
  },
  varchar_key: {
    ddl: `k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT`,
    rows: [`('Ärger', 1)`, `('zebra', 2)`, `('Zoo', 3)`, `('', 4)`, `('a b', 5)`, `('😀', 6)`],
    orderBy: 'k',
  },
  varbinary_key: {
    ddl: `k VARBINARY(8) PRIMARY KEY, v VARCHAR(5)`,
    rows: [`(X'00', 'a')`, `(X'0000', 'b')`, `(X'5C', 'c')`, `(X'FF', 'd')`, `(X'', 'e')`, `(X'0A09', 'f')`],
    orderBy: 'k',
  },
  composite_key: {
    ddl: `tenant INT UNSIGNED NOT NULL, name VARCHAR(10) NOT NULL, seq BIGINT NOT NULL, v TEXT, PRIMARY KEY (tenant, name, seq)`,
    rows: [`(1, 'a', 1, 'x')`, `(1, 'a', 2, NULL)`, `(1, 'B', -1, 'y')`, `(2, '', 0, 'z')`, `(4294967295, 'é', 9223372036854775807, '')`],
    orderBy: 'tenant, name, seq',
  },
};

describe('syncKeyRange fidelity', () => {
  const dbs = useTestDatabases('syncfid');
  let fx: SyncFixture;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    await fx.sourceAdmin.query(`SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES', time_zone = '+05:30'`);
    await fx.targetAdmin.query(`SET SESSION time_zone = '+00:00'`);
    for (const [table, family] of Object.entries(FAMILIES)) {
      await fx.sourceAdmin.query(`CREATE TABLE \`${table}\` (${family.ddl}) ENGINE=InnoDB`);
      await fx.targetAdmin.query(`CREATE TABLE \`${table}\` (${family.ddl}) ENGINE=InnoDB`);
      // Written by a client in +05:30: TIMESTAMPs are stored in UTC and must not shift.
      await fx.sourceAdmin.query(`INSERT INTO \`${table}\` VALUES ${family.rows.join(', ')}`);
    }
    await fx.sourceAdmin.query(`SET SESSION time_zone = '+00:00'`);
  });
  afterAll(async () => {
    await fx.end();
  });

  for (const [table, family] of Object.entries(FAMILIES)) {
    it(`copies ${table} byte-exact, with LOAD DATA and with INSERTs`, async () => {
      const shape = await fx.shape(table);
      const sourceHex = await fx.hexRows(fx.sourceAdmin, table, family.orderBy);
      expect(sourceHex).toHaveLength(family.rows.length);
      // INSERT first, LOAD DATA last: the later tests read what the LOAD DATA copy left.
      for (const bulkInsert of ['insert', 'load-data'] as const) {
        await fx.targetAdmin.query(`TRUNCATE TABLE \`${table}\``);
        const copy = () =>
          syncKeyRange({
            source: fx.source,
            target: fx.target,
            sourceShape: shape,
            targetTable: { database: shape.database, table },
            bounds: { lower: null, upper: null },
            options: { bulkInsert },
          });
        const result = await copy();
        const loaded = bulkInsert === 'load-data' ? family.rows.length : 0;
        expect(result, bulkInsert).toMatchObject({ sourceRows: family.rows.length, inserted: family.rows.length, loaded, updated: 0, deleted: 0, unchanged: 0 });
        expect(await fx.hexRows(fx.targetAdmin, table, family.orderBy), bulkInsert).toEqual(sourceHex);

        // A second pass finds nothing to do.
        expect(await copy(), bulkInsert).toMatchObject({ sourceRows: family.rows.length, inserted: 0, loaded: 0, updated: 0, deleted: 0, unchanged: family.rows.length });
      }
    });
  }

  it('builds the same images on the client as the server does, for every family, whatever the connection charset', async () => {
    // The dual-write path reads plain columns and builds the literals itself (imageLiterals:
    // 'client'); its images are compared with server-built ones (INSERT … RETURNING, other
    // routers), so they must be byte-identical. A latin1 client connection must not change them.
    const url = parseConnectionUrl(dbs().source.url);
    const latin1 = await mysql.createConnection({ host: url.host, port: url.port, user: url.user, password: url.password(), database: url.database, charset: 'LATIN1_SWEDISH_CI' });
    try {
      await latin1.query(`SET time_zone = '+00:00'`);
      for (const table of Object.keys(FAMILIES)) {
        const shape = await fx.shape(table);
        const args = { source: fx.source, target: fx.target, sourceShape: shape, targetTable: { database: shape.database, table } };
        const server = await readImages(context(args, false), fx.source, args.targetTable, '1');
        const client = await readImages(context({ ...args, options: { imageLiterals: 'client' } }, false), fx.source, args.targetTable, '1');
        const clientLatin1 = await readImages(context({ ...args, source: latin1, options: { imageLiterals: 'client' } }, false), latin1, args.targetTable, '1');
        expect(server.length, table).toBe(FAMILIES[table]!.rows.length);
        expect(client.map(String), table).toEqual(server.map(String));
        expect(client, table).toEqual(server);
        expect(clientLatin1, table).toEqual(server);
      }
    } finally {
      await latin1.end();
    }
  });

  it("decodes the source's LOAD DATA lines to the values read column by column, for every family", async () => {
    // The copy's fallback to INSERTs builds literals from the decoded line: it must give the
    // same values as a plain read (and so the same literals as the router's images).
    for (const [table, family] of Object.entries(FAMILIES)) {
      const shape = await fx.shape(table);
      const columns = shape.shapeColumns;
      const keys = shape.keyShapeColumns.length;
      const lines = await queryRaw(fx.source, `SELECT ${loadDataLineExpression(columns)} FROM \`${table}\` ORDER BY ${family.orderBy}`);
      const plain = await queryRaw(fx.source, `SELECT ${rawImageSelectList(shape)} FROM \`${table}\` ORDER BY ${family.orderBy}`);
      expect(lines.map(([line]) => decodeLoadDataLine(line as Buffer, columns)), table).toEqual(plain.map((row) => row.slice(keys)));
    }
  });

  it('keeps an id 0 row and leaves the target auto-increment counter above every copied id', async () => {
    const [[zero]] = (await fx.targetAdmin.query('SELECT COUNT(*) AS n FROM integers WHERE id = 0')) as unknown as [[{ n: number }]];
    expect(Number(zero.n)).toBe(1);
    const [[table]] = (await fx.targetAdmin.query(
      `SELECT AUTO_INCREMENT AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'integers'`,
    )) as unknown as [[{ ai: string }]];
    expect(BigInt(table.ai)).toBeGreaterThan(5000n);
    await fx.targetAdmin.query(`INSERT INTO integers (u64) VALUES (1)`);
    const [[max]] = (await fx.targetAdmin.query('SELECT MAX(id) AS m FROM integers')) as unknown as [[{ m: string }]];
    expect(max.m).toBe('5001');
  });

  it('reads generated columns on the target from its own expression (never written)', async () => {
    const [rows] = await fx.targetAdmin.query({ sql: 'SELECT id, v, s FROM generated ORDER BY id', rowsAsArray: true });
    expect(rows).toEqual([[1, 42, 'x21'], [2, null, null]]);
  });
});
