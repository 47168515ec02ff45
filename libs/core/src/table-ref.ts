import { CleaveError } from './errors.js';
import { identifierProblem } from './identifier.js';

/** A table, optionally qualified by its database (MySQL calls a database a schema). */
export interface TableRef {
  /** The database; absent means "the database of the context" (e.g. a plan's source). */
  readonly schema?: string;
  readonly table: string;
}

/** A part that can be written without backquotes. */
const BARE = /^[A-Za-z0-9_$]+$/;

function formatPart(name: string): string {
  return BARE.test(name) && !/^\d+$/.test(name) ? name : `\`${name.replaceAll('`', '``')}\``;
}

/**
 * `db.tbl` or `tbl`, for messages and command lines. Parts that are not plain words are
 * backquoted (`` `my db`.users ``), so {@link parseTableRef} reads the result back. This is
 * not SQL quoting; `@cleave/mysql` owns that.
 *
 * @example
 * formatTableRef({ schema: 'account', table: 'users' }); // 'account.users'
 */
export function formatTableRef(ref: TableRef): string {
  return ref.schema === undefined ? formatPart(ref.table) : `${formatPart(ref.schema)}.${formatPart(ref.table)}`;
}

function invalid(text: string, why: string): CleaveError<'INVALID_ARGUMENT'> {
  return new CleaveError('INVALID_ARGUMENT', `invalid table reference ${JSON.stringify(text)}: ${why}`, {
    hint: 'Write a table as `table` or `database.table`; backquote names that contain dots or spaces.',
  });
}

/** Reads one part at `start`; returns it and the index after it. */
function readPart(text: string, start: number): { name: string; end: number } {
  if (text[start] !== '`') {
    let end = start;
    while (end < text.length && text[end] !== '.' && text[end] !== '`') end += 1;
    return { name: text.slice(start, end), end };
  }
  let name = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw invalid(text, 'unterminated backquote');
    const ch = text[i];
    if (ch === '`') {
      if (text[i + 1] === '`') {
        name += '`';
        i += 2;
        continue;
      }
      return { name, end: i + 1 };
    }
    name += ch;
    i += 1;
  }
}

/**
 * Parses `tbl`, `db.tbl` or backquoted parts (`` `my.db`.`tbl` ``).
 *
 * @throws {CleaveError} `INVALID_ARGUMENT` naming what is wrong (empty part, more than two
 * parts, a name longer than 64 characters, unterminated backquote…).
 *
 * @example
 * parseTableRef('account.users'); // { schema: 'account', table: 'users' }
 * parseTableRef('users'); // { table: 'users' }
 */
export function parseTableRef(text: string): TableRef {
  if (text.trim() === '') throw invalid(text, 'it is empty');
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    const { name, end } = readPart(text, i);
    const problem = identifierProblem(name);
    if (problem !== undefined) throw invalid(text, `${parts.length === 0 ? 'first' : 'second'} part ${problem}`);
    parts.push(name);
    if (end === text.length) break;
    if (text[end] !== '.') throw invalid(text, `unexpected ${JSON.stringify(text[end])} at position ${end + 1}`);
    if (parts.length === 2) throw invalid(text, 'expected at most two parts (database.table)');
    i = end + 1;
  }
  const [first, second] = parts as [string, string?];
  return second === undefined ? { table: first } : { schema: first, table: second };
}

/** Whether two references name the same table (exact, case-sensitive comparison). */
export function sameTableRef(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.table === b.table;
}
