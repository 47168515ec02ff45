/**
 * The least privileges of each account cleave's documents prescribe (docs/production.md): one
 * list that the docs' GRANT blocks, `cleave start`'s privilege check, the local services' accounts
 * and the least-privilege tests all read.
 */

/** What a grant is on: the moved database, the control database, performance_schema or every database. */
export type GrantScope = 'database' | 'control' | 'performance_schema' | 'global';

/** Privileges on one scope, and which servers need them. */
export interface AccountGrant {
  readonly privileges: readonly string[];
  readonly on: GrantScope;
  /** `all`: the source and every target; `targets`: the targets only; `source`: the source only; `control`: the control store's server. */
  readonly servers: 'all' | 'source' | 'targets' | 'control';
  /** `capture`: only while the binlog capture runs (not with `cleave start --no-capture`). */
  readonly onlyFor?: 'capture';
}

/**
 * cleave's own account (CLI, workers, coordinator). On the moved database: read and write the
 * moved tables (copy, capture, repair, the reverse direction), CREATE the target tables and the
 * guard's `_cleave_guard`, TRIGGER for the placement guard, ALTER and DROP for finalize's RENAME
 * TABLE, the auto-increment alignment and `cleave cancel`. Globally: REPLICATION SLAVE and BINLOG
 * MONITOR to read the binlog of the source and (reverse capture) of the targets, SLAVE MONITOR for
 * the targets' `SHOW REPLICA STATUS` (target-lag-ok). On the control database, what the control
 * store does: creates its tables (and adds the columns of a newer version), reads and writes them.
 */
export const CLEAVE_ACCOUNT_GRANTS: readonly AccountGrant[] = [
  { privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'TRIGGER'], on: 'database', servers: 'all' },
  { privileges: ['REPLICATION SLAVE', 'BINLOG MONITOR'], on: 'global', servers: 'all', onlyFor: 'capture' },
  { privileges: ['SLAVE MONITOR'], on: 'global', servers: 'targets' },
  { privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'ALTER'], on: 'control', servers: 'control' },
];

/**
 * `cleave plan` reads only: the catalog and index statistics of the database, and the statement
 * digests. REFERENCES because MariaDB shows a foreign key's rules only to an account with a
 * privilege besides SELECT on the table (REFERENCES allows nothing else there).
 */
export const PLANNER_ACCOUNT_GRANTS: readonly AccountGrant[] = [
  { privileges: ['SELECT', 'REFERENCES'], on: 'database', servers: 'source' },
  { privileges: ['SELECT'], on: 'performance_schema', servers: 'source' },
];

/**
 * A service that uses `@cleave/router`: its own reads and writes on the source and the targets
 * (the router writes the other side itself, and reads `_cleave_guard` in a shadow write's
 * transaction), and on the control database what `openCleaveDialect` does (checks the store's
 * schema, reads the migrations, records failed shadow writes).
 */
export const SERVICE_ACCOUNT_GRANTS: readonly AccountGrant[] = [
  { privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], on: 'database', servers: 'all' },
  { privileges: ['CREATE', 'ALTER', 'SELECT', 'INSERT'], on: 'control', servers: 'control' },
];

/** Where a set of grants goes: the database names, and which roles this server plays. */
export interface GrantTarget {
  /** The moved database (its name on this server). */
  readonly database: string;
  /** The control database. */
  readonly control: string;
  /** `'user'@'host'`, quoted as GRANT takes it. */
  readonly account: string;
  /** The roles of this server; all of them when omitted (the form the docs print). */
  readonly roles?: { readonly source?: boolean; readonly target?: boolean; readonly control?: boolean };
}

const quoteName = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** The `ON` part of a grant: `` `accounts`.* ``, `*.*`. */
export function grantOn(scope: GrantScope, names: { database: string; control: string }): string {
  if (scope === 'global') return '*.*';
  if (scope === 'performance_schema') return 'performance_schema.*';
  return `${quoteName(scope === 'control' ? names.control : names.database)}.*`;
}

/** Whether a server with these roles needs the grant. */
export function grantApplies(grant: AccountGrant, roles: GrantTarget['roles']): boolean {
  if (roles === undefined) return true;
  if (grant.servers === 'all') return Boolean(roles.source || roles.target);
  if (grant.servers === 'source') return Boolean(roles.source);
  if (grant.servers === 'targets') return Boolean(roles.target);
  return Boolean(roles.control);
}

/** One GRANT statement. */
export function grantStatement(privileges: readonly string[], on: string, account: string): string {
  return `GRANT ${privileges.join(', ')} ON ${on} TO ${account}`;
}

/**
 * The GRANT statements of an account on one server.
 *
 * @example
 * grantStatements(CLEAVE_ACCOUNT_GRANTS, { database: 'accounts', control: 'cleave_control', account: "'cleave'@'%'" });
 * // ["GRANT SELECT, INSERT, ... ON `accounts`.* TO 'cleave'@'%'", 'GRANT REPLICATION SLAVE, ... ON *.* TO ...', ...]
 */
export function grantStatements(grants: readonly AccountGrant[], target: GrantTarget): string[] {
  return grants.filter((g) => grantApplies(g, target.roles)).map((g) => grantStatement(g.privileges, grantOn(g.on, target), target.account));
}
