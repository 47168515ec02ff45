import { CleaveError } from '@cleave/core';
import type { ServerPool } from '@cleave/mysql';

/** Schemas every server has; never offered as "the database you meant". */
const SYSTEM_SCHEMAS = new Set(['information_schema', 'mysql', 'performance_schema', 'sys']);
const LISTED = 20;

export interface DatabaseRef {
  /** Server name, as in the config (`source`, `target1`). */
  readonly server: string;
  /** `host:port` of that server (never its credentials). */
  readonly address: string;
  readonly database: string;
}

/**
 * Fails with NOT_FOUND (exit 4), naming the server, its address and the databases it does have,
 * when `ref.database` does not exist there (or the account cannot see it). The driver's own
 * "Unknown database 'accounts'" names neither the server nor a way out.
 */
export async function requireDatabase(pool: ServerPool, ref: DatabaseRef, fix: string): Promise<void> {
  const [rows] = await pool.promise.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
  const names = (rows as Array<{ name: unknown }>).map((r) => String(r.name));
  if (names.includes(ref.database)) return;
  const user = names.filter((n) => !SYSTEM_SCHEMAS.has(n.toLowerCase()));
  const shown = user.length === 0 ? 'none but the system schemas' : `${user.slice(0, LISTED).join(', ')}${user.length > LISTED ? `, … (${user.length} in all)` : ''}`;
  throw new CleaveError('NOT_FOUND', `database "${ref.database}" does not exist on server ${ref.server} (${ref.address}), or cleave's account cannot see it`, {
    hint: `${fix} Databases on ${ref.server}: ${shown}.`,
  });
}
