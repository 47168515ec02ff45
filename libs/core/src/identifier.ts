/** MySQL/MariaDB's limit on database, table and column name length, in characters. */
export const MAX_IDENTIFIER_LENGTH = 64;

/**
 * Why `name` cannot be a MySQL/MariaDB database, table or column name, or `undefined` when it
 * can: 1 to 64 characters, no NUL, no characters outside the Basic Multilingual Plane, not
 * ending with a space.
 *
 * @example
 * identifierProblem('users'); // undefined
 * identifierProblem('users '); // 'must not end with a space'
 */
export function identifierProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_IDENTIFIER_LENGTH) return `must be at most ${MAX_IDENTIFIER_LENGTH} characters (got ${name.length})`;
  if (name.includes('\u0000')) return 'must not contain a NUL character';
  if (/[\uD800-\uDFFF]/.test(name)) return 'must not contain characters outside the Basic Multilingual Plane';
  if (name.endsWith(' ')) return 'must not end with a space';
  return undefined;
}

/** Whether `name` is usable as a database, table or column name (see {@link identifierProblem}). */
export function isValidIdentifier(name: string): boolean {
  return identifierProblem(name) === undefined;
}
