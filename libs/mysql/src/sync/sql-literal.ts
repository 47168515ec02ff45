import { CleaveError } from '@cleave/core';
import type { KeyPart } from './key-codec.js';
import type { ColumnCodec, ShapeColumn } from './table-shape.js';

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

const ASCII_CODECS: ReadonlySet<ColumnCodec> = new Set(['integer', 'decimal', 'double', 'float', 'temporal']);

/**
 * The SQL literal for a value read raw from the server (see `ColumnCodec`): numbers inline
 * (validated), temporal values quoted (validated), text as `_charset X'..'`, binary as `X'..'`.
 * No value is ever interpolated unvalidated, so the SQL cannot be injected.
 */
export function valueLiteral(column: ShapeColumn, raw: Buffer | null): string {
  if (raw === null) return 'NULL';
  if (ASCII_CODECS.has(column.codec)) return asciiLiteral(column, raw.toString('latin1'));
  if (column.codec === 'binary') return `X'${raw.toString('hex')}'`;
  if (column.codec === 'text') return `_${column.charset ?? 'utf8mb4'} X'${raw.toString('hex')}'`;
  return `_utf8mb4 X'${raw.toString('hex')}'`;
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
