import { CleaveError } from '@cleave/core';
import type { KeyPart, KeyTuple, ShapeColumn, TableShape } from '@cleave/mysql';

/** A row as the binlog decoder gives it: column name -> value. */
export type DecodedRow = Readonly<Record<string, unknown>>;

const FIXED_BINARY = /^binary\((\d+)\)/i;

/**
 * One key column's decoded value as the key part the sync primitives take: decimal text for
 * numbers (BIGINT UNSIGNED past 2^53 arrives as exact text), the server's text for temporal
 * values (the decoder gives strings, microseconds included), a string for text columns (its
 * characters; the lookup converts it to the column's charset), and the stored bytes for binary
 * columns, with a BINARY(n) padded back to n bytes as InnoDB stores it.
 */
export function keyPartOf(column: ShapeColumn, columnType: string, value: unknown, table: string): KeyPart {
  if (value === null || value === undefined) {
    throw new CleaveError('INTERNAL', `binlog row of ${table} has no value for key column ${column.name}: is binlog_row_image FULL or NOBLOB?`);
  }
  if (Buffer.isBuffer(value)) {
    if (column.codec !== 'binary') return value.toString('utf8');
    const fixed = FIXED_BINARY.exec(columnType);
    const width = fixed === null ? 0 : Number(fixed[1]);
    return value.length < width ? Buffer.concat([value, Buffer.alloc(width - value.length)]) : value;
  }
  if (value instanceof Date) {
    throw new CleaveError('INTERNAL', `binlog decoder returned a Date for ${table}.${column.name}: start it with dateStrings`);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    const text = String(value);
    return column.codec === 'binary' ? Buffer.from(text, 'utf8') : text;
  }
  throw new CleaveError('INTERNAL', `binlog row of ${table} has a ${typeof value} value for key column ${column.name}`);
}

/** Column types of each shape's key columns, looked up once per shape (rowKey runs per row). */
const KEY_COLUMN_TYPES = new WeakMap<TableShape, readonly string[]>();

function keyColumnTypes(shape: TableShape): readonly string[] {
  let types = KEY_COLUMN_TYPES.get(shape);
  if (types === undefined) {
    types = shape.keyShapeColumns.map((column) => shape.catalog.columns.find((c) => c.name === column.name)?.columnType ?? '');
    KEY_COLUMN_TYPES.set(shape, types);
  }
  return types;
}

/** The key of a decoded row under `shape` (its usable key, in key order). */
export function rowKey(shape: TableShape, row: DecodedRow): KeyTuple {
  const types = keyColumnTypes(shape);
  return shape.keyShapeColumns.map((column, i) => keyPartOf(column, types[i] ?? '', row[column.name], shape.table));
}
