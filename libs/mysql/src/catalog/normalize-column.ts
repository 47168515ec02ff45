import type { CatalogColumn, ColumnDefault, GeneratedColumn, ServerFlavor } from './catalog.js';
import { rowNumber, rowRequiredText, rowText, type CatalogRow } from './catalog-row.js';

const CURRENT_TIMESTAMP = /^(?:current_timestamp|now|localtime|localtimestamp)(?:\((\d*)\))?$/i;
const NUMBER_LITERAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const BIT_LITERAL = /^b'[01]*'$/i;
const HEX_LITERAL = /^(?:0x[0-9a-f]+|x'[0-9a-f]*')$/i;
const TEMPORAL_TYPES = new Set(['datetime', 'timestamp', 'date', 'time', 'year']);
const JSON_VALID = /^\(?\s*json_valid\s*\(\s*`((?:[^`]|``)+)`\s*\)\s*\)?$/i;

/** `current_timestamp()`, `CURRENT_TIMESTAMP`, `now(6)`... as `CURRENT_TIMESTAMP` or `CURRENT_TIMESTAMP(6)`. */
export function normalizeCurrentTimestamp(expression: string): string {
  const match = CURRENT_TIMESTAMP.exec(expression.trim());
  if (match === null) return expression.trim();
  const precision = match[1];
  return precision === undefined || precision === '' || precision === '0'
    ? 'CURRENT_TIMESTAMP'
    : `CURRENT_TIMESTAMP(${precision})`;
}

/**
 * Undoes MariaDB's quoting of a string default in information_schema (`'it''s'` -> `it's`,
 * `'a\\b'` -> `a\b`, `'x\ny'` -> a newline, `\0` -> NUL).
 */
export function unquoteMariadbString(quoted: string): string {
  const body = quoted.slice(1, -1);
  let result = '';
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i] ?? '';
    if (char === "'" && body[i + 1] === "'") {
      result += "'";
      i += 1;
    } else if (char === '\\' && i + 1 < body.length) {
      const next = body[i + 1] ?? '';
      i += 1;
      switch (next) {
        case '0': result += '\0'; break;
        case 'n': result += '\n'; break;
        case 'r': result += '\r'; break;
        case 't': result += '\t'; break;
        case 'b': result += '\b'; break;
        case 'Z': result += '\x1a'; break;
        case '%': case '_': result += `\\${next}`; break;
        default: result += next;
      }
    } else {
      result += char;
    }
  }
  return result;
}

/** What {@link normalizeColumnDefault} needs besides the raw value. */
export interface ColumnDefaultContext {
  readonly flavor: ServerFlavor;
  /** `DATA_TYPE`, e.g. `timestamp`. */
  readonly dataType: string;
  /** `EXTRA`, e.g. `DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)`. */
  readonly extra: string;
}

/**
 * Normalises information_schema `COLUMN_DEFAULT` to the same {@link ColumnDefault} on both server
 * families:
 *
 * - MariaDB 10.2.7+ writes an SQL expression: `'pending'` (quoted string), `NULL` (text) for
 *   DEFAULT NULL, `0`, `current_timestamp(6)`, `uuid()`, `b'11'`;
 * - MySQL 8 writes the raw value (`pending`), SQL NULL for DEFAULT NULL, and marks expression
 *   defaults with `DEFAULT_GENERATED` in `EXTRA` (`CURRENT_TIMESTAMP(6)`).
 */
export function normalizeColumnDefault(raw: string | null, context: ColumnDefaultContext): ColumnDefault | null {
  if (raw === null) return null;
  const dataType = context.dataType.toLowerCase();
  if (context.flavor === 'mariadb') {
    if (raw === 'NULL') return null;
    if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) {
      return { kind: 'literal', value: unquoteMariadbString(raw) };
    }
    if (NUMBER_LITERAL.test(raw)) return { kind: 'literal', value: raw };
    return { kind: 'expression', expression: normalizeCurrentTimestamp(raw) };
  }
  const extra = context.extra.toUpperCase();
  if (extra.includes('DEFAULT_GENERATED')) {
    return { kind: 'expression', expression: normalizeCurrentTimestamp(raw) };
  }
  if (TEMPORAL_TYPES.has(dataType) && CURRENT_TIMESTAMP.test(raw)) {
    return { kind: 'expression', expression: normalizeCurrentTimestamp(raw) };
  }
  if (dataType === 'bit' && BIT_LITERAL.test(raw)) return { kind: 'expression', expression: raw };
  if ((dataType === 'binary' || dataType === 'varbinary') && HEX_LITERAL.test(raw)) {
    return { kind: 'expression', expression: raw };
  }
  return { kind: 'literal', value: raw };
}

/** The `ON UPDATE` expression named in `EXTRA`, normalised, or `null`. */
export function parseOnUpdate(extra: string): string | null {
  const match = /on update ([a-z_]+(?:\(\d*\))?)/i.exec(extra);
  return match?.[1] === undefined ? null : normalizeCurrentTimestamp(match[1]);
}

/**
 * The generated-column kind from `EXTRA` (`VIRTUAL GENERATED`, `STORED GENERATED`, MariaDB's
 * older `PERSISTENT GENERATED`) and `GENERATION_EXPRESSION` (empty on MySQL, NULL on MariaDB for
 * ordinary columns).
 */
export function parseGenerated(extra: string, expression: string | null): GeneratedColumn | null {
  const upper = extra.toUpperCase();
  let kind: GeneratedColumn['kind'] | undefined;
  if (upper.includes('VIRTUAL GENERATED') || upper === 'VIRTUAL') kind = 'virtual';
  else if (upper.includes('STORED GENERATED') || upper.includes('PERSISTENT')) kind = 'stored';
  if (kind === undefined) return null;
  return { kind, expression: (expression ?? '').trim() };
}

/**
 * The column that a CHECK clause `json_valid(`col`)` validates (MariaDB's JSON columns), or
 * `undefined`.
 */
export function jsonValidColumn(clause: string): string | undefined {
  const match = JSON_VALID.exec(clause.trim());
  return match?.[1]?.replaceAll('``', '`');
}

/**
 * Normalises one information_schema.COLUMNS row (labels in any case). `jsonColumns` are the
 * columns of the same table that a `json_valid()` CHECK constraint guards.
 */
export function normalizeColumn(
  row: CatalogRow,
  flavor: ServerFlavor,
  jsonColumns: ReadonlySet<string> = new Set(),
): CatalogColumn {
  const name = rowRequiredText(row, 'column_name');
  const dataType = rowRequiredText(row, 'data_type').toLowerCase();
  const extra = rowText(row, 'extra') ?? '';
  const generated = parseGenerated(extra, rowText(row, 'generation_expression'));
  return {
    name,
    ordinal: rowNumber(row, 'ordinal_position') ?? 0,
    columnType: rowRequiredText(row, 'column_type'),
    dataType,
    nullable: rowText(row, 'is_nullable')?.toUpperCase() === 'YES',
    default: generated === null ? normalizeColumnDefault(rowText(row, 'column_default'), { flavor, dataType, extra }) : null,
    onUpdate: parseOnUpdate(extra),
    charset: rowText(row, 'character_set_name'),
    collation: rowText(row, 'collation_name'),
    autoIncrement: /auto_increment/i.test(extra),
    generated,
    invisible: /\bINVISIBLE\b/i.test(extra),
    isJson: dataType === 'json' || jsonColumns.has(name),
  };
}
