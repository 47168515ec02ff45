import { queryRaw, type ShapeColumn, type SyncQueryable, type TableShape } from '@cleave/mysql';

// The canonical row string that both servers hash: one CONCAT_WS of
//  - a NULL bitmap over the nullable columns (NULL and '' differ),
//  - the byte lengths of the values that may contain the separator byte 0xFF and have no fixed
//    width, but the last one (NULLs have no length and CONCAT_WS skips them; the bitmap says which
//    are there),
//  - every copyable column as its stored bytes (FLOAT as the exact double).
// The separator is a *binary* 0xFF (`CAST(X'FF' AS BINARY)`): a binary argument makes the whole
// CONCAT_WS binary, so each text value enters as its stored bytes in its own charset, unconverted
// (a case-only change in a _ci column or a latin1/gbk byte is seen), without a CAST per column.
// Those CASTs were 10% of the hash's server time on the account table.
// 0xFF never occurs in numbers, dates, the bitmap, the lengths, nor in text stored as UTF-8 or
// ASCII (no UTF-8 sequence uses that byte), JSON, or ENUM/SET members of printable ASCII. So the
// string is an injective encoding of the row: read left to right, every value ends at the next
// separator, or after its fixed width (BINARY(n)), or after its length field; the one value that
// may hold 0xFF without a length field is found by reading the 0xFF-free or fixed-width values
// after it from the end (their count is known from the bitmap).
// Each length field costs about 2% of a checksum's time, and a table of UTF-8 text and one binary
// column (the common account table) needs none. One flat CONCAT_WS (not a nested list of lengths)
// and LENGTH of the column itself: each expression node costs per row, and this is the hot loop of
// verification.

/** The separator: binary, so that the row string is binary and no text value is converted. */
const SEPARATOR = "CAST(X'FF' AS BINARY)";

/** Charsets whose encoded text never contains the byte 0xFF. */
const SEPARATOR_FREE_CHARSETS: ReadonlySet<string> = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii']);

/** `enum('a','b')` / `set('a','b')` whose members are printable ASCII (no quote escape): no 0xFF in any charset. */
const PRINTABLE_MEMBERS = /^(enum|set)\('[\x20-\x26\x28-\x7e]*'(,'[\x20-\x26\x28-\x7e]*')*\)$/i;

/** Whether a value of the column may contain 0xFF and has no fixed width (it then needs a length field). */
function needsLength(column: ShapeColumn, catalogColumn: { readonly dataType: string; readonly columnType: string } | undefined): boolean {
  switch (column.codec) {
    case 'integer':
    case 'decimal':
    case 'double':
    case 'float':
    case 'temporal':
    case 'json':
      return false;
    case 'text':
      if (catalogColumn !== undefined && PRINTABLE_MEMBERS.test(catalogColumn.columnType)) return false;
      return !SEPARATOR_FREE_CHARSETS.has(column.charset ?? '');
    case 'binary':
      return catalogColumn?.dataType.toLowerCase() !== 'binary'; // BINARY(n): always n bytes
    default:
      return true;
  }
}

/** The SQL expression of the canonical row string of `shape`. */
export function rowStringSql(shape: TableShape): string {
  const columns = shape.shapeColumns;
  const nullableNames = new Set(shape.catalog.columns.filter((column) => column.nullable).map((column) => column.name));
  const nullable = columns.filter((column) => nullableNames.has(column.name));
  const catalogColumns = new Map(shape.catalog.columns.map((column) => [column.name, column]));
  const measured = columns.filter((column) => needsLength(column, catalogColumns.get(column.name)));
  const parts: string[] = [];
  if (nullable.length > 0) parts.push(`CONCAT(${nullable.map((column) => `ISNULL(${column.quoted})`).join(', ')})`);
  // LENGTH counts bytes whatever the charset. Text is its stored bytes in the binary CONCAT_WS.
  const valueSql = (column: ShapeColumn): string => (column.codec === 'text' ? column.quoted : column.readExpression);
  for (const column of measured.slice(0, -1)) parts.push(`LENGTH(${valueSql(column)})`);
  parts.push(...columns.map(valueSql));
  return `CONCAT_WS(${SEPARATOR}, ${parts.join(', ')})`;
}

/**
 * The per-row hash: SHA1 of the canonical row string. SHA1 measured fastest of the non-linear
 * hashes on MariaDB (MD5 costs about 1.5x as much per row).
 */
export function rowHashSql(shape: TableShape): string {
  return `SHA1(${rowStringSql(shape)})`;
}

/**
 * How a chunk turns each row into the 64-bit value its aggregate XORs (both servers must use the same):
 * - `crc-product`: CRC32 × CRC32C of the canonical row string (CRC32C needs MariaDB 10.8+). The
 *   two CRCs have different, coprime generator polynomials, so together they are a 64-bit CRC of
 *   the row: two different rows of the same length match in both with probability 2^-64, and a
 *   change within 32 consecutive bits never does. Their product (exact: below 2^64) makes the value
 *   non-linear, so the XOR of a chunk does not cancel the same change made to two rows (a XOR of
 *   the linear pair would). A changed row keeps its product with probability about 2^-58 (the
 *   ways to split a 64-bit number into two 32-bit factors). No SHA1: this is 15% less server CPU
 *   per row, measured, and the per-row cost is the whole cost of verification.
 * - `conv`: the first 16 hex digits of the row's SHA1 as an integer (CONV), on any server.
 */
export type ChunkHashForm = 'crc-product' | 'conv';

/** The user variable that hands one row's string from the CRC32 to the CRC32C (see below). */
const ROW_STRING_VARIABLE = '@cleave_row';

/** The 64-bit per-row value that the chunk aggregate XORs. */
function rowValueSql(shape: TableShape, form: ChunkHashForm): string {
  if (form === 'conv') return `CAST(CONV(LEFT(${rowHashSql(shape)}, 16), 16, 10) AS UNSIGNED)`;
  // The row string, the costly part, is built once: it is kept in a user variable for the second
  // CRC. MariaDB evaluates `a * b` left to right (its multiply handler reads the first argument,
  // then the second), which the chunk-checksum test checks against per-row values computed
  // separately. Were the order ever reversed, the CRC32C would take the previous row's string:
  // checksums could then differ where rows do not (a false alarm that the row diff clears), and
  // every row would still enter the CRC32 factor.
  return `CRC32(${ROW_STRING_VARIABLE} := ${rowStringSql(shape)}) * CRC32C(${ROW_STRING_VARIABLE})`;
}

/**
 * The chunk aggregate: `COUNT(*)` and `BIT_XOR` of each row's 64-bit value. A XOR of non-linear
 * 64-bit values misses a differing chunk with a probability of the order of 2^-58 (a XOR of CRC32s
 * of the row string is linear: the same change applied to two rows of the same length cancels out).
 */
export function chunkAggregateSql(shape: TableShape, form: ChunkHashForm = 'conv'): string {
  return `COUNT(*), BIT_XOR(${rowValueSql(shape, form)})`;
}

/** The fastest form that every one of `servers` computes (a probe query on each). */
export async function chunkHashForm(servers: readonly SyncQueryable[]): Promise<ChunkHashForm> {
  const probes = await Promise.all(servers.map((db) => queryRaw(db, "SELECT CRC32C('')").then(() => true, () => false)));
  return probes.every(Boolean) ? 'crc-product' : 'conv';
}
