import { queryRaw, type ShapeColumn, type SyncQueryable, type TableShape } from '@cleave/mysql';

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
 * How a chunk folds its rows' SHA1s into one 64-bit value (both servers must use the same):
 * - `crc-pair`: CRC32 and CRC32C of the SHA1 text, one in each half. Two different linear maps of
 *   a cryptographic hash, so a uniform 64-bit value per row; CRC32C needs MariaDB 10.8+.
 * - `conv`: the first 16 hex digits of the SHA1 as an integer (CONV), on any server, but CONV
 *   alone costs a third of the checksum's time per row.
 */
export type ChunkHashForm = 'crc-pair' | 'conv';

/** The user variable that hands one row's SHA1 from the CRC32 to the CRC32C (see below). */
const ROW_SHA1_VARIABLE = '@cleave_row_sha1';

/** The 64-bit per-row value that the chunk aggregate XORs. */
function rowValueSql(shape: TableShape, form: ChunkHashForm): string {
  if (form === 'conv') return `CAST(CONV(LEFT(${rowHashSql(shape)}, 16), 16, 10) AS UNSIGNED)`;
  // The row string, the costly part, is built and hashed once: the SHA1 is kept in a user
  // variable for the second CRC. MariaDB evaluates `a | b` left to right (its bit-or handler
  // reads the first argument, then the second), which the chunk-checksum test checks against
  // per-row values computed separately. Were the order ever reversed, the CRC32C half would take
  // the previous row's SHA1: checksums could then differ where rows do not (a false alarm that the
  // row diff clears), and every row's SHA1 would still enter the CRC32 half.
  return `CRC32(${ROW_SHA1_VARIABLE} := ${rowHashSql(shape)}) << 32 | CRC32C(${ROW_SHA1_VARIABLE})`;
}

/**
 * The chunk aggregate: `COUNT(*)` and `BIT_XOR` of each row's 64-bit value. A XOR of a non-linear
 * 64-bit hash misses a differing chunk with probability 2^-64 (a XOR of CRC32s of the row string
 * is linear: the same change applied to two rows of the same length cancels out).
 */
export function chunkAggregateSql(shape: TableShape, form: ChunkHashForm = 'conv'): string {
  return `COUNT(*), BIT_XOR(${rowValueSql(shape, form)})`;
}

/** The fastest form that every one of `servers` computes (a probe query on each). */
export async function chunkHashForm(servers: readonly SyncQueryable[]): Promise<ChunkHashForm> {
  const probes = await Promise.all(servers.map((db) => queryRaw(db, "SELECT CRC32C('')").then(() => true, () => false)));
  return probes.every(Boolean) ? 'crc-pair' : 'conv';
}
