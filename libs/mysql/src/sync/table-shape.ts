import { CleaveError } from '@cleave/core';
import type { CatalogColumn, CatalogTable } from '../catalog/catalog.js';
import { usableKey } from '../catalog/usable-key.js';
import { quoteIdentifier } from '../identifier.js';

/**
 * How a column's value is read and written so that it survives byte-exact:
 *
 * - `integer`, `decimal`: the server's decimal text, written back as an unquoted literal (exact
 *   for BIGINT UNSIGNED past 2^53 and DECIMAL(65,30); a quoted string would be compared as a
 *   double in a WHERE clause);
 * - `double`: the server's text (DOUBLE prints the shortest text that reads back to the same bits);
 * - `float`: read as `CAST(col AS DOUBLE)` (FLOAT prints only 6 digits, which loses bits), the
 *   double text rounds back to the same FLOAT;
 * - `temporal`: DATE/TIME/DATETIME/TIMESTAMP/YEAR text (zero dates included; TIMESTAMP in the
 *   session's UTC on both sides);
 * - `text`: CHAR/VARCHAR/TEXT/ENUM/SET and MariaDB JSON read as `CAST(col AS BINARY)` (the stored
 *   bytes in the column's charset, no conversion) and written as `_charset X'..'`, so latin1,
 *   gbk and utf8mb4 bytes land unchanged;
 * - `binary`: BINARY/VARBINARY/BLOB, BIT and spatial columns: the raw bytes (spatial: the
 *   server's internal SRID + WKB form, which the server accepts back), written as `X'..'`;
 * - `json`: MySQL's JSON type (binary storage, normalised by the server anyway): its text;
 * - `other`: anything else (MariaDB UUID, INET4/INET6…): its text, written as a utf8mb4 string.
 */
export const COLUMN_CODECS = ['integer', 'decimal', 'double', 'float', 'temporal', 'text', 'binary', 'json', 'other'] as const;

/** One of {@link COLUMN_CODECS}. */
export type ColumnCodec = (typeof COLUMN_CODECS)[number];

/**
 * Codecs whose values read as short ASCII text (digits, signs, dots, colons, spaces, `e`):
 * written inline (validated), never escaped or hex-encoded.
 */
export const ASCII_CODECS: ReadonlySet<ColumnCodec> = new Set(['integer', 'decimal', 'double', 'float', 'temporal']);

/** A copyable column with what the sync primitives need to read and write it. */
export interface ShapeColumn {
  readonly name: string;
  /** The quoted identifier. */
  readonly quoted: string;
  readonly codec: ColumnCodec;
  /** Charset of a `text` column (`utf8mb4`, `latin1`, `gbk`…), for the `_charset` introducer. */
  readonly charset: string | null;
  /** The select-list expression that reads the column faithfully (see {@link ColumnCodec}). */
  readonly readExpression: string;
  /**
   * Values may be long: TEXT/BLOB/JSON/spatial types, or CHAR/VARCHAR/BINARY/VARBINARY that can
   * hold more than {@link SHORT_VALUE_BYTES} bytes. Server-side per-value work that is not linear
   * in the value's length (MariaDB's REPLACE moves the rest of the string at every match) is
   * only done on values that are not.
   */
  readonly longValues: boolean;
}

/** Most bytes a column's values may hold for {@link ShapeColumn.longValues} to be false. */
export const SHORT_VALUE_BYTES = 4096;

/** A table as the sync primitives see it: its key and its copyable columns. */
export interface TableShape {
  readonly database: string;
  readonly table: string;
  /** The usable key (primary key, else the first NOT NULL unique key), in key order. */
  readonly keyColumns: readonly string[];
  /** Copyable columns (generated columns left out), in ordinal order. */
  readonly columns: readonly string[];
  readonly catalog: CatalogTable;
  /** {@link columns} with their codecs. */
  readonly shapeColumns: readonly ShapeColumn[];
  /** The key columns with their codecs, in key order. */
  readonly keyShapeColumns: readonly ShapeColumn[];
  /** Name of the index the key is (`PRIMARY` or a unique key), for `FORCE INDEX`. */
  readonly keyIndex: string;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEMPORAL_TYPES = new Set(['date', 'time', 'datetime', 'timestamp', 'year']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);
const BINARY_TYPES = new Set([
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon',
  'geometrycollection', 'geomcollection',
]);
const CHARSET_NAME = /^[a-z0-9_]+$/;
/** Types whose values have a declared length, `type(n)`, in characters (bytes for the binary ones). */
const SIZED_TYPES = new Set(['char', 'varchar', 'binary', 'varbinary']);
/** Types whose values are short whatever their declaration. */
const SHORT_TYPES = new Set(['tinytext', 'tinyblob', 'enum', 'set', 'bit', 'uuid', 'inet4', 'inet6']);
const DECLARED_LENGTH = /^\w+\((\d+)\)/;

/** See {@link ShapeColumn.longValues}. */
function mayHoldLongValues(column: Pick<CatalogColumn, 'dataType' | 'columnType'>, codec: ColumnCodec): boolean {
  if (ASCII_CODECS.has(codec)) return false;
  const type = column.dataType.toLowerCase();
  if (SHORT_TYPES.has(type)) return false;
  if (!SIZED_TYPES.has(type)) return true;
  const declared = Number(DECLARED_LENGTH.exec(column.columnType.toLowerCase())?.[1] ?? Number.NaN);
  // Up to 4 bytes per character (utf8mb4): a bound, whatever the charset.
  return !(declared * 4 <= SHORT_VALUE_BYTES);
}

/** The codec of one catalog column. */
export function columnCodec(column: Pick<CatalogColumn, 'dataType' | 'charset'>): ColumnCodec {
  const type = column.dataType.toLowerCase();
  if (INTEGER_TYPES.has(type)) return 'integer';
  if (type === 'decimal' || type === 'numeric') return 'decimal';
  if (type === 'double' || type === 'real') return 'double';
  if (type === 'float') return 'float';
  if (TEMPORAL_TYPES.has(type)) return 'temporal';
  if (type === 'json') return 'json';
  if (BINARY_TYPES.has(type)) return 'binary';
  if (TEXT_TYPES.has(type)) return column.charset === null || column.charset === 'binary' ? 'binary' : 'text';
  return 'other';
}

function shapeColumn(column: CatalogColumn): ShapeColumn {
  const codec = columnCodec(column);
  const quoted = quoteIdentifier(column.name);
  let charset: string | null = null;
  if (codec === 'text') {
    charset = (column.charset ?? '').toLowerCase();
    if (!CHARSET_NAME.test(charset)) {
      throw new CleaveError('INVALID_ARGUMENT', `Column ${column.name} has an unexpected charset ${JSON.stringify(column.charset)}.`);
    }
  }
  const readExpression =
    codec === 'text' ? `CAST(${quoted} AS BINARY)` : codec === 'float' ? `CAST(${quoted} AS DOUBLE)` : quoted;
  return { name: column.name, quoted, codec, charset, readExpression, longValues: mayHoldLongValues(column, codec) };
}

/**
 * The shape of `table` (read from database `database`): its usable key and copyable columns.
 *
 * Throws `NO_USABLE_KEY` when the table has neither a primary key nor a unique key whose columns
 * are all NOT NULL: without one, rows cannot be addressed for chunking, copying and dual writes.
 *
 * @example
 * ```ts
 * const catalog = await readCatalog(pool, 'accounts');
 * const shape = tableShape(findTable(catalog, 'users')!, 'accounts');
 * shape.keyColumns; // ['id']
 * ```
 */
export function tableShape(table: CatalogTable, database: string): TableShape {
  const key = usableKey(table);
  if (key === null) {
    const nullable = table.uniqueKeys.filter((unique) => !unique.allNotNull).map((unique) => unique.name);
    const aboutUnique =
      nullable.length === 0
        ? ''
        : ` (unique key${nullable.length === 1 ? '' : 's'} ${nullable.join(', ')} allow${nullable.length === 1 ? 's' : ''} NULL)`;
    throw new CleaveError(
      'NO_USABLE_KEY',
      `Table ${database}.${table.name} has no usable key${aboutUnique}: cleave needs a PRIMARY KEY or a UNIQUE key ` +
        'whose columns are all NOT NULL to chunk, copy, verify and dual-write its rows. ' +
        `Add a primary key (ALTER TABLE ${database}.${table.name} ADD PRIMARY KEY (...)) or make a unique key's columns NOT NULL, then plan again.`,
      { hint: 'Add a primary key or a NOT NULL unique key to the table.' },
    );
  }
  const copyable = [...table.columns].filter((column) => column.generated === null).sort((a, b) => a.ordinal - b.ordinal);
  const shapeColumns = copyable.map(shapeColumn);
  const keyShapeColumns = key.columns.map((name) => {
    const found = shapeColumns.find((column) => column.name === name);
    if (found === undefined) {
      throw new CleaveError('NO_USABLE_KEY', `Table ${database}.${table.name}: key column ${name} is generated or missing.`);
    }
    return found;
  });
  return Object.freeze({
    database,
    table: table.name,
    keyColumns: Object.freeze([...key.columns]),
    columns: Object.freeze(shapeColumns.map((column) => column.name)),
    catalog: table,
    shapeColumns: Object.freeze(shapeColumns),
    keyShapeColumns: Object.freeze(keyShapeColumns),
    keyIndex: key.name,
  });
}
