import type {
  Catalog,
  CatalogCheckConstraint,
  CatalogForeignKey,
  CatalogIndex,
  CatalogIndexPart,
  CatalogTable,
  CatalogTrigger,
  CatalogUniqueKey,
  ReferentialAction,
  ServerInfo,
} from './catalog.js';
import { rowNumber, rowRequiredText, rowText, type CatalogRow } from './catalog-row.js';
import { jsonValidColumn, normalizeColumn } from './normalize-column.js';

/** The raw rows of the information_schema queries, for all tables of one database at once. */
export interface CatalogRows {
  /** information_schema.TABLES */
  readonly tables: readonly CatalogRow[];
  /** information_schema.COLUMNS */
  readonly columns: readonly CatalogRow[];
  /** information_schema.STATISTICS */
  readonly statistics: readonly CatalogRow[];
  /** KEY_COLUMN_USAGE joined with REFERENTIAL_CONSTRAINTS (`update_rule`, `delete_rule`). */
  readonly foreignKeys: readonly CatalogRow[];
  /** information_schema.TRIGGERS (`table_name` = EVENT_OBJECT_TABLE). */
  readonly triggers: readonly CatalogRow[];
  /** CHECK constraints with `table_name`, `constraint_name`, `check_clause` and MariaDB's `level`. */
  readonly checks: readonly CatalogRow[];
}

const REFERENTIAL_ACTIONS: readonly ReferentialAction[] = ['CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT', 'NO ACTION'];

function referentialAction(text: string | null): ReferentialAction {
  const upper = (text ?? 'RESTRICT').toUpperCase();
  const action = REFERENTIAL_ACTIONS.find((candidate) => candidate === upper);
  if (action === undefined) throw new TypeError(`unknown referential action ${upper}`);
  return action;
}

function groupBy(rows: readonly CatalogRow[], column: string): Map<string, CatalogRow[]> {
  const groups = new Map<string, CatalogRow[]>();
  for (const row of rows) {
    const key = rowRequiredText(row, column);
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
    }
    group.push(row);
  }
  return groups;
}

function byNumber(column: string) {
  return (a: CatalogRow, b: CatalogRow): number => (rowNumber(a, column) ?? 0) - (rowNumber(b, column) ?? 0);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function buildIndexes(rows: readonly CatalogRow[]): CatalogIndex[] {
  const indexes: CatalogIndex[] = [];
  for (const [name, indexRows] of groupBy(rows, 'index_name')) {
    const sorted = [...indexRows].sort(byNumber('seq_in_index'));
    const first = sorted[0];
    if (first === undefined) continue;
    const parts: CatalogIndexPart[] = sorted.map((row) => ({
      column: rowText(row, 'column_name'),
      subPart: rowNumber(row, 'sub_part'),
    }));
    indexes.push({
      name,
      unique: rowNumber(first, 'non_unique') === 0,
      type: (rowText(first, 'index_type') ?? 'BTREE').toUpperCase(),
      parts,
      columns: parts.flatMap((part) => (part.column === null ? [] : [part.column])),
    });
  }
  return indexes;
}

function buildForeignKeys(rows: readonly CatalogRow[]): CatalogForeignKey[] {
  const foreignKeys: CatalogForeignKey[] = [];
  for (const [name, keyRows] of groupBy(rows, 'constraint_name')) {
    const sorted = [...keyRows].sort(byNumber('ordinal_position'));
    const first = sorted[0];
    if (first === undefined) continue;
    foreignKeys.push({
      name,
      columns: sorted.map((row) => rowRequiredText(row, 'column_name')),
      referencedSchema: rowRequiredText(first, 'referenced_table_schema'),
      referencedTable: rowRequiredText(first, 'referenced_table_name'),
      referencedColumns: sorted.map((row) => rowRequiredText(row, 'referenced_column_name')),
      onUpdate: referentialAction(rowText(first, 'update_rule')),
      onDelete: referentialAction(rowText(first, 'delete_rule')),
    });
  }
  return foreignKeys.sort((a, b) => compareNames(a.name, b.name));
}

function buildTriggers(rows: readonly CatalogRow[]): CatalogTrigger[] {
  return rows
    .map((row) => {
      const timing = rowRequiredText(row, 'action_timing').toUpperCase();
      const event = rowRequiredText(row, 'event_manipulation').toUpperCase();
      if (timing !== 'BEFORE' && timing !== 'AFTER') throw new TypeError(`unknown trigger timing ${timing}`);
      if (event !== 'INSERT' && event !== 'UPDATE' && event !== 'DELETE') throw new TypeError(`unknown trigger event ${event}`);
      return { name: rowRequiredText(row, 'trigger_name'), timing, event, order: rowNumber(row, 'action_order') ?? 1 } as const;
    })
    .sort((a, b) => compareNames(a.timing, b.timing) || compareNames(a.event, b.event) || a.order - b.order);
}

function buildChecks(rows: readonly CatalogRow[]): CatalogCheckConstraint[] {
  return rows
    .map((row): CatalogCheckConstraint => {
      const level = rowText(row, 'level')?.toLowerCase();
      return {
        name: rowRequiredText(row, 'constraint_name'),
        clause: rowRequiredText(row, 'check_clause'),
        level: level === 'column' || level === 'table' ? level : null,
      };
    })
    .sort((a, b) => compareNames(a.name, b.name));
}

/**
 * Builds the catalog model from the raw information_schema rows (pure: no I/O). Works with
 * MariaDB 10.11 and MySQL 8 rows, with labels in either case.
 */
export function buildCatalog(database: string, server: ServerInfo, rows: CatalogRows): Catalog {
  const columnsByTable = groupBy(rows.columns, 'table_name');
  const statisticsByTable = groupBy(rows.statistics, 'table_name');
  const foreignKeysByTable = groupBy(rows.foreignKeys, 'table_name');
  const triggersByTable = groupBy(rows.triggers, 'table_name');
  const checksByTable = groupBy(rows.checks, 'table_name');

  const tables = rows.tables.map((tableRow): CatalogTable => {
    const name = rowRequiredText(tableRow, 'table_name');
    const checkConstraints = buildChecks(checksByTable.get(name) ?? []);
    const jsonColumns = new Set(checkConstraints.flatMap((check) => jsonValidColumn(check.clause) ?? []));
    const columns = [...(columnsByTable.get(name) ?? [])]
      .sort(byNumber('ordinal_position'))
      .map((row) => normalizeColumn(row, server.flavor, jsonColumns));
    const notNull = new Set(columns.filter((column) => !column.nullable).map((column) => column.name));
    const indexes = buildIndexes(statisticsByTable.get(name) ?? []);
    const primary = indexes.find((index) => index.name === 'PRIMARY');
    const uniqueKeys: CatalogUniqueKey[] = indexes
      .filter((index) => index.unique && index.name !== 'PRIMARY' && index.parts.every((part) => part.column !== null))
      .map((index) => ({
        name: index.name,
        columns: index.columns,
        allNotNull: index.columns.every((column) => notNull.has(column)),
      }));
    return {
      schema: database,
      name,
      engine: rowText(tableRow, 'engine'),
      collation: rowText(tableRow, 'table_collation'),
      rowEstimate: rowNumber(tableRow, 'table_rows') ?? 0,
      dataBytes: rowNumber(tableRow, 'data_length') ?? 0,
      indexBytes: rowNumber(tableRow, 'index_length') ?? 0,
      autoIncrement: rowText(tableRow, 'auto_increment'),
      systemVersioned: rowText(tableRow, 'table_type')?.toUpperCase() === 'SYSTEM VERSIONED',
      columns,
      primaryKey: primary === undefined ? null : primary.columns,
      uniqueKeys,
      indexes,
      foreignKeys: buildForeignKeys(foreignKeysByTable.get(name) ?? []),
      triggers: buildTriggers(triggersByTable.get(name) ?? []),
      checkConstraints,
    };
  });
  return { database, server, tables: tables.sort((a, b) => compareNames(a.name, b.name)) };
}

/**
 * Reads the flavor and version out of `SELECT VERSION()`: `10.11.19-MariaDB-0+deb12u1` is
 * MariaDB 10.11.19; `8.0.36` (or `8.0.36-28` for Percona) is MySQL 8.0.36.
 */
export function parseServerVersion(versionString: string): ServerInfo {
  const version = /^(\d+\.\d+\.\d+)/.exec(versionString)?.[1] ?? versionString;
  return {
    flavor: /mariadb/i.test(versionString) ? 'mariadb' : 'mysql',
    version,
    versionString,
  };
}
