import { CleaveError } from '@cleave/core';
import type { KeyTuple } from './key-codec.js';
import { keyId } from './key-codec.js';
import { keyOrderBy, qualifiedName } from './key-range.js';
import type { Queryable, TableName, TypeCastField } from './queryable.js';
import { rawToKeyPart } from './sql-literal.js';
import type { TableShape } from './table-shape.js';

/** A row as read by the sync primitives: the raw bytes of each copyable column, in shape order. */
export type RawRow = readonly (Buffer | null)[];

/** mysql2 `typeCast` that hands back every value's bytes untouched (no number/date/geometry parsing). */
export function rawTypeCast(field: TypeCastField): Buffer | null {
  return field.buffer();
}

/**
 * Runs a query whose result columns are all read raw. `typeCast: false` has mysql2 read each
 * value's bytes inline, as {@link rawTypeCast} does, without calling a function (and allocating
 * its `next` closure) per value: a copy reads millions of them.
 */
export async function queryRaw(db: Queryable, sql: string): Promise<RawRow[]> {
  const [rows] = await db.query({ values: null, sql, rowsAsArray: true, typeCast: false });
  if (!Array.isArray(rows)) throw new CleaveError('INTERNAL', 'A SELECT returned no rows array.');
  return rows as RawRow[];
}

/** Reads the copyable columns of the rows matching `where`, in key order. */
export function readRows(db: Queryable, shape: TableShape, table: TableName, where: string, options: { forUpdate?: boolean } = {}): Promise<RawRow[]> {
  const select = shape.shapeColumns.map((column) => column.readExpression).join(', ');
  return queryRaw(
    db,
    `SELECT ${select} FROM ${qualifiedName(table)} WHERE ${where} ORDER BY ${keyOrderBy(shape)}${options.forUpdate === true ? ' FOR UPDATE' : ''}`,
  );
}

/** Positions of the key columns within {@link TableShape.shapeColumns}. */
export function keyPositions(shape: TableShape): number[] {
  return shape.keyShapeColumns.map((key) => shape.shapeColumns.indexOf(key));
}

/** The exact-bytes identity of a row's key (see {@link keyId}). */
export function rowKeyId(row: RawRow, positions: readonly number[]): string {
  return keyId(positions.map((position) => row[position] ?? null));
}

/** A row's key as a {@link KeyTuple}. */
export function rowKey(shape: TableShape, row: RawRow, positions: readonly number[]): KeyTuple {
  return shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, row[positions[i] as number] ?? null));
}

/** Whether two raw rows are byte-identical. */
export function sameRow(a: RawRow, b: RawRow): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return false;
    } else if (!x.equals(y)) {
      return false;
    }
  }
  return true;
}
