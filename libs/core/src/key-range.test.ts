import { describe, expect, it } from 'vitest';
import { isCleaveError } from './errors.js';
import {
  compareKeyValues,
  formatKeyRange,
  isEmptyKeyRange,
  isKeyType,
  keyInRange,
  keyValueProblem,
  normalizeKeyValue,
} from './key-range.js';

describe('key values', () => {
  it('compares integers exactly past 2^53', () => {
    expect(compareKeyValues('integer', '9007199254740993', '9007199254740992')).toBe(1);
    expect(compareKeyValues('integer', '18446744073709551615', '18446744073709551614')).toBe(1);
    expect(compareKeyValues('integer', '-10', '9')).toBe(-1);
    expect(compareKeyValues('integer', '007', 7)).toBe(0);
    expect(compareKeyValues('integer', '-0', '0')).toBe(0);
  });

  it('compares binary byte by byte, a prefix first', () => {
    expect(compareKeyValues('binary', '0x00', '0x0000')).toBe(-1);
    expect(compareKeyValues('binary', '0xff', '0x0100')).toBe(1);
    expect(compareKeyValues('binary', '0xAB', '0xab')).toBe(0);
    expect(compareKeyValues('binary', '0x', '0x00')).toBe(-1);
  });

  it('compares strings by code point (utf8mb4 binary order), case-sensitively', () => {
    expect(compareKeyValues('string', 'B', 'a')).toBe(-1);
    expect(compareKeyValues('string', 'a', 'ab')).toBe(-1);
    expect(compareKeyValues('string', 'é', 'é')).toBe(0);
    // U+1F600 (a surrogate pair in UTF-16) sorts after U+FFFD, as in UTF-8 byte order.
    expect(compareKeyValues('string', '\u{1F600}', '\uFFFD')).toBe(1);
    expect(compareKeyValues('string', '\uFFFD', '\u{1F600}')).toBe(-1);
  });

  it('validates values for their type', () => {
    expect(keyValueProblem('integer', '-42')).toBeUndefined();
    expect(keyValueProblem('integer', 42)).toBeUndefined();
    expect(keyValueProblem('integer', '4.2')).toBe('must be an integer: an optional minus sign and decimal digits (got "4.2")');
    expect(keyValueProblem('integer', '+1')).toBe('must be an integer: an optional minus sign and decimal digits (got "+1")');
    expect(keyValueProblem('integer', 2 ** 53)).toBe(
      `must be a safe integer when written as a JSON number; write ${String(2 ** 53)} as a decimal string`,
    );
    expect(keyValueProblem('binary', '00ff')).toBe('must be 0x followed by an even number of hex digits (got "00ff")');
    expect(keyValueProblem('binary', '0xzz')).toBe('must be 0x followed by an even number of hex digits (got "0xzz")');
    expect(keyValueProblem('string', 1)).toBe('must be a string for a string key (got 1)');
    expect(keyValueProblem('string', '')).toBeUndefined();
  });

  it('normalises and refuses invalid values with a CleaveError', () => {
    expect(normalizeKeyValue('integer', '-007')).toBe('-7');
    expect(normalizeKeyValue('integer', 12)).toBe('12');
    expect(normalizeKeyValue('binary', '0x00FF')).toBe('0x00ff');
    expect(normalizeKeyValue('string', ' A ')).toBe(' A ');
    try {
      compareKeyValues('integer', 'x', '1');
      expect.unreachable();
    } catch (e) {
      expect(isCleaveError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect((e as Error).message).toBe('invalid integer key value: must be an integer: an optional minus sign and decimal digits (got "x")');
    }
  });

  it('validates key types', () => {
    expect(isKeyType('binary')).toBe(true);
    expect(isKeyType('uuid')).toBe(false);
  });
});

describe('KeyRange', () => {
  it('is half-open: from included, to excluded', () => {
    const range = { from: '100', to: '200' };
    expect(keyInRange('integer', range, '100')).toBe(true);
    expect(keyInRange('integer', range, '199')).toBe(true);
    expect(keyInRange('integer', range, '200')).toBe(false);
    expect(keyInRange('integer', range, '99')).toBe(false);
  });

  it('treats null ends as unbounded', () => {
    expect(keyInRange('integer', { from: null, to: '0' }, '-18446744073709551615')).toBe(true);
    expect(keyInRange('integer', { from: '0', to: null }, '18446744073709551615')).toBe(true);
    expect(keyInRange('integer', { from: null, to: null }, 5)).toBe(true);
    expect(keyInRange('binary', { from: null, to: '0x80' }, '0x7fff')).toBe(true);
    expect(keyInRange('string', { from: 'm', to: null }, 'M')).toBe(false);
  });

  it('detects empty ranges and formats them', () => {
    expect(isEmptyKeyRange('integer', { from: '5', to: '5' })).toBe(true);
    expect(isEmptyKeyRange('integer', { from: '5', to: '6' })).toBe(false);
    expect(isEmptyKeyRange('integer', { from: null, to: '5' })).toBe(false);
    expect(formatKeyRange({ from: '100', to: null })).toBe('[100, +inf)');
    expect(formatKeyRange({ from: null, to: '0x80' })).toBe('[-inf, 0x80)');
  });
});
