import { describe, expect, it } from 'vitest';
import { MysqlLibError } from './mysql-error.js';
import { identifierProblem, quoteIdentifier, quoteQualified, validateIdentifier } from './identifier.js';

function thrown(fn: () => unknown): MysqlLibError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MysqlLibError);
    return error as MysqlLibError;
  }
  throw new Error('expected a throw');
}

describe('quoteIdentifier', () => {
  it.each([
    ['users', '`users`'],
    ['order', '`order`'],
    ['select', '`select`'],
    ['a`b', '`a``b`'],
    ['``', '``````'],
    ['`; DROP TABLE y; --', '```; DROP TABLE y; --`'],
    ['x; DROP TABLE y', '`x; DROP TABLE y`'],
    ["it's", "`it's`"],
    ['say "hi"', '`say "hi"`'],
    ['back\\slash', '`back\\slash`'],
    ['trailing\\', '`trailing\\`'],
    ['a.b', '`a.b`'],
    [' leading space', '` leading space`'],
    ['Ünïcødé ñ 名前', '`Ünïcødé ñ 名前`'],
    ['tab\there', '`tab\there`'],
    ['new\nline', '`new\nline`'],
    ['123', '`123`'],
    ['$x', '`$x`'],
    ['?', '`?`'],
    ['a'.repeat(64), `\`${'a'.repeat(64)}\``],
    ['é'.repeat(64), `\`${'é'.repeat(64)}\``],
  ])('quotes %j', (name, quoted) => {
    expect(quoteIdentifier(name)).toBe(quoted);
  });

  it('quotes schema-qualified names', () => {
    expect(quoteQualified('accounts', 'users')).toBe('`accounts`.`users`');
    expect(quoteQualified('a.b', 'c`d')).toBe('`a.b`.`c``d`');
  });
});

describe('identifier validation', () => {
  it.each([
    ['', 'Invalid identifier: the name is empty. MySQL/MariaDB names need at least one character.'],
    [
      'a\0b',
      'Invalid identifier "a\\u0000b": it contains a NUL character (U+0000), which MySQL/MariaDB do not allow in names.',
    ],
    [
      'party🎉',
      'Invalid identifier "party🎉": it contains U+1F389, a character outside the Basic Multilingual Plane ' +
        '(such as an emoji); MySQL/MariaDB only allow characters up to U+FFFF in names.',
    ],
    [
      'x\ud800y',
      'Invalid identifier "x\\ud800y": it contains an unpaired surrogate (U+D800), which is not valid text.',
    ],
    [
      'a'.repeat(65),
      `Invalid identifier "${'a'.repeat(24)}"…: it is 65 characters long; MySQL/MariaDB allow at most 64.`,
    ],
    [
      'é'.repeat(65),
      `Invalid identifier "${'é'.repeat(24)}"…: it is 65 characters long; MySQL/MariaDB allow at most 64.`,
    ],
    ['name ', 'Invalid identifier "name ": it ends with a space, which MySQL/MariaDB do not allow in names.'],
    ['   ', 'Invalid identifier "   ": it ends with a space, which MySQL/MariaDB do not allow in names.'],
  ])('rejects %j with an exact message', (name, message) => {
    const error = thrown(() => quoteIdentifier(name));
    expect(error.code).toBe('INVALID_IDENTIFIER');
    expect(error.message).toBe(message);
    expect(identifierProblem(name)).toBe(message);
  });

  it('counts characters, not bytes or UTF-16 units', () => {
    // 64 three-byte characters (192 bytes) are fine.
    expect(() => validateIdentifier('名'.repeat(64))).not.toThrow();
    expect(identifierProblem('名'.repeat(65))).toContain('it is 65 characters long');
  });

  it('rejects non-strings from untyped callers', () => {
    expect(thrown(() => quoteIdentifier(42 as unknown as string)).message).toBe(
      'Invalid identifier: expected a string, got number.',
    );
    expect(identifierProblem(null)).toBe('Invalid identifier: expected a string, got null.');
  });

  it('validates both parts of a qualified name', () => {
    expect(thrown(() => quoteQualified('ok', '')).code).toBe('INVALID_IDENTIFIER');
    expect(thrown(() => quoteQualified('bad ', 'ok')).message).toContain('ends with a space');
  });
});
