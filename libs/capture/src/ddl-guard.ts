/** Statements that change a table's shape or rows without row events (CREATE EVENT, TRIGGER, VIEW… do not). */
const TABLE_CHANGING = /^(?:ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE|DROP\s+(?:TEMPORARY\s+)?TABLE|RENAME\s+TABLE|TRUNCATE|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?TABLE|CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX|DROP\s+INDEX|IMPORT\s+TABLE|REPAIR\s+TABLE)\b/i;
const LEADING_COMMENTS = /^(?:\s+|\/\*[\s\S]*?\*\/|#[^\n]*\n|--\s[^\n]*\n)*/;

/**
 * Which watched tables (`database.table`) a statement-logged schema change (ALTER, DROP, RENAME,
 * TRUNCATE, CREATE … TABLE/INDEX) names. With ROW binlogs
 * only DDL (and a few administrative statements) is logged as text; a name is found as a whole
 * identifier, quoted or not, qualified by its database or unqualified under that default database.
 * It errs on the side of naming a table: a false match stops a stream with a clear error, a
 * missed one would apply keys to a table whose shape changed.
 */
export function tablesNamedBy(statement: string, defaultDatabase: string, watched: Iterable<string>): string[] {
  if (!TABLE_CHANGING.test(statement.replace(LEADING_COMMENTS, ''))) return [];
  const text = statement.replace(/`/g, '').replace(/\s+/g, ' ');
  const named: string[] = [];
  for (const id of watched) {
    const dot = id.indexOf('.');
    const database = id.slice(0, dot);
    const table = id.slice(dot + 1);
    const qualified = new RegExp(`(?:^|[^\\w$.])${escape(database)}\\s*\\.\\s*${escape(table)}(?![\\w$])`, 'i');
    const bare = new RegExp(`(?:^|[^\\w$.])${escape(table)}(?![\\w$.])`, 'i');
    if (qualified.test(text) || (defaultDatabase === database && bare.test(text))) named.push(id);
  }
  return named;
}

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
