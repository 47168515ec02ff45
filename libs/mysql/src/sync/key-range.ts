import { CleaveError } from '@cleave/core';
import { quoteIdentifier } from '../identifier.js';
import type { KeyPart, KeyTuple } from './key-codec.js';
import { keyPartLiteral } from './sql-literal.js';
import type { ShapeColumn, TableShape } from './table-shape.js';

/** A range of keys: `lower` exclusive (`null`: from the start), `upper` inclusive (`null`: to the end). */
export interface KeyBounds {
  readonly lower: KeyTuple | null;
  readonly upper: KeyTuple | null;
}

/**
 * Restricts rows to those whose `column` lies in `[from, to)` (a shard move copies only its
 * range). Values in core's `KeyValue` text form: decimal digits for integers, the text for
 * strings, `0x` + hex for binary columns. `null` means unbounded.
 */
export interface RowFilter {
  readonly column: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** A WHERE condition (without `WHERE`) and its parameters. */
export interface SqlCondition {
  readonly sql: string;
  readonly params: unknown[];
}

function checkArity(shape: TableShape, key: KeyTuple, what: string): void {
  if (key.length !== shape.keyShapeColumns.length) {
    throw new CleaveError(
      'INVALID_ARGUMENT',
      `${what} of ${shape.database}.${shape.table} has ${key.length} part(s); the key (${shape.keyColumns.join(', ')}) has ${shape.keyShapeColumns.length}.`,
    );
  }
}

/**
 * `(a > x OR (a = x AND (b > y OR (b = y AND c >= z))))` for the key `(a, b, c)`, led by
 * `a >= x` so the optimizer always finds a range on the first key column.
 */
function tupleCompare(columns: readonly ShapeColumn[], key: KeyTuple, strict: '>' | '<', last: string): string {
  const literals = columns.map((column, i) => keyPartLiteral(column, key[i] as KeyPart));
  let sql = '';
  for (let i = columns.length - 1; i >= 0; i -= 1) {
    const column = columns[i] as ShapeColumn;
    const literal = literals[i] as string;
    sql = i === columns.length - 1 ? `${column.quoted} ${last} ${literal}` : `${column.quoted} ${strict} ${literal} OR (${column.quoted} = ${literal} AND (${sql}))`;
  }
  const first = columns[0] as ShapeColumn;
  if (columns.length === 1) return sql;
  return `${first.quoted} ${strict}= ${literals[0] as string} AND (${sql})`;
}

function filterColumn(shape: TableShape, filter: RowFilter): ShapeColumn {
  const column = shape.shapeColumns.find((candidate) => candidate.name === filter.column);
  if (column === undefined) {
    throw new CleaveError('INVALID_ARGUMENT', `Filter column ${filter.column} is not a copyable column of ${shape.database}.${shape.table}.`);
  }
  return column;
}

/** The condition of a {@link RowFilter}, or `''` when it is unbounded. */
export function rowFilterCondition(shape: TableShape, filter: RowFilter | undefined): string {
  if (filter === undefined) return '';
  const column = filterColumn(shape, filter);
  const parts: string[] = [];
  if (filter.from !== null) parts.push(`${column.quoted} >= ${keyPartLiteral(column, filter.from)}`);
  if (filter.to !== null) parts.push(`${column.quoted} < ${keyPartLiteral(column, filter.to)}`);
  return parts.join(' AND ');
}

/**
 * The WHERE condition (no `WHERE`) of the rows in `bounds` (and `filter`): composite keys are
 * expanded as `a >= ? AND (a > ? OR (a = ? AND b > ?))` so MariaDB uses a range scan on the key.
 * Values are inlined as validated literals (`params` is empty), so the condition can be
 * combined with other SQL freely. `'1'` when unbounded.
 *
 * @example
 * ```ts
 * const { sql } = keyRangeWhere(shape, { lower: ['100'], upper: ['200'] });
 * // "`id` > 100 AND `id` <= 200"
 * ```
 */
export function keyRangeWhere(shape: TableShape, bounds: KeyBounds, filter?: RowFilter): SqlCondition {
  const parts: string[] = [];
  const columns = shape.keyShapeColumns;
  if (bounds.lower !== null) {
    checkArity(shape, bounds.lower, 'The lower bound');
    parts.push(`(${tupleCompare(columns, bounds.lower, '>', '>')})`);
  }
  if (bounds.upper !== null) {
    checkArity(shape, bounds.upper, 'The upper bound');
    parts.push(`(${tupleCompare(columns, bounds.upper, '<', '<=')})`);
  }
  const filterSql = rowFilterCondition(shape, filter);
  if (filterSql !== '') parts.push(filterSql);
  return { sql: parts.length === 0 ? '1' : parts.join(' AND '), params: [] };
}

/** The condition matching exactly `keys` (under the key's collation): `k IN (..)` or `(a = .. AND b = ..) OR ..`. */
export function keysWhere(shape: TableShape, keys: readonly KeyTuple[]): string {
  if (keys.length === 0) return '0';
  const columns = shape.keyShapeColumns;
  if (columns.length === 1) {
    const column = columns[0] as ShapeColumn;
    return `${column.quoted} IN (${keys.map((key) => { checkArity(shape, key, 'A key'); return keyPartLiteral(column, key[0] as KeyPart); }).join(', ')})`;
  }
  return keys
    .map((key) => {
      checkArity(shape, key, 'A key');
      return `(${columns.map((column, i) => `${column.quoted} = ${keyPartLiteral(column, key[i] as KeyPart)}`).join(' AND ')})`;
    })
    .join(' OR ');
}

/** `` `db`.`table` `` for a shape or a table name. */
export function qualifiedName(table: { readonly database: string; readonly table: string }): string {
  return `${quoteIdentifier(table.database)}.${quoteIdentifier(table.table)}`;
}

/** `ORDER BY` list of the key. */
export function keyOrderBy(shape: TableShape): string {
  return shape.keyShapeColumns.map((column) => column.quoted).join(', ');
}
