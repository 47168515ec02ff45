import { CleaveError } from '@cleave/core';
import type { KeyPart } from './key-codec.js';
import { ASCII_CODECS, type ShapeColumn } from './table-shape.js';

const INTEGER = /^[-+]?\d+$/;
const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const FLOATING = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;
const TEMPORAL = /^[-0-9: .]*$/;

function invalid(column: ShapeColumn, text: string): never {
  throw new CleaveError(
    'INVALID_ARGUMENT',
    `Value ${JSON.stringify(text.slice(0, 60))} is not a valid ${column.codec} value for column ${column.name}.`,
  );
}

function asciiLiteral(column: ShapeColumn, text: string): string {
  switch (column.codec) {
    case 'integer':
      if (!INTEGER.test(text)) invalid(column, text);
      return text;
    case 'decimal':
      if (!DECIMAL.test(text)) invalid(column, text);
      return text;
    case 'double':
    case 'float':
      if (!FLOATING.test(text)) invalid(column, text);
      return `'${text}'`;
    case 'temporal':
      if (!TEMPORAL.test(text)) invalid(column, text);
      return `'${text}'`;
    default:
      return `_utf8mb4 X'${Buffer.from(text, 'utf8').toString('hex')}'`;
  }
}


/**
 * The SQL literal for a value read raw from the server (see `ColumnCodec`): numbers inline
 * (validated), temporal values quoted (validated), text as `_charset X'..'`, binary as `X'..'`.
 * No value is ever interpolated unvalidated, so the SQL cannot be injected.
 */
export function valueLiteral(column: ShapeColumn, raw: Buffer | null): string {
  if (raw === null) return 'NULL';
  if (ASCII_CODECS.has(column.codec)) return asciiLiteral(column, raw.toString('latin1'));
  // Upper-case hex, as the server's HEX() writes it: images built here and by the server
  // (literalExpression) compare byte for byte.
  const hex = raw.toString('hex').toUpperCase();
  if (column.codec === 'binary') return `X'${hex}'`;
  if (column.codec === 'text') return `_${column.charset ?? 'utf8mb4'} X'${hex}'`;
  return `_utf8mb4 X'${hex}'`;
}

/**
 * The literal of a value in an INSERT's row: {@link valueLiteral}'s, except text and binary as a
 * hex number (`0x..`, and `''` when empty). A column takes those as the same bytes (a binary string
 * is stored in a text column as it is, checked against the column's charset like any other), and
 * the server's statement digest reads them as plain values, as it does numbers, dates and NULL: a
 * table's multi-row INSERTs then share one digest whatever their row count and their NULLs (its
 * one-row INSERTs another). With `_charset X'..'`, each row count and each pattern of NULLs made a
 * digest of its own, and syncs filled performance_schema's digest table, which the operator's
 * monitoring and `cleave plan` read.
 * Not for comparisons: a WHERE needs the charset, so that the column's collation applies.
 */
export function rowValueLiteral(column: ShapeColumn, raw: Buffer | null): string {
  if (raw === null || (column.codec !== 'text' && column.codec !== 'binary')) return valueLiteral(column, raw);
  return raw.length === 0 ? "''" : `0x${raw.toString('hex').toUpperCase()}`;
}

/** The SQL literal for one key part given by a caller (strings for numbers/dates, Buffers for bytes). */
export function keyPartLiteral(column: ShapeColumn, part: KeyPart): string {
  if (typeof part !== 'string') {
    if (ASCII_CODECS.has(column.codec)) return asciiLiteral(column, part.toString('latin1'));
    return valueLiteral(column, part);
  }
  if (ASCII_CODECS.has(column.codec)) return asciiLiteral(column, part);
  if (column.codec === 'binary') {
    // core's KeyValue writes binary values as 0x + hex.
    const hex = /^0x((?:[0-9a-fA-F]{2})*)$/.exec(part);
    return `X'${hex?.[1] ?? Buffer.from(part, 'utf8').toString('hex')}'`;
  }
  return `_utf8mb4 X'${Buffer.from(part, 'utf8').toString('hex')}'`;
}

/** A raw value as a key part: text for numeric/temporal columns, the bytes otherwise. */
export function rawToKeyPart(column: ShapeColumn, raw: Buffer | null): KeyPart {
  if (raw === null) throw new CleaveError('INTERNAL', `Key column ${column.name} returned NULL.`);
  return ASCII_CODECS.has(column.codec) || column.codec === 'other' ? raw.toString('utf8') : raw;
}

/**
 * The SQL expression, evaluated by the server that holds the row, of the same literal
 * {@link rowValueLiteral} builds from the raw value: numbers as their text, temporal and floating
 * values quoted, text and binary (BIT and spatial included) as `0x..` of the stored bytes (`''`
 * when empty), other values as `_utf8mb4 X'..'`, NULL as `NULL`. Reading one literal per row
 * instead of every value saves the client most of its parsing and hex encoding. Only digits, signs, dots, colons, spaces, `e`,
 * hex digits and fixed SQL text can come out of it, and {@link ROW_LITERAL} checks every row.
 */
export function literalExpression(column: ShapeColumn): string {
  const q = column.quoted;
  let expression: string;
  switch (column.codec) {
    case 'integer':
    case 'decimal':
      expression = `CONCAT(${q})`;
      break;
    case 'double':
    case 'float':
    case 'temporal':
      expression = `CONCAT('''', ${column.readExpression}, '''')`;
      break;
    case 'binary':
      expression = hexNumberExpression(`HEX(CAST(${q} AS BINARY))`);
      break;
    case 'text':
      expression = hexNumberExpression(`HEX(${q})`);
      break;
    default:
      expression = `CONCAT('_utf8mb4 X''', HEX(CONVERT(${q} USING utf8mb4)), '''')`;
  }
  return `IF(${q} IS NULL, 'NULL', ${expression})`;
}

/** `0x` and the hex digits of `hex` (an SQL expression), or `''` when there are none: {@link rowValueLiteral} built by the server. */
function hexNumberExpression(hex: string): string {
  return `IFNULL(NULLIF(CONCAT('0x', ${hex}), '0x'), '''''')`;
}

/**
 * What to SELECT for a column so that {@link rowValueLiteral} can build, from the bytes read, the
 * same literal that {@link literalExpression} has the server build: the column's read expression
 * (binary results pass the connection's charset untouched), and utf8mb4 bytes for the codecs that
 * the server converts to utf8mb4.
 */
export function literalReadExpression(column: ShapeColumn): string {
  return column.codec === 'json' || column.codec === 'other' ? `CAST(CONVERT(${column.quoted} USING utf8mb4) AS BINARY)` : column.readExpression;
}

/** The SQL expression of a whole row's `(v1, v2, ..)` literal (see {@link literalExpression}). */
export function rowLiteralExpression(columns: readonly ShapeColumn[]): string {
  const parts: string[] = [`'('`];
  columns.forEach((column, i) => {
    if (i > 0) parts.push(`', '`);
    parts.push(literalExpression(column));
  });
  parts.push(`')'`);
  return `CONCAT(${parts.join(', ')})`;
}

const VALUE = String.raw`(?:NULL|[-+]?[0-9]+(?:\.[0-9]*)?|'[-+0-9:. eE]*'|0x[0-9A-F]+|(?:_[a-z0-9_]+ )?X'[0-9A-F]*')`;
/** What a row literal computed by the server may look like: nothing but values from {@link literalExpression}. */
export const ROW_LITERAL = new RegExp(String.raw`^\(${VALUE}(?:, ${VALUE})*\)$`);
