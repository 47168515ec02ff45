import { describe, expect, it } from 'vitest';
import { buildCatalog, parseServerVersion, type CatalogRows } from './build-catalog.js';
import type { CatalogColumn } from './catalog.js';

// The same two tables as MariaDB 10.11 and MySQL 8.0 report them:
//
// CREATE TABLE users (
//   id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, email VARCHAR(255) NOT NULL,
//   status ENUM('active','pending') NOT NULL DEFAULT 'pending', note VARCHAR(20) NULL DEFAULT NULL,
//   settings JSON NULL, flags BIT(8) NOT NULL DEFAULT b'11',
//   updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
//   email_lower VARCHAR(255) AS (lower(email)) VIRTUAL,
//   PRIMARY KEY (id), UNIQUE KEY uk_email (email), KEY idx_status (status, email(10)),
//   CONSTRAINT chk_id CHECK (id > 0));
// CREATE TABLE orders (
//   user_id BIGINT UNSIGNED NOT NULL, order_no INT NOT NULL, code VARCHAR(10) NULL,
//   PRIMARY KEY (user_id, order_no), UNIQUE KEY uk_code (code),
//   CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
// CREATE TRIGGER orders_bi BEFORE INSERT ON orders ...; CREATE TRIGGER orders_au AFTER UPDATE ON orders ...;

const MARIADB_ROWS: CatalogRows = {
  tables: [
    { table_name: 'users', table_type: 'BASE TABLE', engine: 'InnoDB', table_collation: 'utf8mb4_general_ci', table_rows: '3', data_length: '16384', index_length: '32768', auto_increment: '4' },
    { table_name: 'orders', table_type: 'BASE TABLE', engine: 'InnoDB', table_collation: 'utf8mb4_general_ci', table_rows: '0', data_length: '16384', index_length: '16384', auto_increment: null },
  ],
  columns: [
    { table_name: 'users', column_name: 'id', ordinal_position: '1', column_default: null, is_nullable: 'NO', data_type: 'bigint', column_type: 'bigint(20) unsigned', character_set_name: null, collation_name: null, extra: 'auto_increment', generation_expression: null },
    { table_name: 'users', column_name: 'email', ordinal_position: '2', column_default: null, is_nullable: 'NO', data_type: 'varchar', column_type: 'varchar(255)', character_set_name: 'utf8mb4', collation_name: 'utf8mb4_general_ci', extra: '', generation_expression: null },
    { table_name: 'users', column_name: 'status', ordinal_position: '3', column_default: "'pending'", is_nullable: 'NO', data_type: 'enum', column_type: "enum('active','pending')", character_set_name: 'utf8mb4', collation_name: 'utf8mb4_general_ci', extra: '', generation_expression: null },
    { table_name: 'users', column_name: 'note', ordinal_position: '4', column_default: 'NULL', is_nullable: 'YES', data_type: 'varchar', column_type: 'varchar(20)', character_set_name: 'utf8mb4', collation_name: 'utf8mb4_general_ci', extra: '', generation_expression: null },
    { table_name: 'users', column_name: 'settings', ordinal_position: '5', column_default: 'NULL', is_nullable: 'YES', data_type: 'longtext', column_type: 'longtext', character_set_name: 'utf8mb4', collation_name: 'utf8mb4_bin', extra: '', generation_expression: null },
    { table_name: 'users', column_name: 'flags', ordinal_position: '6', column_default: "b'11'", is_nullable: 'NO', data_type: 'bit', column_type: 'bit(8)', character_set_name: null, collation_name: null, extra: '', generation_expression: null },
    { table_name: 'users', column_name: 'updated_at', ordinal_position: '7', column_default: 'current_timestamp(6)', is_nullable: 'NO', data_type: 'timestamp', column_type: 'timestamp(6)', character_set_name: null, collation_name: null, extra: 'on update current_timestamp(6)', generation_expression: null },
    { table_name: 'users', column_name: 'email_lower', ordinal_position: '8', column_default: null, is_nullable: 'YES', data_type: 'varchar', column_type: 'varchar(255)', character_set_name: 'utf8mb4', collation_name: 'utf8mb4_general_ci', extra: 'VIRTUAL GENERATED', generation_expression: 'lcase(`email`)' },
    // orders, listed out of order on purpose
    { table_name: 'orders', column_name: 'code', ordinal_position: '3', column_default: 'NULL', is_nullable: 'YES', data_type: 'varchar', column_type: 'varchar(10)', character_set_name: 'utf8mb4', collation_name: 'utf8mb4_general_ci', extra: '', generation_expression: null },
    { table_name: 'orders', column_name: 'user_id', ordinal_position: '1', column_default: null, is_nullable: 'NO', data_type: 'bigint', column_type: 'bigint(20) unsigned', character_set_name: null, collation_name: null, extra: '', generation_expression: null },
    { table_name: 'orders', column_name: 'order_no', ordinal_position: '2', column_default: null, is_nullable: 'NO', data_type: 'int', column_type: 'int(11)', character_set_name: null, collation_name: null, extra: '', generation_expression: null },
  ],
  statistics: [
    { table_name: 'users', index_name: 'PRIMARY', non_unique: '0', seq_in_index: '1', column_name: 'id', sub_part: null, index_type: 'BTREE' },
    { table_name: 'users', index_name: 'uk_email', non_unique: '0', seq_in_index: '1', column_name: 'email', sub_part: null, index_type: 'BTREE' },
    { table_name: 'users', index_name: 'idx_status', non_unique: '1', seq_in_index: '2', column_name: 'email', sub_part: '10', index_type: 'BTREE' },
    { table_name: 'users', index_name: 'idx_status', non_unique: '1', seq_in_index: '1', column_name: 'status', sub_part: null, index_type: 'BTREE' },
    { table_name: 'orders', index_name: 'PRIMARY', non_unique: '0', seq_in_index: '2', column_name: 'order_no', sub_part: null, index_type: 'BTREE' },
    { table_name: 'orders', index_name: 'PRIMARY', non_unique: '0', seq_in_index: '1', column_name: 'user_id', sub_part: null, index_type: 'BTREE' },
    { table_name: 'orders', index_name: 'uk_code', non_unique: '0', seq_in_index: '1', column_name: 'code', sub_part: null, index_type: 'BTREE' },
  ],
  foreignKeys: [
    { table_name: 'orders', constraint_name: 'fk_orders_user', column_name: 'user_id', ordinal_position: '1', referenced_table_schema: 'shop', referenced_table_name: 'users', referenced_column_name: 'id', update_rule: 'RESTRICT', delete_rule: 'CASCADE' },
  ],
  triggers: [
    { table_name: 'orders', trigger_name: 'orders_au', action_timing: 'AFTER', event_manipulation: 'UPDATE', action_order: '1' },
    { table_name: 'orders', trigger_name: 'orders_bi', action_timing: 'BEFORE', event_manipulation: 'INSERT', action_order: '1' },
  ],
  checks: [
    { table_name: 'users', constraint_name: 'settings', check_clause: 'json_valid(`settings`)', level: 'Column' },
    { table_name: 'users', constraint_name: 'chk_id', check_clause: '`id` > 0', level: 'Table' },
  ],
};

// MySQL 8 as the driver returns it without aliases: upper-case labels, numbers for numeric columns.
const MYSQL_ROWS: CatalogRows = {
  tables: [
    { TABLE_NAME: 'orders', TABLE_TYPE: 'BASE TABLE', ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_0900_ai_ci', TABLE_ROWS: 0, DATA_LENGTH: 16384, INDEX_LENGTH: 16384, AUTO_INCREMENT: null },
    { TABLE_NAME: 'users', TABLE_TYPE: 'BASE TABLE', ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_0900_ai_ci', TABLE_ROWS: 3, DATA_LENGTH: 16384, INDEX_LENGTH: 32768, AUTO_INCREMENT: 4 },
  ],
  columns: [
    { TABLE_NAME: 'users', COLUMN_NAME: 'id', ORDINAL_POSITION: 1, COLUMN_DEFAULT: null, IS_NULLABLE: 'NO', DATA_TYPE: 'bigint', COLUMN_TYPE: 'bigint unsigned', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: 'auto_increment', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'email', ORDINAL_POSITION: 2, COLUMN_DEFAULT: null, IS_NULLABLE: 'NO', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(255)', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_0900_ai_ci', EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'status', ORDINAL_POSITION: 3, COLUMN_DEFAULT: 'pending', IS_NULLABLE: 'NO', DATA_TYPE: 'enum', COLUMN_TYPE: "enum('active','pending')", CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_0900_ai_ci', EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'note', ORDINAL_POSITION: 4, COLUMN_DEFAULT: null, IS_NULLABLE: 'YES', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(20)', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_0900_ai_ci', EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'settings', ORDINAL_POSITION: 5, COLUMN_DEFAULT: null, IS_NULLABLE: 'YES', DATA_TYPE: 'json', COLUMN_TYPE: 'json', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'flags', ORDINAL_POSITION: 6, COLUMN_DEFAULT: "b'11'", IS_NULLABLE: 'NO', DATA_TYPE: 'bit', COLUMN_TYPE: 'bit(8)', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'updated_at', ORDINAL_POSITION: 7, COLUMN_DEFAULT: 'CURRENT_TIMESTAMP(6)', IS_NULLABLE: 'NO', DATA_TYPE: 'timestamp', COLUMN_TYPE: 'timestamp(6)', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'users', COLUMN_NAME: 'email_lower', ORDINAL_POSITION: 8, COLUMN_DEFAULT: null, IS_NULLABLE: 'YES', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(255)', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_0900_ai_ci', EXTRA: 'VIRTUAL GENERATED', GENERATION_EXPRESSION: 'lower(`email`)' },
    { TABLE_NAME: 'orders', COLUMN_NAME: 'user_id', ORDINAL_POSITION: 1, COLUMN_DEFAULT: null, IS_NULLABLE: 'NO', DATA_TYPE: 'bigint', COLUMN_TYPE: 'bigint unsigned', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'orders', COLUMN_NAME: 'order_no', ORDINAL_POSITION: 2, COLUMN_DEFAULT: null, IS_NULLABLE: 'NO', DATA_TYPE: 'int', COLUMN_TYPE: 'int', CHARACTER_SET_NAME: null, COLLATION_NAME: null, EXTRA: '', GENERATION_EXPRESSION: '' },
    { TABLE_NAME: 'orders', COLUMN_NAME: 'code', ORDINAL_POSITION: 3, COLUMN_DEFAULT: null, IS_NULLABLE: 'YES', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(10)', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_0900_ai_ci', EXTRA: '', GENERATION_EXPRESSION: '' },
  ],
  statistics: [
    { TABLE_NAME: 'orders', INDEX_NAME: 'PRIMARY', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: 'user_id', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'orders', INDEX_NAME: 'PRIMARY', NON_UNIQUE: 0, SEQ_IN_INDEX: 2, COLUMN_NAME: 'order_no', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'orders', INDEX_NAME: 'uk_code', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: 'code', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'users', INDEX_NAME: 'PRIMARY', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: 'id', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'users', INDEX_NAME: 'uk_email', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: 'email', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'users', INDEX_NAME: 'idx_status', NON_UNIQUE: 1, SEQ_IN_INDEX: 1, COLUMN_NAME: 'status', SUB_PART: null, INDEX_TYPE: 'BTREE' },
    { TABLE_NAME: 'users', INDEX_NAME: 'idx_status', NON_UNIQUE: 1, SEQ_IN_INDEX: 2, COLUMN_NAME: 'email', SUB_PART: 10, INDEX_TYPE: 'BTREE' },
  ],
  foreignKeys: [
    { TABLE_NAME: 'orders', CONSTRAINT_NAME: 'fk_orders_user', COLUMN_NAME: 'user_id', ORDINAL_POSITION: 1, REFERENCED_TABLE_SCHEMA: 'shop', REFERENCED_TABLE_NAME: 'users', REFERENCED_COLUMN_NAME: 'id', UPDATE_RULE: 'RESTRICT', DELETE_RULE: 'CASCADE' },
  ],
  triggers: [
    { TABLE_NAME: 'orders', TRIGGER_NAME: 'orders_bi', ACTION_TIMING: 'BEFORE', EVENT_MANIPULATION: 'INSERT', ACTION_ORDER: 1 },
    { TABLE_NAME: 'orders', TRIGGER_NAME: 'orders_au', ACTION_TIMING: 'AFTER', EVENT_MANIPULATION: 'UPDATE', ACTION_ORDER: 1 },
  ],
  checks: [{ TABLE_NAME: 'users', CONSTRAINT_NAME: 'chk_id', CHECK_CLAUSE: '(`id` > 0)' }],
};

const MARIADB = parseServerVersion('10.11.19-MariaDB-0+deb12u1');
const MYSQL = parseServerVersion('8.0.36');

/**
 * What must agree between flavors: everything but what the servers spell differently (type
 * widths, collations, JSON as longtext, generation expressions).
 */
function portable(column: CatalogColumn) {
  const { columnType: _t, dataType, collation: _c, charset: _s, generated, ...rest } = column;
  return { ...rest, dataType: column.isJson ? 'json' : dataType, generatedKind: generated?.kind ?? null };
}

describe('parseServerVersion', () => {
  it('tells MariaDB from MySQL', () => {
    expect(MARIADB).toEqual({ flavor: 'mariadb', version: '10.11.19', versionString: '10.11.19-MariaDB-0+deb12u1' });
    expect(MYSQL).toEqual({ flavor: 'mysql', version: '8.0.36', versionString: '8.0.36' });
    expect(parseServerVersion('8.0.36-28').flavor).toBe('mysql');
  });
});

describe('buildCatalog', () => {
  const mariadb = buildCatalog('shop', MARIADB, MARIADB_ROWS);
  const mysql = buildCatalog('shop', MYSQL, MYSQL_ROWS);

  it('sorts tables by name and reads sizes as numbers', () => {
    for (const catalog of [mariadb, mysql]) {
      expect(catalog.tables.map((table) => table.name)).toEqual(['orders', 'users']);
      const users = catalog.tables[1];
      expect(users).toMatchObject({ schema: 'shop', engine: 'InnoDB', rowEstimate: 3, dataBytes: 16384, indexBytes: 32768, autoIncrement: '4', systemVersioned: false });
    }
  });

  it('normalises columns the same way on both flavors', () => {
    for (const name of ['users', 'orders']) {
      const a = mariadb.tables.find((table) => table.name === name)?.columns.map(portable);
      const b = mysql.tables.find((table) => table.name === name)?.columns.map(portable);
      expect(a).toEqual(b);
    }
  });

  it('reads the MariaDB users columns in full', () => {
    const users = mariadb.tables.find((table) => table.name === 'users');
    expect(users?.columns.map((column) => [column.name, column.columnType, column.default, column.isJson])).toEqual([
      ['id', 'bigint(20) unsigned', null, false],
      ['email', 'varchar(255)', null, false],
      ['status', "enum('active','pending')", { kind: 'literal', value: 'pending' }, false],
      ['note', 'varchar(20)', null, false],
      ['settings', 'longtext', null, true],
      ['flags', 'bit(8)', { kind: 'expression', expression: "b'11'" }, false],
      ['updated_at', 'timestamp(6)', { kind: 'expression', expression: 'CURRENT_TIMESTAMP(6)' }, false],
      ['email_lower', 'varchar(255)', null, false],
    ]);
    expect(users?.columns[0]?.autoIncrement).toBe(true);
    expect(users?.columns[6]?.onUpdate).toBe('CURRENT_TIMESTAMP(6)');
    expect(users?.columns[7]?.generated).toEqual({ kind: 'virtual', expression: 'lcase(`email`)' });
    expect(mysql.tables[1]?.columns[4]).toMatchObject({ dataType: 'json', isJson: true });
  });

  it('reads keys and indexes the same way on both flavors', () => {
    for (const catalog of [mariadb, mysql]) {
      const [orders, users] = catalog.tables;
      expect(users?.primaryKey).toEqual(['id']);
      expect(users?.uniqueKeys).toEqual([{ name: 'uk_email', columns: ['email'], allNotNull: true }]);
      expect(users?.indexes.find((index) => index.name === 'idx_status')).toEqual({
        name: 'idx_status',
        unique: false,
        type: 'BTREE',
        parts: [
          { column: 'status', subPart: null },
          { column: 'email', subPart: 10 },
        ],
        columns: ['status', 'email'],
      });
      expect(orders?.primaryKey).toEqual(['user_id', 'order_no']);
      expect(orders?.uniqueKeys).toEqual([{ name: 'uk_code', columns: ['code'], allNotNull: false }]);
      expect(orders?.foreignKeys).toEqual([
        {
          name: 'fk_orders_user',
          columns: ['user_id'],
          referencedSchema: 'shop',
          referencedTable: 'users',
          referencedColumns: ['id'],
          onUpdate: 'RESTRICT',
          onDelete: 'CASCADE',
        },
      ]);
      expect(orders?.triggers).toEqual([
        { name: 'orders_au', timing: 'AFTER', event: 'UPDATE', order: 1 },
        { name: 'orders_bi', timing: 'BEFORE', event: 'INSERT', order: 1 },
      ]);
    }
  });

  it('keeps CHECK constraints with their level where the server reports it', () => {
    expect(mariadb.tables[1]?.checkConstraints).toEqual([
      { name: 'chk_id', clause: '`id` > 0', level: 'table' },
      { name: 'settings', clause: 'json_valid(`settings`)', level: 'column' },
    ]);
    expect(mysql.tables[1]?.checkConstraints).toEqual([{ name: 'chk_id', clause: '(`id` > 0)', level: null }]);
  });

  it('leaves expression parts out of column lists and unique keys (MySQL functional index)', () => {
    const catalog = buildCatalog('shop', MYSQL, {
      ...MYSQL_ROWS,
      statistics: [
        ...MYSQL_ROWS.statistics,
        { TABLE_NAME: 'users', INDEX_NAME: 'uk_fn', NON_UNIQUE: 0, SEQ_IN_INDEX: 1, COLUMN_NAME: null, SUB_PART: null, INDEX_TYPE: 'BTREE' },
      ],
    });
    const users = catalog.tables[1];
    expect(users?.indexes.find((index) => index.name === 'uk_fn')).toMatchObject({ unique: true, columns: [], parts: [{ column: null, subPart: null }] });
    expect(users?.uniqueKeys.map((key) => key.name)).toEqual(['uk_email']);
  });

  it('marks MariaDB system-versioned tables', () => {
    const catalog = buildCatalog('shop', MARIADB, {
      ...MARIADB_ROWS,
      tables: [{ ...MARIADB_ROWS.tables[0], table_type: 'SYSTEM VERSIONED' }],
    });
    expect(catalog.tables[0]?.systemVersioned).toBe(true);
  });
});
