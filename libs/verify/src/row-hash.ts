import type { ShapeColumn, TableShape } from '@cleave/mysql';

// The canonical row string that both servers hash: every copyable column read as in a copy
// (text as its stored bytes via CAST(.. AS BINARY), so a case-only change in a _ci column or a
// latin1/gbk byte is seen; FLOAT as the exact double), joined by '#', preceded by
//  - a NULL bitmap over the nullable columns (NULL and '' differ), and
//  - the byte lengths of the variable-length values when there are two or more of them, so a
//    '#' moving from one value into the next cannot produce the same string.
// Numbers and dates cannot contain '#'. The string is therefore an injective encoding of the row.

const VARIABLE: ReadonlySet<ShapeColumn['codec']> = new Set(['text', 'binary', 'json', 'other']);

/** The SQL expression of the canonical row string of `shape`. */
export function rowStringSql(shape: TableShape): string {
  const columns = shape.shapeColumns;
  const nullableNames = new Set(shape.catalog.columns.filter((column) => column.nullable).map((column) => column.name));
  const nullable = columns.filter((column) => nullableNames.has(column.name));
  const variable = columns.filter((column) => VARIABLE.has(column.codec));
  const parts: string[] = [];
  if (nullable.length > 0) parts.push(`CONCAT(${nullable.map((column) => `ISNULL(${column.quoted})`).join(', ')})`);
  if (variable.length > 1) parts.push(`CONCAT_WS(',', ${variable.map((column) => `LENGTH(${column.readExpression})`).join(', ')})`);
  parts.push(...columns.map((column) => column.readExpression));
  return `CONCAT_WS('#', ${parts.join(', ')})`;
}

/**
 * The per-row hash: SHA1 of the canonical row string. SHA1 measured fastest of the non-linear
 * hashes on MariaDB (hardware SHA extensions); see verify's README section in the report.
 */
export function rowHashSql(shape: TableShape): string {
  return `SHA1(${rowStringSql(shape)})`;
}

/**
 * The chunk aggregate: `COUNT(*)` and `BIT_XOR` of the first 64 bits of each row's SHA1.
 * A XOR of a non-linear 64-bit hash misses a differing chunk with probability 2^-64 (a XOR of
 * CRC32s is linear: the same change applied to two rows of the same length cancels out).
 */
export function chunkAggregateSql(shape: TableShape): string {
  return `COUNT(*), BIT_XOR(CAST(CONV(LEFT(${rowHashSql(shape)}, 16), 16, 10) AS UNSIGNED))`;
}
