import { useTestDatabases } from '@cleave/testing';
import type { Connection, Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTable, MysqlPools, parseConnectionUrl, readCatalog, tableShape, type TableShape } from '@cleave/mysql';
import { chunkChecksum, sameChecksum } from './chunk-checksum.js';
import { chunkHashForm, rowHashSql, rowStringSql, type ChunkHashForm } from './row-hash.js';
import { diffRows } from './row-diff.js';

// Variable-length columns then fixed ones, a nullable fixed column last. Only the binary variable
// values may hold the separator byte 0xFF: \`c\` has a length field, \`b\`, the last of them and
// nullable, has none (its NULL and '' differ only through the NULL bitmap). UTF-8 text, BINARY(n)
// and ENUM/SET values have none either.
const DDL = `CREATE TABLE hashed (
  id INT PRIMARY KEY,
  a VARCHAR(20) NOT NULL,
  e ENUM('p', 'p#') NOT NULL DEFAULT 'p',
  f BINARY(2) NOT NULL DEFAULT '',
  s SET('q', 'r') NOT NULL DEFAULT 'q',
  c VARBINARY(20) NOT NULL DEFAULT '',
  b VARBINARY(20) NULL,
  n INT NOT NULL,
  t DATETIME NULL
)`;

const INSERT_BASE = 'INSERT INTO hashed (id, a, c, b, n, t) VALUES';
const BASE = `(1, 'x', X'', X'00', 1, NULL), (2, 'x', X'', X'00', 1, NULL), (3, 'p', X'01', X'FF02', 3, '2024-01-01'), (4, 'q', X'', X'72', 4, '2024-01-02')`;

/**
 * Each case changes the target's rows; the chunk checksum of the table must differ, and so must
 * the row diff. Classes that a cheaper encoding or hash could miss: NULL vs '' vs a zero byte,
 * trailing spaces and zero bytes, a separator moving between values, values swapped between rows
 * or columns, and the same change applied to two rows (which a XOR of linear hashes cancels).
 */
const CASES: Array<[string, string]> = [
  ['NULL vs empty in the last variable column', `UPDATE hashed SET b = '' WHERE id = 3`],
  ['empty vs a zero byte', `UPDATE hashed SET b = X'' WHERE id = 1`],
  ['a trailing zero byte', `UPDATE hashed SET b = X'0000' WHERE id = 1`],
  ['a trailing space', `UPDATE hashed SET a = 'x ' WHERE id = 1`],
  ['a separator moving into the next value', `UPDATE hashed SET a = 'x#', b = X'' WHERE id = 2`],
  ['a separator moving from a variable into a fixed value', `UPDATE hashed SET b = CONCAT(b, '#3') , n = 3 WHERE id = 1`],
  ['values swapped between two rows', `UPDATE hashed SET a = IF(id = 3, 'q', 'p') WHERE id IN (3, 4)`],
  ['values swapped between two columns', `UPDATE hashed SET a = 'q', b = 'p' WHERE id = 3 AND a = 'p'`],
  ['the same change in two rows', `UPDATE hashed SET n = 5 WHERE id IN (1, 2)`],
  ['a NULL date vs a value', `UPDATE hashed SET t = '2024-01-01' WHERE id = 1`],
  ['an ENUM member with a separator', `UPDATE hashed SET e = 'p#' WHERE id = 3`],
  ['a separator byte in a BINARY(n) value', `UPDATE hashed SET f = X'2300' WHERE id = 3`],
  ['a SET value', `UPDATE hashed SET s = 'q,r' WHERE id = 3`],
  ['a separator moving between an ENUM and the next value', `UPDATE hashed SET e = 'p#', f = X'0000' WHERE id = 4`],
  ['a 0xFF byte moving from one binary value into the next', `UPDATE hashed SET c = X'01FF', b = X'02' WHERE id = 3`],
  ['a 0xFF byte moving from the last binary value into a number', `UPDATE hashed SET b = X'FF', n = 23 WHERE id = 3`],
  ['a case-only change in a case-insensitive column', `UPDATE hashed SET a = 'X' WHERE id = 1`],
  ['an accent-only change in a case-insensitive column', `UPDATE hashed SET a = 'é' WHERE id = 3 AND a = 'p'`],
];

describe('the canonical row string', () => {
  it('gives a length field to each value that may hold 0xFF and has no fixed width, but the last', () => {
    const column = (name: string, dataType: string, columnType: string, codec: string, charset: string | null = null) => ({ name, dataType, columnType, codec, charset });
    const columns = [
      column('id', 'int', 'int(11)', 'integer'),
      column('v', 'varchar', 'varchar(9)', 'text', 'utf8mb4'),
      column('lat', 'varchar', 'varchar(9)', 'text', 'latin1'),
      column('fx', 'binary', 'binary(4)', 'binary'),
      column('en', 'enum', "enum('a','b c')", 'text', 'latin1'),
      column('quote', 'set', "set('it''s')", 'text', 'latin1'),
      column('vb', 'varbinary', 'varbinary(9)', 'binary'),
      column('last', 'blob', 'blob', 'binary'),
    ];
    const shape = {
      database: 'd',
      table: 't',
      catalog: { name: 't', columns: columns.map(({ name, dataType, columnType }) => ({ name, dataType, columnType, nullable: false })) },
      shapeColumns: columns.map(({ name, codec, charset }) => ({ name, quoted: `\`${name}\``, codec, charset, readExpression: `\`${name}\``, longValues: false })),
    } as unknown as TableShape;
    expect(rowStringSql(shape)).toBe("CONCAT_WS(CAST(X'FF' AS BINARY), LENGTH(`lat`), LENGTH(`quote`), LENGTH(`vb`), `id`, `v`, `lat`, `fx`, `en`, `quote`, `vb`, `last`)");
  });
});

// Text in four charsets, ENUM/SET, MariaDB JSON and a latin1 TEXT holding 0xFF bytes.
const CHARSETS_DDL = `CREATE TABLE charsets (
  id INT PRIMARY KEY,
  l VARCHAR(20) CHARACTER SET latin1 NOT NULL,
  g VARCHAR(20) CHARACTER SET gbk NULL,
  u VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  e ENUM('a', 'é') CHARACTER SET latin1 NOT NULL,
  j JSON NULL,
  t TEXT CHARACTER SET latin1 NULL,
  n DECIMAL(10, 2) NOT NULL
) DEFAULT CHARSET = utf8mb4`;
const CHARSETS_ROWS = `INSERT INTO charsets VALUES
  (1, _latin1 X'E9FF41', _gbk X'C4E3BAC3', _utf8mb4 X'C3A9F09F9880', 'é', '{"a": "é"}', _latin1 X'FFFE', 1.50),
  (2, '', NULL, 'A', 'a', NULL, NULL, 0)`;

describe('the canonical row string holds every value as its stored bytes', () => {
  const dbs = useTestDatabases('verify_hash_bytes');
  let pools: MysqlPools;
  let source: Pool;
  let shape: TableShape;

  beforeAll(async () => {
    pools = new MysqlPools();
    source = pools.promisePool(parseConnectionUrl(dbs().source.url), { connectionLimit: 2 });
    const admin = await dbs().admin('source');
    await admin.query(`SET NAMES utf8mb4; ${CHARSETS_DDL}; ${CHARSETS_ROWS}`);
    const catalog = await readCatalog(source, dbs().source.database, { tables: ['charsets'] });
    shape = tableShape(findTable(catalog, 'charsets')!, dbs().source.database);
  });
  afterAll(async () => {
    await pools.end();
  });

  it('equals the bytes assembled here from the HEX of each column (no charset conversion)', async () => {
    // Independent of the code under test: each column's stored bytes as HEX, joined here with the
    // NULL bitmap (g, j, t nullable) and the length fields of the 0xFF-capable values (l, g, the
    // ENUM with a non-ASCII member, t; t is the last of them and has none) in front.
    const [rows] = (await source.query(
      'SELECT id, ISNULL(g) AS gn, ISNULL(j) AS jn, ISNULL(t) AS tn, LENGTH(l) AS ll, LENGTH(g) AS gl, LENGTH(e) AS el, HEX(l) AS l, HEX(g) AS g, HEX(u) AS u, HEX(e) AS e, HEX(j) AS j, HEX(t) AS t, CAST(n AS CHAR) AS n FROM charsets ORDER BY id',
    )) as unknown as [Array<Record<string, string | number | null>>];
    const ascii = (value: string | number) => Buffer.from(String(value)).toString('hex').toUpperCase();
    const expected = rows.map((r) =>
      [ascii(`${r['gn']}${r['jn']}${r['tn']}`), ascii(r['ll']!), r['gl'] === null ? null : ascii(r['gl']!), ascii(r['el']!), ascii(r['id']!), r['l'], r['g'], r['u'], r['e'], r['j'], r['t'], ascii(r['n']!)]
        .filter((part) => part !== null)
        .join('FF'),
    );
    expect(expected[0]).toContain('E9FF41'); // the latin1 bytes, with their own 0xFF
    const [ours] = (await source.query(`SELECT HEX(${rowStringSql(shape)}) AS s FROM charsets ORDER BY id`)) as unknown as [Array<{ s: string }>];
    expect(ours.map((r) => r.s)).toEqual(expected);
  });

  it('is the same whatever the session charset', async () => {
    const conn = await source.getConnection();
    try {
      const checksum = async () => (await chunkChecksum(conn, shape, shape, '1', 'crc-product')).hash;
      const before = await checksum();
      await conn.query('SET NAMES latin1');
      const latin1 = await checksum();
      await conn.query('SET NAMES gbk');
      expect([latin1, await checksum()]).toEqual([before, before]);
    } finally {
      await conn.query('SET NAMES utf8mb4');
      conn.release();
    }
  });
});

describe('the chunk checksum sees every difference class', () => {
  const dbs = useTestDatabases('verify_hash');
  let pools: MysqlPools;
  let source: Pool;
  let target: Pool;
  let targetAdmin: Connection;
  let shape: TableShape;
  const targetTable = () => ({ database: dbs().target1.database, table: 'hashed' });

  beforeAll(async () => {
    pools = new MysqlPools();
    source = pools.promisePool(parseConnectionUrl(dbs().source.url), { connectionLimit: 2 });
    target = pools.promisePool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 2 });
    const sourceAdmin = await dbs().admin('source');
    targetAdmin = await dbs().admin('target1');
    await sourceAdmin.query(`${DDL}; ${INSERT_BASE} ${BASE}`);
    await targetAdmin.query(DDL);
    const catalog = await readCatalog(source, dbs().source.database, { tables: ['hashed'] });
    shape = tableShape(findTable(catalog, 'hashed')!, dbs().source.database);
  });
  afterAll(async () => {
    await pools.end();
  });

  const FORMS: ChunkHashForm[] = ['crc-product', 'conv'];
  const cases = FORMS.flatMap((form) => CASES.map(([name, change]) => [form, name, change] as const));

  it('the servers here compute the fast form', async () => {
    expect(await chunkHashForm([source, target])).toBe('crc-product');
  });

  it.each(FORMS)('the %s aggregate equals the XOR of its per-row values computed one row at a time', async (form) => {
    // Independent of the aggregate's single expression (and of the order in which the server
    // evaluates its parts): each row's string (or SHA1) is fetched, its CRCs computed by separate
    // calls and multiplied here.
    let expected = 0n;
    if (form === 'crc-product') {
      const [rows] = (await source.query(`SELECT ${rowStringSql(shape)} AS s FROM hashed`)) as unknown as [Array<{ s: Buffer }>];
      expect(rows.length).toBe(4);
      for (const { s } of rows) {
        const [[crcs]] = (await source.query('SELECT CRC32(?) AS a, CRC32C(?) AS b', [s, s])) as unknown as [[{ a: number; b: number }]];
        expected ^= BigInt(crcs!.a) * BigInt(crcs!.b);
      }
    } else {
      const [rows] = (await source.query(`SELECT ${rowHashSql(shape)} AS h FROM hashed`)) as unknown as [Array<{ h: string }>];
      expect(rows.length).toBe(4);
      for (const { h } of rows) {
        const [[value]] = (await source.query('SELECT CAST(CONV(LEFT(?, 16), 16, 10) AS CHAR) AS v', [h])) as unknown as [[{ v: string }]];
        expected ^= BigInt(value!.v);
      }
    }
    const sum = await chunkChecksum(source, shape, shape, '1', form);
    expect(sum.rows).toBe(4);
    expect(sum.hash).toBe(expected.toString());
  });

  it.each(cases)('%s: %s', async (form, _name, change) => {
    await targetAdmin.query(`DELETE FROM hashed; ${INSERT_BASE} ${BASE}`);
    const same = await Promise.all([chunkChecksum(source, shape, shape, '1', form), chunkChecksum(target, shape, targetTable(), '1', form)]);
    expect(sameChecksum(same[0], same[1])).toBe(true);
    await targetAdmin.query(change);
    const [a, b] = await Promise.all([chunkChecksum(source, shape, shape, '1', form), chunkChecksum(target, shape, targetTable(), '1', form)]);
    expect(a.rows).toBe(b.rows);
    expect(sameChecksum(a, b)).toBe(false);
    expect((await diffRows(source, target, shape, targetTable(), '1')).length).toBeGreaterThan(0);
  });
});
