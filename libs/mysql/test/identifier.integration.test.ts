import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool as PromisePool } from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { quoteIdentifier, quoteQualified } from '../src/identifier.js';
import { createTestDatabase, type TestDatabase } from './servers.js';

// Names chosen to break naive quoting: backticks, statement separators, comments, quotes,
// backslashes, reserved words, dots, unicode, whitespace inside, the 64-character limit.
const HOSTILE_TABLES = [
  'a`b',
  'x; DROP TABLE y',
  '`; DROP TABLE y; --',
  'select',
  "it's",
  'say "hi"',
  'back\\slash',
  'trailing\\',
  'dot.ted',
  'Ünïcødé 名前',
  ' leading',
  '/* comment */',
  't'.repeat(64),
  // Not 64 of them: MariaDB stores a table as a file and encodes each such character in 5 bytes,
  // so 64 would exceed the 255-byte file name limit (errno 36), whatever the quoting.
  '名'.repeat(40),
];

const HOSTILE_COLUMNS = ['from', 'a`b', "o'neil", 'x\\y', 'col.umn', '-- dash', 'ñ 名', 'z'.repeat(64), '名'.repeat(64)];

describe('quoting against the real server', () => {
  let db: TestDatabase;
  let pool: PromisePool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = db.pools.promisePool(db.url);
    // A sentinel that an injection through a name would drop.
    await db.exec('CREATE TABLE y (id INT PRIMARY KEY)');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('creates, fills and reads back tables and columns with hostile names', async () => {
    const columns = HOSTILE_COLUMNS.map((name) => `${quoteIdentifier(name)} VARCHAR(20) NULL`).join(', ');
    for (const table of HOSTILE_TABLES) {
      await pool.query(`CREATE TABLE ${quoteQualified(db.database, table)} (id INT NOT NULL PRIMARY KEY, ${columns})`);
      await pool.query(
        `INSERT INTO ${quoteIdentifier(table)} (${['id', ...HOSTILE_COLUMNS].map(quoteIdentifier).join(', ')}) VALUES (?)`,
        [[1, ...HOSTILE_COLUMNS.map((_, i) => `v${i}`)]],
      );
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${HOSTILE_COLUMNS.map(quoteIdentifier).join(', ')} FROM ${quoteQualified(db.database, table)} WHERE ${quoteIdentifier('id')} = ?`,
        [1],
      );
      expect(rows).toHaveLength(1);
      expect(Object.keys(rows[0] ?? {})).toEqual(HOSTILE_COLUMNS);
      expect(Object.values(rows[0] ?? {})).toEqual(HOSTILE_COLUMNS.map((_, i) => `v${i}`));
    }

    const [tables] = await pool.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
      [db.database],
    );
    expect(tables.map((row) => row['name'] as string).sort()).toEqual([...HOSTILE_TABLES, 'y'].sort());

    const [columnRows] = await pool.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [db.database, 'a`b'],
    );
    expect(columnRows.map((row) => row['name'] as string)).toEqual(['id', ...HOSTILE_COLUMNS]);
  });

  it('creates and drops a database with a hostile name', async () => {
    const name = `${db.database}\`; DROP DATABASE x`.slice(0, 64);
    await pool.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    try {
      await pool.query(`CREATE TABLE ${quoteQualified(name, 'a`b')} (id INT PRIMARY KEY)`);
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
        [name],
      );
      expect(rows.map((row) => row['name'] as string)).toEqual(['a`b']);
    } finally {
      await pool.query(`DROP DATABASE ${quoteIdentifier(name)}`);
    }
  });

  it('the server agrees with the validation rules', async () => {
    // Trailing space and supplementary characters are rejected by the server too.
    await expect(pool.query('CREATE TABLE `trailing ` (id INT)')).rejects.toThrow();
    await expect(pool.query('CREATE TABLE `emoji🎉` (id INT)')).rejects.toThrow();
    await expect(pool.query(`CREATE TABLE \`${'a'.repeat(65)}\` (id INT)`)).rejects.toThrow();
  });
});
