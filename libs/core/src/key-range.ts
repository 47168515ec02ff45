import { CleaveError } from './errors.js';

/**
 * How shard key values are compared.
 * - `integer`: any integer column, compared as exact integers (BigInt), so BIGINT UNSIGNED
 *   past 2^53 stays exact.
 * - `string`: character columns, compared by Unicode code point, which is the order of a
 *   *binary* collation over utf8mb4 (`utf8mb4_bin`, MariaDB `utf8mb4_nopad_bin`, MySQL
 *   `utf8mb4_0900_bin`). Range bounds only agree with the server when the column (or the
 *   planner's chosen key) uses such a collation: under a case- or accent-insensitive
 *   collation `'a'` and `'A'` are equal on the server but not here, and PAD SPACE collations
 *   (`utf8mb4_bin` included) ignore trailing spaces. The planner must pick a binary/`_bin`
 *   key or accept that.
 * - `binary`: BINARY/VARBINARY/BLOB, written as `0x` + hex and compared byte by byte (a prefix
 *   sorts first).
 */
export const KEY_TYPES = ['integer', 'string', 'binary'] as const;

/** One of {@link KEY_TYPES}. */
export type KeyType = (typeof KEY_TYPES)[number];

/** Whether `value` is one of {@link KEY_TYPES}. */
export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

/**
 * A shard key value in its canonical text form: decimal digits with an optional minus for
 * `integer` (`"18446744073709551615"`), the text itself for `string`, `0x` + lower-case hex for
 * `binary` (`"0x00ff"`).
 */
export type KeyValue = string;

/**
 * A half-open range of key values `[from, to)`: `from` included, `to` excluded.
 * `from: null` is unbounded below, `to: null` unbounded above.
 */
export interface KeyRange {
  readonly from: KeyValue | null;
  readonly to: KeyValue | null;
}

const INTEGER = /^-?\d+$/;
const BINARY = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * Why `value` is not a valid key value of `type`, or `undefined` when it is. Integers may be
 * given as JSON numbers when they are safe integers; larger ones must be decimal strings.
 *
 * @example
 * keyValueProblem('integer', '12a'); // 'must be an integer: an optional minus sign and decimal digits (got "12a")'
 */
export function keyValueProblem(type: KeyType, value: unknown): string | undefined {
  if (type === 'integer') {
    if (typeof value === 'number') {
      return Number.isSafeInteger(value)
        ? undefined
        : `must be a safe integer when written as a JSON number; write ${String(value)} as a decimal string`;
    }
    if (typeof value !== 'string' || !INTEGER.test(value)) {
      return `must be an integer: an optional minus sign and decimal digits (got ${JSON.stringify(value)})`;
    }
    return undefined;
  }
  if (typeof value !== 'string') return `must be a string for a ${type} key (got ${JSON.stringify(value)})`;
  if (type === 'binary' && !BINARY.test(value)) {
    return `must be 0x followed by an even number of hex digits (got ${JSON.stringify(value)})`;
  }
  return undefined;
}

/**
 * The canonical form of a key value: integers without leading zeros or `-0`, binary in lower
 * case; strings unchanged.
 *
 * @throws {CleaveError} `INVALID_ARGUMENT` when the value is not valid for `type`.
 *
 * @example
 * normalizeKeyValue('integer', 42); // '42'
 * normalizeKeyValue('integer', '-007'); // '-7'
 * normalizeKeyValue('binary', '0x00FF'); // '0x00ff'
 */
export function normalizeKeyValue(type: KeyType, value: string | number): KeyValue {
  const problem = keyValueProblem(type, value);
  if (problem !== undefined) {
    throw new CleaveError('INVALID_ARGUMENT', `invalid ${type} key value: ${problem}`);
  }
  if (type === 'integer') return BigInt(value).toString();
  if (type === 'binary') return (value as string).toLowerCase();
  return value as string;
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** A UTF-16 code unit moved so that code-unit order becomes code-point order. */
function codePointOrder(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function compareStrings(a: string, b: string): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return sign(codePointOrder(x) - codePointOrder(y));
  }
  return sign(a.length - b.length);
}

/**
 * Compares two key values of `type`: negative, zero or positive like a sort comparator
 * (exactly -1, 0 or 1). Integers compare as BigInt; binary byte by byte; strings by code point
 * (a binary collation: see {@link KEY_TYPES}).
 *
 * @throws {CleaveError} `INVALID_ARGUMENT` when either value is not valid for `type`.
 *
 * @example
 * compareKeyValues('integer', '9007199254740993', '9007199254740992'); // 1
 * compareKeyValues('binary', '0x00', '0x0000'); // -1
 */
export function compareKeyValues(type: KeyType, a: KeyValue | number, b: KeyValue | number): -1 | 0 | 1 {
  const x = normalizeKeyValue(type, a);
  const y = normalizeKeyValue(type, b);
  if (type === 'integer') {
    const d = BigInt(x) - BigInt(y);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  // Lower-case hex digits sort like the bytes they encode; a shorter prefix sorts first.
  return compareStrings(x, y);
}

/**
 * Whether `value` lies in the half-open `range` (`from` included, `to` excluded, `null`
 * unbounded).
 *
 * @example
 * keyInRange('integer', { from: '100', to: '200' }, '199'); // true
 * keyInRange('integer', { from: '100', to: '200' }, '200'); // false
 * keyInRange('integer', { from: null, to: '100' }, '-5'); // true
 */
export function keyInRange(type: KeyType, range: KeyRange, value: KeyValue | number): boolean {
  if (range.from !== null && compareKeyValues(type, value, range.from) < 0) return false;
  if (range.to !== null && compareKeyValues(type, value, range.to) >= 0) return false;
  return true;
}

/**
 * Whether `range` holds no value at all (`to` not greater than `from`).
 *
 * @example
 * isEmptyKeyRange('integer', { from: '5', to: '5' }); // true
 */
export function isEmptyKeyRange(type: KeyType, range: KeyRange): boolean {
  return range.from !== null && range.to !== null && compareKeyValues(type, range.to, range.from) <= 0;
}

/**
 * `[from, to)` for messages; unbounded ends are written `-inf` / `+inf`.
 *
 * @example
 * formatKeyRange({ from: '100', to: null }); // '[100, +inf)'
 */
export function formatKeyRange(range: KeyRange): string {
  return `[${range.from ?? '-inf'}, ${range.to ?? '+inf'})`;
}
