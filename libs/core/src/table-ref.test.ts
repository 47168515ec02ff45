import { describe, expect, it } from 'vitest';
import { isCleaveError } from './errors.js';
import { formatTableRef, parseTableRef, sameTableRef } from './table-ref.js';

function parseError(text: string): string {
  try {
    parseTableRef(text);
  } catch (e) {
    expect(isCleaveError(e, 'INVALID_ARGUMENT')).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('TableRef', () => {
  it('parses table and database.table', () => {
    expect(parseTableRef('users')).toEqual({ table: 'users' });
    expect(parseTableRef('account.users')).toEqual({ schema: 'account', table: 'users' });
  });

  it('parses backquoted parts', () => {
    expect(parseTableRef('`my.db`.`odd``name`')).toEqual({ schema: 'my.db', table: 'odd`name' });
    expect(parseTableRef('account.`user settings`')).toEqual({ schema: 'account', table: 'user settings' });
  });

  it('formats, backquoting what needs it, and round-trips', () => {
    expect(formatTableRef({ table: 'users' })).toBe('users');
    expect(formatTableRef({ schema: 'account', table: 'users' })).toBe('account.users');
    expect(formatTableRef({ schema: 'my.db', table: 'odd`name' })).toBe('`my.db`.`odd``name`');
    expect(formatTableRef({ table: '123' })).toBe('`123`');
    for (const ref of [{ table: 'a b' }, { schema: 'x.y', table: 'z' }, { schema: 'a', table: 'b$_1' }]) {
      expect(parseTableRef(formatTableRef(ref))).toEqual(ref);
    }
  });

  it('refuses malformed references with clear errors', () => {
    expect(parseError('')).toBe('invalid table reference "": it is empty');
    expect(parseError('a.b.c')).toBe('invalid table reference "a.b.c": expected at most two parts (database.table)');
    expect(parseError('account.')).toBe('invalid table reference "account.": second part must not be empty');
    expect(parseError('.users')).toBe('invalid table reference ".users": first part must not be empty');
    expect(parseError('`users')).toBe('invalid table reference "`users": unterminated backquote');
    expect(parseError('`a`b')).toBe('invalid table reference "`a`b": unexpected "b" at position 4');
    expect(parseError('x'.repeat(65))).toMatch(/first part must be at most 64 characters \(got 65\)$/);
  });

  it('compares references', () => {
    expect(sameTableRef({ schema: 'a', table: 'b' }, parseTableRef('a.b'))).toBe(true);
    expect(sameTableRef({ table: 'b' }, { schema: 'a', table: 'b' })).toBe(false);
  });
});
