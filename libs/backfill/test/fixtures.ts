import type mysql from 'mysql2/promise';
import { parsePlan, type Plan, type PlanInput } from '@cleave/core';
import type { TestDatabases } from '@cleave/testing';

type Server = 'source' | 'target1' | 'target2';

/** A plan on the test databases: targets t1 (target1) and t2 (target2), same database name. */
export function testPlan(dbs: TestDatabases, name: string, moves: PlanInput['moves']): Plan {
  return parsePlan({
    version: 1,
    name,
    source: { server: 'source', database: dbs.name },
    targets: { t1: { server: 'target1', database: dbs.name }, t2: { server: 'target2', database: dbs.name } },
    moves,
  });
}

/** A table with the type families that must copy byte-exact, filled with `rows` rows (ids 1..rows, plus ids past 2^63). */
export async function createPeople(admin: mysql.Connection, table: string, rows: number): Promise<void> {
  await admin.query(`CREATE TABLE \`${table}\` (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    email VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(100) CHARACTER SET utf8mb4 NULL,
    legacy VARCHAR(40) CHARACTER SET latin1 NULL,
    hash BINARY(8) NOT NULL,
    status ENUM('active','locked','gone') NOT NULL DEFAULT 'active',
    flags SET('a','b','c') NOT NULL DEFAULT '',
    balance DECIMAL(65,30) NOT NULL DEFAULT 0,
    bits BIT(10) NULL,
    created DATETIME(6) NOT NULL,
    seen TIMESTAMP(6) NULL,
    settings JSON NULL,
    email_len INT AS (CHAR_LENGTH(email)) VIRTUAL,
    UNIQUE KEY uk_email (email)
  ) ENGINE=InnoDB`);
  if (rows > 0) {
    await admin.query(`INSERT INTO \`${table}\` (id, email, name, legacy, hash, status, flags, balance, bits, created, seen, settings)
      SELECT seq, CONCAT('user', seq, '@example.org'), IF(seq % 7 = 0, NULL, CONCAT('Zoë 😀 ', seq)), IF(seq % 5 = 0, CONVERT(UNHEX('636166E9') USING latin1), NULL),
             UNHEX(LPAD(HEX(seq), 16, '0')), ELT(1 + seq % 3, 'active', 'locked', 'gone'), IF(seq % 2 = 0, 'a,c', ''),
             CONCAT(seq, '.', LPAD(seq, 30, '7')), b'1010101010', TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL seq MICROSECOND,
             IF(seq % 11 = 0, NULL, TIMESTAMP('2024-06-01 12:00:00.123456') + INTERVAL seq MINUTE), JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('x', seq))
        FROM seq_1_to_${rows}`);
  }
  await admin.query(`INSERT INTO \`${table}\` (id, email, hash, balance, created) VALUES
    (18446744073709551615, 'max@example.org', x'0000000000000000', '-99999999999999999999999999999999999.999999999999999999999999999999', '0000-00-00 00:00:00'),
    (9007199254740993, 'past53@example.org', x'ff00000000000000', 0, '2024-02-29 23:59:59.999999')`);
}

/**
 * An independent image of a table: the hex of every column of every row, ordered by `orderBy`, read
 * with the admin connection (not the code under test). Generated columns are included: they must
 * come out equal too.
 */
export async function tableImage(admin: mysql.Connection, table: string, orderBy = 'id'): Promise<string[]> {
  const [columns] = await admin.query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [table]);
  const list = (columns as Array<{ c: string }>).map(({ c }) => `IFNULL(HEX(\`${c}\`), 'NULL')`).join(", '|', ");
  const [rows] = await admin.query(`SELECT CONCAT(${list}) AS r FROM \`${table}\` ORDER BY ${orderBy}`);
  return (rows as Array<{ r: string }>).map((r) => r.r);
}

export type { Server };
