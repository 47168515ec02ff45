import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the shared sample account schema (users, addresses, email_aliases, sessions, …). */
export const SAMPLE_ACCOUNTS_SQL = fileURLToPath(new URL('../fixtures/sample-accounts.sql', import.meta.url));

/** The CREATE TABLE statements of the sample account schema, comments stripped, in order. */
export function sampleAccountsStatements(): string[] {
  return readFileSync(SAMPLE_ACCOUNTS_SQL, 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Creates the sample account tables in the connection's current database. */
export async function createSampleAccounts(conn: { query(sql: string): Promise<unknown> }): Promise<void> {
  for (const statement of sampleAccountsStatements()) await conn.query(statement);
}
