import { MysqlLibError } from '../mysql-error.js';
import type { Catalog, ServerInfo } from './catalog.js';
import type { CatalogRow } from './catalog-row.js';
import { rowNumber, rowRequiredText } from './catalog-row.js';
import { buildCatalog, parseServerVersion, type CatalogRows } from './build-catalog.js';

/**
 * What {@link readCatalog} needs: the `query` method of a mysql2 promise pool or connection
 * (structural, so any compatible object works).
 */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** Per-call options of {@link readCatalog}. */
export interface ReadCatalogOptions {
  /** Read only these tables (all base tables when omitted). A name that does not exist is an error. */
  readonly tables?: readonly string[];
}

const TABLES_SQL = `
SELECT TABLE_NAME AS table_name, TABLE_TYPE AS table_type, ENGINE AS engine,
       TABLE_COLLATION AS table_collation, TABLE_ROWS AS table_rows, DATA_LENGTH AS data_length,
       INDEX_LENGTH AS index_length, AUTO_INCREMENT AS auto_increment
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`;

const COLUMNS_SQL = `
SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, ORDINAL_POSITION AS ordinal_position,
       COLUMN_DEFAULT AS column_default, IS_NULLABLE AS is_nullable, DATA_TYPE AS data_type,
       COLUMN_TYPE AS column_type, CHARACTER_SET_NAME AS character_set_name,
       COLLATION_NAME AS collation_name, EXTRA AS extra, GENERATION_EXPRESSION AS generation_expression
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ?`;

// No ORDER BY: the server lists indexes in definition order (PRIMARY, then unique keys).
const STATISTICS_SQL = `
SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique,
       SEQ_IN_INDEX AS seq_in_index, COLUMN_NAME AS column_name, SUB_PART AS sub_part,
       INDEX_TYPE AS index_type
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ?`;

const FOREIGN_KEYS_SQL = `
SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name, k.COLUMN_NAME AS column_name,
       k.ORDINAL_POSITION AS ordinal_position, k.REFERENCED_TABLE_SCHEMA AS referenced_table_schema,
       k.REFERENCED_TABLE_NAME AS referenced_table_name, k.REFERENCED_COLUMN_NAME AS referenced_column_name,
       r.UPDATE_RULE AS update_rule, r.DELETE_RULE AS delete_rule
FROM information_schema.KEY_COLUMN_USAGE k
LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL`;

const TRIGGERS_SQL = `
SELECT EVENT_OBJECT_TABLE AS table_name, TRIGGER_NAME AS trigger_name, ACTION_TIMING AS action_timing,
       EVENT_MANIPULATION AS event_manipulation, ACTION_ORDER AS action_order
FROM information_schema.TRIGGERS
WHERE EVENT_OBJECT_SCHEMA = ?`;

// MariaDB names CHECK constraints per table (a JSON column's constraint is named after the
// column), and its CHECK_CONSTRAINTS has TABLE_NAME and LEVEL.
const MARIADB_CHECKS_SQL = `
SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS constraint_name, CHECK_CLAUSE AS check_clause,
       LEVEL AS level
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = ?`;

// MySQL names CHECK constraints per schema; the table is in TABLE_CONSTRAINTS.
const MYSQL_CHECKS_SQL = `
SELECT t.TABLE_NAME AS table_name, c.CONSTRAINT_NAME AS constraint_name, c.CHECK_CLAUSE AS check_clause
FROM information_schema.TABLE_CONSTRAINTS t
JOIN information_schema.CHECK_CONSTRAINTS c
  ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME
WHERE t.CONSTRAINT_SCHEMA = ? AND t.CONSTRAINT_TYPE = 'CHECK'`;

function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < minimum.length; i += 1) {
    const have = parts[i] ?? 0;
    const need = minimum[i] ?? 0;
    if (have !== need) return have > need;
  }
  return true;
}

function checksSql(server: ServerInfo): string | undefined {
  if (server.flavor === 'mariadb') return versionAtLeast(server.version, [10, 2, 22]) ? MARIADB_CHECKS_SQL : undefined;
  return versionAtLeast(server.version, [8, 0, 16]) ? MYSQL_CHECKS_SQL : undefined;
}

async function select(queryable: Queryable, database: string, what: string, sql: string, values: unknown[]): Promise<CatalogRow[]> {
  let rows: unknown;
  try {
    [rows] = await queryable.query(sql, values);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MysqlLibError('CATALOG_READ_FAILED', `Reading the ${what} of database ${database} failed: ${reason}`, {
      cause: error,
      hint: 'Check that the user may read information_schema for this database.',
    });
  }
  if (!Array.isArray(rows)) {
    throw new MysqlLibError('CATALOG_READ_FAILED', `Reading the ${what} of database ${database} returned no rows array.`);
  }
  return rows as CatalogRow[];
}

/**
 * MariaDB lists a foreign key's rules (REFERENTIAL_CONSTRAINTS) only to an account holding a
 * privilege besides SELECT on the table, while KEY_COLUMN_USAGE shows the key to SELECT alone:
 * a read-only account would see a catalog without its foreign keys, and plan a split that crosses
 * them. Refuses instead, naming the grant.
 */
async function requireForeignKeyRules(queryable: Queryable, database: string, foreignKeys: readonly CatalogRow[]): Promise<void> {
  const hidden = [...new Set(foreignKeys.filter((row) => row['update_rule'] === null || row['update_rule'] === undefined).map((row) => `${String(row['table_name'])}.${String(row['constraint_name'])}`))];
  if (hidden.length === 0) return;
  const [who] = await select(queryable, database, 'current user', 'SELECT CURRENT_USER() AS account', []);
  const account = String(who?.['account'] ?? 'user@host');
  const at = account.lastIndexOf('@');
  throw new MysqlLibError('CATALOG_READ_FAILED', `The account may not read the rules of the foreign keys ${hidden.join(', ')} in database ${database}: information_schema.REFERENTIAL_CONSTRAINTS hides them from an account that holds only SELECT.`, {
    hint: `GRANT REFERENCES ON \`${database}\`.* TO '${account.slice(0, at)}'@'${account.slice(at + 1)}'; (REFERENCES allows nothing else on MariaDB), then run it again.`,
  });
}

/**
 * Reads the base tables of `database` with their columns, keys, indexes, foreign keys, triggers
 * and CHECK constraints: a handful of information_schema queries for all tables at once (it does
 * not query per table, so it scales to hundreds of tables). Works on MariaDB 10.11 and MySQL 8.
 *
 * Throws `CATALOG_READ_FAILED` when the database does not exist (or the user cannot see it), a
 * requested table does not exist, or a query fails.
 *
 * @example
 * ```ts
 * const catalog = await readCatalog(pools.promisePool(url), 'accounts');
 * for (const table of catalog.tables) console.log(table.name, usableKey(table)?.columns);
 * ```
 */
export async function readCatalog(queryable: Queryable, database: string, options: ReadCatalogOptions = {}): Promise<Catalog> {
  const [head] = await select(
    queryable,
    database,
    'server version',
    'SELECT VERSION() AS version, (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?) AS schema_count',
    [database],
  );
  if (head === undefined) throw new MysqlLibError('CATALOG_READ_FAILED', 'SELECT VERSION() returned no row.');
  const server = parseServerVersion(rowRequiredText(head, 'version'));
  if (rowNumber(head, 'schema_count') === 0) {
    throw new MysqlLibError(
      'CATALOG_READ_FAILED',
      `Database ${database} does not exist on the server (or the user cannot see it).`,
      { hint: 'Check the database name in the connection URL, and the user\'s grants.' },
    );
  }
  const only = options.tables;
  if (only !== undefined && only.length === 0) return { database, server, tables: [] };
  const filter = (column: string): string => (only === undefined ? '' : ` AND ${column} IN (?)`);
  const values: unknown[] = only === undefined ? [database] : [database, [...only]];

  const checks = checksSql(server);
  const [tables, columns, statistics, foreignKeys, triggers, checkRows] = await Promise.all([
    select(queryable, database, 'tables', TABLES_SQL + filter('TABLE_NAME'), values),
    select(queryable, database, 'columns', COLUMNS_SQL + filter('TABLE_NAME'), values),
    select(queryable, database, 'indexes', STATISTICS_SQL + filter('TABLE_NAME'), values),
    select(queryable, database, 'foreign keys', FOREIGN_KEYS_SQL + filter('k.TABLE_NAME'), values),
    select(queryable, database, 'triggers', TRIGGERS_SQL + filter('EVENT_OBJECT_TABLE'), values),
    checks === undefined
      ? Promise.resolve([])
      : select(queryable, database, 'check constraints', checks + filter(server.flavor === 'mariadb' ? 'TABLE_NAME' : 't.TABLE_NAME'), values),
  ]);
  await requireForeignKeyRules(queryable, database, foreignKeys);
  const rows: CatalogRows = { tables, columns, statistics, foreignKeys, triggers, checks: checkRows };
  const catalog = buildCatalog(database, server, rows);
  if (only !== undefined) {
    const found = new Set(catalog.tables.map((table) => table.name));
    const missing = only.filter((name) => !found.has(name));
    if (missing.length > 0) {
      throw new MysqlLibError(
        'CATALOG_READ_FAILED',
        `Database ${database} has no base table named ${missing.map((name) => JSON.stringify(name)).join(', ')}.`,
        { hint: 'Check the table names (views are not tables).' },
      );
    }
  }
  return catalog;
}
