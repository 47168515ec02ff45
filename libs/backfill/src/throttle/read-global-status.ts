import { CleaveError } from '@cleave/core';

/** The `query` method of a mysql2 promise pool or connection (a structural subset). */
export interface StatusQueryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** Reads one global status counter (`SHOW GLOBAL STATUS LIKE ?`) as a number. */
export async function readGlobalStatus(db: StatusQueryable, variable: string): Promise<number> {
  const [rows] = await db.query('SHOW GLOBAL STATUS LIKE ?', [variable]);
  const row = (rows as Array<Record<string, unknown>>)[0];
  const value = Number(row?.['Value'] ?? row?.['VALUE'] ?? Number.NaN);
  if (!Number.isFinite(value)) {
    throw new CleaveError('INTERNAL', `SHOW GLOBAL STATUS LIKE '${variable}' returned no number`);
  }
  return value;
}

export function requireCount(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new CleaveError('CONFIG_INVALID', `${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
