import { CleaveError } from '@cleave/core';
import { quoteIdentifier } from '../identifier.js';
import { qualifiedName } from './key-range.js';
import type { Queryable, TableName } from './queryable.js';
import { ER_NO_SUCH_TABLE, ER_TABLE_EXISTS_ERROR, mysqlErrno } from './sync-errors.js';

/** Arguments of {@link ensureTargetTable}. */
export interface EnsureTargetTableArgs {
  readonly source: Queryable;
  readonly target: Queryable;
  readonly sourceTable: TableName;
  readonly targetTable: TableName;
  /** Foreign keys of the source table that the plan drops on the target (by constraint name). */
  readonly dropForeignKeys: readonly string[];
}

async function showCreateTable(db: Queryable, table: TableName): Promise<string | null> {
  let rows: unknown;
  try {
    [rows] = await db.query({ sql: `SHOW CREATE TABLE ${qualifiedName(table)}`, rowsAsArray: true });
  } catch (error) {
    if (mysqlErrno(error) === ER_NO_SUCH_TABLE) return null;
    throw error;
  }
  const row = Array.isArray(rows) ? (rows[0] as unknown[] | undefined) : undefined;
  const text = row?.[1];
  if (typeof text !== 'string') {
    throw new CleaveError('INVALID_ARGUMENT', `${table.database}.${table.table} is not a base table (SHOW CREATE TABLE returned no table definition).`);
  }
  return text;
}

const FOREIGN_KEY_LINE = /^\s*CONSTRAINT\s+`((?:[^`]|``)+)`\s+FOREIGN KEY\b/;

/** The definition without the named foreign keys (throws when one does not exist). */
function withoutForeignKeys(definition: string, drop: readonly string[], table: TableName): string {
  const lines = definition.split('\n');
  const remaining = new Set(drop);
  const kept = lines.filter((line) => {
    const match = FOREIGN_KEY_LINE.exec(line);
    const name = match?.[1]?.replaceAll('``', '`');
    if (name === undefined || !remaining.has(name)) return true;
    remaining.delete(name);
    return false;
  });
  if (remaining.size > 0) {
    throw new CleaveError(
      'CONFIG_INVALID',
      `Table ${table.database}.${table.table} has no foreign key named ${[...remaining].map((name) => JSON.stringify(name)).join(', ')} to drop on the target.`,
      { hint: 'Check the foreign key names in the plan against SHOW CREATE TABLE on the source.' },
    );
  }
  // The column/key list is comma separated: the line before `) ENGINE=` must not end with one.
  for (let i = kept.length - 1; i > 0; i -= 1) {
    if ((kept[i] ?? '').startsWith(')')) {
      kept[i - 1] = (kept[i - 1] ?? '').replace(/,\s*$/, '');
      break;
    }
  }
  return kept.join('\n');
}

/** The definition with the table named `table` (qualified) instead of the source's name. */
function renamed(definition: string, table: TableName): string {
  return definition.replace(/^CREATE TABLE `(?:[^`]|``)+`/, `CREATE TABLE ${qualifiedName(table)}`);
}

/** Lines to compare: the name and the AUTO_INCREMENT counter do not count; trailing commas do not either. */
function comparable(definition: string): string[] {
  return definition
    .split('\n')
    .slice(1)
    .map((line) => line.replace(/ AUTO_INCREMENT=\d+/, '').replace(/,\s*$/, ''));
}

function lineDiff(source: readonly string[], target: readonly string[]): string[] {
  // Longest common subsequence: the definitions are short.
  const n = source.length;
  const m = target.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      const row = table[i] as number[];
      row[j] = source[i] === target[j] ? (table[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(table[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && source[i] === target[j]) {
      i += 1;
      j += 1;
    } else if (j >= m || (i < n && (table[i + 1]?.[j] ?? 0) >= (table[i]?.[j + 1] ?? 0))) {
      out.push(`- ${(source[i] ?? '').trim()}`);
      i += 1;
    } else {
      out.push(`+ ${(target[j] ?? '').trim()}`);
      j += 1;
    }
  }
  return out;
}

/**
 * Creates the target table from the source's `SHOW CREATE TABLE` (minus the foreign keys the
 * plan drops), or accepts an existing target table with the same definition (the AUTO_INCREMENT
 * counter aside). An existing table whose definition differs is refused with `TARGET_TABLE_DIFFERS`
 * and a line diff (`- ` source, `+ ` target): cleave never copies into a table it did not check.
 *
 * @example
 * ```ts
 * await ensureTargetTable({ source, target, sourceTable: { database: 'accounts', table: 'users' },
 *   targetTable: { database: 'accounts', table: 'users' }, dropForeignKeys: [] }); // 'created'
 * ```
 */
export async function ensureTargetTable(args: EnsureTargetTableArgs): Promise<'created' | 'exists'> {
  const sourceDefinition = await showCreateTable(args.source, args.sourceTable);
  if (sourceDefinition === null) {
    throw new CleaveError('NOT_FOUND', `Source table ${args.sourceTable.database}.${args.sourceTable.table} does not exist.`);
  }
  const wanted = renamed(withoutForeignKeys(sourceDefinition, args.dropForeignKeys, args.sourceTable), args.targetTable);
  let existing = await showCreateTable(args.target, args.targetTable);
  if (existing === null) {
    try {
      await args.target.query({ sql: wanted });
      return 'created';
    } catch (error) {
      if (mysqlErrno(error) !== ER_TABLE_EXISTS_ERROR) throw error;
      existing = await showCreateTable(args.target, args.targetTable); // created concurrently: compare
      if (existing === null) throw error;
    }
  }
  const diff = lineDiff(comparable(wanted), comparable(existing));
  if (diff.length === 0) return 'exists';
  const source = `${quoteIdentifier(args.sourceTable.database)}.${quoteIdentifier(args.sourceTable.table)}`;
  const target = `${quoteIdentifier(args.targetTable.database)}.${quoteIdentifier(args.targetTable.table)}`;
  throw new CleaveError(
    'TARGET_TABLE_DIFFERS',
    `Target table ${target} already exists with a definition that differs from source table ${source}` +
      `${args.dropForeignKeys.length > 0 ? ' (without its dropped foreign keys)' : ''}; cleave never copies into it.\n` +
      `--- source\n+++ target\n${diff.join('\n')}`,
    { hint: 'Drop the target table so cleave creates it, or make its definition equal to the source.' },
  );
}
