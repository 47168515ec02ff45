import type { Pool as PromisePool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTable, type Catalog, type CatalogTable } from '../src/catalog/catalog.js';
import { readCatalog, type Queryable } from '../src/catalog/read-catalog.js';
import { requireUsableKey, usableKey } from '../src/catalog/usable-key.js';
import { quoteIdentifier } from '../src/identifier.js';
import { MysqlLibError } from '../src/mysql-error.js';
import { sampleAccountsStatements } from '@cleave/testing';
import { createTestDatabase, type TestDatabase } from './servers.js';

const EXTRA_TABLES = [
  `CREATE TABLE line_items (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT,
     price DECIMAL(10,2) NOT NULL,
     qty INT NOT NULL DEFAULT 1,
     total DECIMAL(12,2) AS (price * qty) STORED,
     label VARCHAR(40) AS (CONCAT('item-', id)) VIRTUAL,
     note VARCHAR(20) NULL DEFAULT 'it''s',
     hidden INT NULL INVISIBLE,
     PRIMARY KEY (id),
     CONSTRAINT chk_qty CHECK (qty > 0)
   ) ENGINE=InnoDB`,
  `CREATE TRIGGER line_items_bi BEFORE INSERT ON line_items FOR EACH ROW SET NEW.qty = GREATEST(NEW.qty, 1)`,
  `CREATE TRIGGER line_items_au AFTER UPDATE ON line_items FOR EACH ROW SET @cleave_touched = NEW.id`,
  `CREATE TABLE no_key_log (msg VARCHAR(100) NOT NULL, at DATETIME NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE nullable_unique (code VARCHAR(10) NULL, UNIQUE KEY uk_code (code)) ENGINE=InnoDB`,
  `CREATE TABLE unique_only (a INT NOT NULL, b INT NOT NULL, c INT NULL, UNIQUE KEY uk_c (c), UNIQUE KEY uk_ab (a, b)) ENGINE=InnoDB`,
  `CREATE TABLE \`we\`\`ird name\` (\`select\` INT NOT NULL PRIMARY KEY, \`a.b\` JSON NULL) ENGINE=InnoDB`,
  `CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active'`,
];

function table(catalog: Catalog, name: string): CatalogTable {
  const found = findTable(catalog, name);
  if (found === undefined) throw new Error(`no table ${name}`);
  return found;
}

function column(t: CatalogTable, name: string) {
  const found = t.columns.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no column ${name}`);
  return found;
}

describe('readCatalog on the sample account database', () => {
  let db: TestDatabase;
  let pool: PromisePool;
  let catalog: Catalog;
  let queries = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = db.pools.promisePool(db.url);
    await db.exec(...sampleAccountsStatements(), ...EXTRA_TABLES);
    const counting: Queryable = {
      query: (text, values) => {
        queries += 1;
        return pool.query(text, values) as Promise<[unknown, unknown]>;
      },
    };
    catalog = await readCatalog(counting, db.database);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('lists base tables only (no views), sorted, with the server flavor', () => {
    expect(catalog.database).toBe(db.database);
    expect(catalog.server.flavor).toBe('mariadb');
    expect(catalog.tables.map((t) => t.name)).toEqual(
      [
        'addresses',
        'email_aliases',
        'invoices',
        'line_items',
        'no_key_log',
        'nullable_unique',
        'sessions',
        'unique_only',
        'user_keys',
        'user_settings',
        'users',
        'we`ird name',
      ].sort(),
    );
    expect(table(catalog, 'users')).toMatchObject({ schema: db.database, engine: 'InnoDB', collation: 'utf8mb4_general_ci', autoIncrement: '1' });
  });

  it('reads all tables with a constant number of queries', () => {
    expect(queries).toBe(7);
  });

  it('users: columns, defaults, JSON, keys, indexes', () => {
    const users = table(catalog, 'users');
    expect(users.columns.map((c) => c.name)).toEqual([
      'id', 'email', 'display_name', 'password_hash', 'mfa_secret', 'status', 'plan_id', 'settings',
      'created_at', 'updated_at', 'last_login_at', 'storage_used',
    ]);
    expect(column(users, 'id')).toMatchObject({ ordinal: 1, columnType: 'bigint(20) unsigned', dataType: 'bigint', nullable: false, autoIncrement: true, default: null });
    expect(column(users, 'display_name')).toMatchObject({ charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' });
    expect(column(users, 'status').default).toEqual({ kind: 'literal', value: 'pending' });
    expect(column(users, 'plan_id').default).toEqual({ kind: 'literal', value: '1' });
    expect(column(users, 'settings')).toMatchObject({ dataType: 'longtext', isJson: true, nullable: true, default: null });
    expect(column(users, 'mfa_secret')).toMatchObject({ isJson: false, nullable: true, default: null });
    expect(column(users, 'updated_at')).toMatchObject({
      default: { kind: 'expression', expression: 'CURRENT_TIMESTAMP(6)' },
      onUpdate: 'CURRENT_TIMESTAMP(6)',
    });
    expect(users.primaryKey).toEqual(['id']);
    expect(users.uniqueKeys).toEqual([{ name: 'uk_users_email', columns: ['email'], allNotNull: true }]);
    expect(users.indexes.map((i) => [i.name, i.unique, i.columns])).toEqual([
      ['PRIMARY', true, ['id']],
      ['uk_users_email', true, ['email']],
      ['idx_users_status_plan', false, ['status', 'plan_id']],
      ['idx_users_created', false, ['created_at']],
    ]);
    expect(users.foreignKeys).toEqual([]);
    expect(users.checkConstraints).toEqual([{ name: 'settings', clause: 'json_valid(`settings`)', level: 'column' }]);
  });

  it('foreign keys of addresses and email_aliases', () => {
    for (const [name, fk] of [
      ['addresses', 'fk_addresses_user'],
      ['email_aliases', 'fk_aliases_user'],
    ] as const) {
      expect(table(catalog, name).foreignKeys).toEqual([
        {
          name: fk,
          columns: ['user_id'],
          referencedSchema: db.database,
          referencedTable: 'users',
          referencedColumns: ['id'],
          onUpdate: 'RESTRICT',
          onDelete: 'CASCADE',
        },
      ]);
    }
    expect(table(catalog, 'email_aliases').uniqueKeys).toEqual([{ name: 'uk_alias', columns: ['alias'], allNotNull: true }]);
  });

  it('composite primary key of invoices, composite index of sessions', () => {
    const invoices = table(catalog, 'invoices');
    expect(invoices.primaryKey).toEqual(['user_id', 'invoice_no']);
    expect(usableKey(invoices)).toEqual({ kind: 'primary', name: 'PRIMARY', columns: ['user_id', 'invoice_no'] });
    expect(column(invoices, 'amount').columnType).toBe('decimal(19,4)');
    expect(column(invoices, 'currency')).toMatchObject({ charset: 'ascii', columnType: 'char(3)' });
    expect(table(catalog, 'sessions').indexes.find((i) => i.name === 'idx_sessions_user_created')?.columns).toEqual(['user_id', 'created_at']);
  });

  it('defaults of user_settings and user_keys', () => {
    const settings = table(catalog, 'user_settings');
    expect(column(settings, 'locale').default).toEqual({ kind: 'literal', value: 'en_US' });
    expect(column(settings, 'features').default).toEqual({ kind: 'literal', value: '' });
    expect(column(settings, 'quota_bytes').default).toEqual({ kind: 'literal', value: '1073741824' });
    expect(column(settings, 'prefs').isJson).toBe(true);
    expect(settings.primaryKey).toEqual(['user_id']);
    expect(column(table(catalog, 'user_keys'), 'flags')).toMatchObject({ columnType: 'bit(8)', default: { kind: 'expression', expression: "b'11'" } });
  });

  it('generated columns, triggers, CHECK constraints, invisible columns', () => {
    const items = table(catalog, 'line_items');
    expect(column(items, 'total').generated).toEqual({ kind: 'stored', expression: '`price` * `qty`' });
    expect(column(items, 'label').generated).toEqual({ kind: 'virtual', expression: "concat('item-',`id`)" });
    expect(column(items, 'total').default).toBeNull();
    expect(column(items, 'price').generated).toBeNull();
    expect(column(items, 'note').default).toEqual({ kind: 'literal', value: "it's" });
    expect(column(items, 'hidden').invisible).toBe(true);
    expect(items.triggers).toEqual([
      { name: 'line_items_au', timing: 'AFTER', event: 'UPDATE', order: 1 },
      { name: 'line_items_bi', timing: 'BEFORE', event: 'INSERT', order: 1 },
    ]);
    expect(items.checkConstraints).toEqual([{ name: 'chk_qty', clause: '`qty` > 0', level: 'table' }]);
  });

  it('usable keys: primary, NOT NULL unique, none', () => {
    expect(usableKey(table(catalog, 'unique_only'))).toEqual({ kind: 'unique', name: 'uk_ab', columns: ['a', 'b'] });
    expect(usableKey(table(catalog, 'nullable_unique'))).toBeNull();
    expect(table(catalog, 'nullable_unique').uniqueKeys).toEqual([{ name: 'uk_code', columns: ['code'], allNotNull: false }]);
    let error: unknown;
    try {
      requireUsableKey(table(catalog, 'no_key_log'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MysqlLibError);
    expect((error as MysqlLibError).code).toBe('NO_USABLE_KEY');
    expect((error as MysqlLibError).message).toContain(`Table ${db.database}.no_key_log has no usable key`);
    expect(() => requireUsableKey(table(catalog, 'nullable_unique'))).toThrow('Its unique key "uk_code" allows NULL');
  });

  it('handles hostile names', () => {
    const weird = table(catalog, 'we`ird name');
    expect(weird.primaryKey).toEqual(['select']);
    expect(column(weird, 'a.b').isJson).toBe(true);
  });

  it('reads a subset of tables, and says which are missing', async () => {
    const subset = await readCatalog(pool, db.database, { tables: ['invoices', 'users'] });
    expect(subset.tables.map((t) => t.name)).toEqual(['invoices', 'users']);
    expect(subset.tables[1]).toEqual(table(catalog, 'users'));
    await expect(readCatalog(pool, db.database, { tables: ['users', 'active_users', 'nope'] })).rejects.toThrow(
      `Database ${db.database} has no base table named "active_users", "nope".`,
    );
    expect((await readCatalog(pool, db.database, { tables: [] })).tables).toEqual([]);
  });

  it('says when the database does not exist', async () => {
    await expect(readCatalog(pool, 'cleave_no_such_db')).rejects.toMatchObject({
      code: 'CATALOG_READ_FAILED',
      message: 'Database cleave_no_such_db does not exist on the server (or the user cannot see it).',
    });
  });

  it('reads hundreds of tables in the same handful of queries', async () => {
    const bulk = `${db.database}_bulk`.slice(0, 64);
    await pool.query(`CREATE DATABASE ${quoteIdentifier(bulk)}`);
    try {
      const statements = Array.from(
        { length: 300 },
        (_, i) =>
          `CREATE TABLE ${quoteIdentifier(bulk)}.${quoteIdentifier(`t${String(i).padStart(3, '0')}`)} ` +
          `(id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT 'x', UNIQUE KEY uk_v (v))`,
      );
      for (let i = 0; i < statements.length; i += 10) {
        await Promise.all(statements.slice(i, i + 10).map((statement) => pool.query(statement)));
      }
      let count = 0;
      const big = await readCatalog(
        { query: (text, values) => ((count += 1), pool.query(text, values) as Promise<[unknown, unknown]>) },
        bulk,
      );
      expect(big.tables).toHaveLength(300);
      expect(big.tables[299]).toMatchObject({ name: 't299', primaryKey: ['id'], uniqueKeys: [{ name: 'uk_v', columns: ['v'], allNotNull: true }] });
      // Scale is a query count, not a time: the same 7 queries whatever the number of tables.
      expect(count).toBe(7);
    } finally {
      await pool.query(`DROP DATABASE ${quoteIdentifier(bulk)}`);
    }
  });
});
