import { MysqlLibError } from './mysql-error.js';

/** The longest identifier MySQL and MariaDB accept, in characters (not bytes). */
export const MAX_IDENTIFIER_LENGTH = 64;

const SHOWN_PREFIX = 24;

/** A name as it is shown in an error message: JSON-quoted (control characters escaped), cut when long. */
function shown(name: string): string {
  const chars = [...name];
  return chars.length > SHOWN_PREFIX ? `${JSON.stringify(chars.slice(0, SHOWN_PREFIX).join(''))}…` : JSON.stringify(name);
}

function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `name` cannot be a MySQL/MariaDB identifier, or `undefined` when it can.
 *
 * The rules are the server's: 1 to 64 characters, no NUL, only characters of the Basic
 * Multilingual Plane (no emoji and other supplementary characters), no trailing space.
 * Anything else (reserved words, quotes, backticks, backslashes, dots, spaces inside) is allowed
 * and made safe by {@link quoteIdentifier}.
 */
export function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') {
    return `Invalid identifier: expected a string, got ${name === null ? 'null' : typeof name}.`;
  }
  if (name.length === 0) {
    return 'Invalid identifier: the name is empty. MySQL/MariaDB names need at least one character.';
  }
  let length = 0;
  for (const char of name) {
    length += 1;
    const codePoint = char.codePointAt(0) ?? 0;
    if (codePoint === 0) {
      return `Invalid identifier ${shown(name)}: it contains a NUL character (U+0000), which MySQL/MariaDB do not allow in names.`;
    }
    if (codePoint > 0xffff) {
      return (
        `Invalid identifier ${shown(name)}: it contains ${codePointLabel(codePoint)}, a character outside the ` +
        'Basic Multilingual Plane (such as an emoji); MySQL/MariaDB only allow characters up to U+FFFF in names.'
      );
    }
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
      return `Invalid identifier ${shown(name)}: it contains an unpaired surrogate (${codePointLabel(codePoint)}), which is not valid text.`;
    }
  }
  if (length > MAX_IDENTIFIER_LENGTH) {
    return `Invalid identifier ${shown(name)}: it is ${length} characters long; MySQL/MariaDB allow at most ${MAX_IDENTIFIER_LENGTH}.`;
  }
  if (name.endsWith(' ')) {
    return `Invalid identifier ${shown(name)}: it ends with a space, which MySQL/MariaDB do not allow in names.`;
  }
  return undefined;
}

/**
 * Throws a {@link MysqlLibError} with code `INVALID_IDENTIFIER` unless `name` is a valid
 * MySQL/MariaDB identifier (see {@link identifierProblem} for the rules).
 *
 * @example
 * ```ts
 * validateIdentifier('users'); // ok
 * validateIdentifier('');      // throws: Invalid identifier: the name is empty. ...
 * ```
 */
export function validateIdentifier(name: string): void {
  const problem = identifierProblem(name);
  if (problem !== undefined) {
    throw new MysqlLibError('INVALID_IDENTIFIER', problem, {
      hint: 'Rename the object, or fix the name passed to cleave.',
    });
  }
}

/**
 * Quotes one identifier (schema, table, column, index, constraint) for MySQL/MariaDB: wraps it
 * in backticks and doubles embedded backticks. Validates it first (throws `INVALID_IDENTIFIER`).
 *
 * Safe for any valid name: reserved words, quotes, backslashes, dots and text like
 * `x; DROP TABLE y` stay one identifier. Does not rely on `ANSI_QUOTES` or
 * `NO_BACKSLASH_ESCAPES` (backslashes have no meaning inside backticks).
 *
 * @example
 * ```ts
 * quoteIdentifier('order');  // '`order`'
 * quoteIdentifier('a`b');    // '`a``b`'
 * ```
 */
export function quoteIdentifier(name: string): string {
  validateIdentifier(name);
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * Quotes a schema-qualified name: `` `schema`.`table` ``.
 *
 * @example
 * ```ts
 * quoteQualified('accounts', 'users'); // '`accounts`.`users`'
 * ```
 */
export function quoteQualified(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}
