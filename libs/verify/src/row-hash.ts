import type { ShapeColumn, TableShape } from '@cleave/mysql';

// The canonical row string that both servers hash: one CONCAT_WS('#', ...) of
//  - a NULL bitmap over the nullable columns (NULL and '' differ),
//  - the byte lengths of the variable-length values but the last one (NULLs have no length and
//    CONCAT_WS skips them; the bitmap says which are there),
//  - every copyable column read as in a copy (text as its stored bytes via CAST(.. AS BINARY), so a
//    case-only change in a _ci column or a latin1/gbk byte is seen; FLOAT as the exact double).
// Numbers, dates and the bitmap cannot contain '#'. So the string is an injective encoding of the
// row: read left to right, the bitmap and the lengths delimit every variable value but the last,
// and what follows the last one is '#'-free fixed values whose count is known, read from the end.
// One flat CONCAT_WS (not a nested list of lengths) and LENGTH of the column itself (not of its
// CAST): each extra expression node costs per row, and this is the hot loop of verification.

const VARIABLE: ReadonlySet<ShapeColumn['codec']> = new Set(['text', 'binary', 'json', 'other']);

/** The SQL expression of the canonical row string of `shape`. */
export function rowStringSql(shape: TableShape): string {
  const columns = shape.shapeColumns;
  const nullableNames = new Set(shape.catalog.columns.filter((column) => column.nullable).map((column) => column.name));
  const nullable = columns.filter((column) => nullableNames.has(column.name));
  const variable = columns.filter((column) => VARIABLE.has(column.codec));
  const parts: string[] = [];
  if (nullable.length > 0) parts.push(`CONCAT(${nullable.map((column) => `ISNULL(${column.quoted})`).join(', ')})`);
  // LENGTH counts bytes whatever the charset, so the column's own value gives the same length as
  // its binary read.
  for (const column of variable.slice(0, -1)) parts.push(`LENGTH(${column.codec === 'text' ? column.quoted : column.readExpression})`);
  parts.push(...columns.map((column) => column.readExpression));
  return `CONCAT_WS('#', ${parts.join(', ')})`;
}

/**
 * The per-row hash: SHA1 of the canonical row string. SHA1 measured fastest of the non-linear
 * hashes on MariaDB (MD5 costs about 1.5x as much per row).
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
