import { CLEAVE_ACCOUNT_GRANTS, CleaveError, grantApplies, grantOn, grantStatement, type Plan } from '@cleave/core';
import type { Queryable } from './catalog/read-catalog.js';

/**
 * What the connected account may do, read from `SHOW GRANTS FOR CURRENT_USER()`: global and
 * database-level privileges (table-level grants are not counted).
 */
export interface AccountPrivileges {
  /** `'user'@'host'` as a GRANT statement names it. */
  readonly account: string;
  readonly global: ReadonlySet<string>;
  readonly databases: ReadonlyArray<{ readonly pattern: RegExp; readonly privileges: ReadonlySet<string> }>;
  /** The account holds roles: what they add is not read, so a missing privilege is not certain. */
  readonly hasRoles: boolean;
}

/** Other names a server prints for the same privilege (MySQL's, MariaDB's newer aliases). */
const SATISFIED_BY: Record<string, readonly string[]> = {
  'REPLICATION SLAVE': ['REPLICATION REPLICA'],
  'BINLOG MONITOR': ['REPLICATION CLIENT'],
  'SLAVE MONITOR': ['REPLICA MONITOR', 'REPLICATION CLIENT'],
};

const GRANT = /^GRANT (.+?) ON (\S+) TO /;
const ROLE = /^GRANT [^ ]+ TO /;

/** A database grant's name as a pattern: `_` and `%` are wildcards unless escaped. */
function databasePattern(quoted: string): RegExp {
  const name = quoted.replace(/^`|`$/g, '').replace(/``/g, '`');
  let source = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\' && i + 1 < name.length) source += name[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '_') source += '.';
    else if (c === '%') source += '.*';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const privilegeList = (text: string) => new Set(text.split(',').map((p) => p.trim().toUpperCase()));

/** Reads the connected account's privileges. */
export async function readAccountPrivileges(db: Queryable): Promise<AccountPrivileges> {
  const [[who]] = (await db.query('SELECT CURRENT_USER() AS account')) as unknown as [[{ account: string }]];
  const at = who.account.lastIndexOf('@');
  const account = `'${who.account.slice(0, at)}'@'${who.account.slice(at + 1)}'`;
  const [rows] = (await db.query('SHOW GRANTS FOR CURRENT_USER()')) as unknown as [Array<Record<string, string>>];
  const global = new Set<string>();
  const databases: Array<{ pattern: RegExp; privileges: ReadonlySet<string> }> = [];
  let hasRoles = false;
  for (const row of rows) {
    const text = String(Object.values(row)[0] ?? '');
    const match = GRANT.exec(text);
    if (match === null) {
      if (ROLE.test(text)) hasRoles = true;
      continue;
    }
    const on = match[2]!;
    if (on === '*.*') for (const p of privilegeList(match[1]!)) global.add(p);
    else if (on.endsWith('.*')) databases.push({ pattern: databasePattern(on.slice(0, -2)), privileges: privilegeList(match[1]!) });
  }
  return { account, global, databases, hasRoles };
}

const holds = (set: ReadonlySet<string>, privilege: string) =>
  set.has('ALL PRIVILEGES') || set.has(privilege) || (SATISFIED_BY[privilege] ?? []).some((p) => set.has(p));

/**
 * The privileges of `wanted` the account lacks, globally (`database` null) or on one database
 * (a global privilege counts there too). Empty when the account holds roles (they are not read).
 */
export function missingPrivileges(account: AccountPrivileges, wanted: readonly string[], database: string | null): string[] {
  if (account.hasRoles) return [];
  return wanted.filter((privilege) => {
    if (privilege === 'ALL PRIVILEGES') {
      return !(account.global.has('ALL PRIVILEGES') || (database !== null && account.databases.some((d) => d.pattern.test(database) && d.privileges.has('ALL PRIVILEGES'))));
    }
    if (holds(account.global, privilege)) return false;
    return database === null || !account.databases.some((d) => d.pattern.test(database) && holds(d.privileges, privilege));
  });
}

/** The roles each server plays in a plan, with the databases it plays them on. */
function serverRoles(plan: Plan, control: { server: string; database: string }) {
  const roles = new Map<string, { databases: Set<string>; source: boolean; target: boolean; control: boolean }>();
  const of = (server: string) => {
    let r = roles.get(server);
    if (r === undefined) roles.set(server, (r = { databases: new Set(), source: false, target: false, control: false }));
    return r;
  };
  of(plan.source.server).source = true;
  of(plan.source.server).databases.add(plan.source.database);
  for (const t of Object.values(plan.targets)) {
    of(t.server).target = true;
    of(t.server).databases.add(t.database);
  }
  of(control.server).control = true;
  return roles;
}

/**
 * The grants of cleave's account (docs/production.md) that it lacks on the servers of a plan and
 * on the control store's server, each as `server NAME: GRANT ... ;`.
 */
export async function missingAccountGrants(
  plan: Plan,
  control: { server: string; database: string },
  serverDb: (server: string) => Queryable,
  options: { capture: boolean },
): Promise<string[]> {
  const missing: string[] = [];
  for (const [server, roles] of serverRoles(plan, control)) {
    const account = await readAccountPrivileges(serverDb(server));
    for (const grant of CLEAVE_ACCOUNT_GRANTS) {
      if (!grantApplies(grant, roles) || (grant.onlyFor === 'capture' && !options.capture)) continue;
      const databases = grant.on === 'database' ? [...roles.databases] : grant.on === 'control' ? [control.database] : grant.on === 'performance_schema' ? ['performance_schema'] : [null];
      for (const database of databases) {
        const lacking = missingPrivileges(account, grant.privileges, database);
        if (lacking.length > 0) missing.push(`server ${server}: ${grantStatement(lacking, grantOn(grant.on, { database: database ?? '', control: control.database }), account.account)};`);
      }
    }
  }
  return missing;
}

/**
 * Refuses (`PRECONDITION_FAILED`) with the GRANT statements of {@link missingAccountGrants}, so that
 * `cleave start` stops before it changes anything rather than halfway through a migration.
 */
export async function requireAccountGrants(...args: Parameters<typeof missingAccountGrants>): Promise<void> {
  const missing = await missingAccountGrants(...args);
  if (missing.length === 0) return;
  throw new CleaveError('PRECONDITION_FAILED', `cleave's account lacks grants it needs:\n  ${missing.join('\n  ')}`, {
    hint: 'Run the GRANT statements above as an administrator (docs/production.md lists each grant and why), then run cleave start again; nothing was changed.',
  });
}

const TABLE_DENIED = /^(\w[\w ]*?) command denied to user '([^']*)'@'([^']*)' for table [`']([^`']+)[`']\.[`']([^`']+)[`']/;
const GLOBAL_DENIED = /you need \(at least one of\) the (.+?) privilege\(s\)/;
const DATABASE_DENIED = /^Access denied for user '([^']*)'@'([^']*)' to database '([^']+)'/;

/**
 * A server's refusal for want of a privilege (ER_TABLEACCESS_DENIED_ERROR,
 * ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR) as a `PRECONDITION_FAILED` whose hint
 * is the GRANT to add; any other error: null.
 *
 * @example
 * privilegeDenied(Object.assign(new Error("TRIGGER command denied to user 'c'@'10.0.0.5' for table `accounts`.`users`"), { errno: 1142 }))?.hint
 * // "GRANT TRIGGER ON `accounts`.* TO <the account of user 'c'>; ..."
 */
export function privilegeDenied(error: unknown, server?: string): CleaveError | null {
  const errno = Number((error as { errno?: unknown } | null)?.errno);
  const message = error instanceof Error ? error.message : String(error);
  const where = server === undefined ? 'the server' : `server ${server}`;
  const refused = (grant: string) =>
    new CleaveError('PRECONDITION_FAILED', `${where} refused cleave's account: ${message}`, {
      cause: error,
      hint: `${grant}; (docs/production.md lists the grants of each account and why), then run it again.`,
    });
  if (errno === 1142 || errno === 1143) {
    const m = TABLE_DENIED.exec(message);
    // The message names the host the session came from, not the account's host pattern.
    return refused(m === null ? 'Grant the privilege named above on the database' : `GRANT ${m[1]!.toUpperCase()} ON \`${m[4]}\`.* TO <the account of user '${m[2]}'>`);
  }
  if (errno === 1227) {
    const m = GLOBAL_DENIED.exec(message);
    return refused(m === null ? 'Grant the privilege named above ON *.*' : `GRANT ${m[1]!.split(',').at(-1)!.trim()} ON *.* TO <cleave's account>`);
  }
  if (errno === 1044) {
    const m = DATABASE_DENIED.exec(message);
    return refused(m === null ? "Grant cleave's account its privileges on that database" : `Grant '${m[1]}'@'${m[2]}' its privileges on \`${m[3]}\`.*: GRANT ... ON \`${m[3]}\`.* TO '${m[1]}'@'${m[2]}'`);
  }
  return null;
}
