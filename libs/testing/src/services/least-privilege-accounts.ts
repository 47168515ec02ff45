import { CLEAVE_ACCOUNT_GRANTS, PLANNER_ACCOUNT_GRANTS, SERVICE_ACCOUNT_GRANTS, grantStatements, type AccountGrant, type GrantTarget } from '@cleave/core';
import type { MariadbInstanceName } from './services-config.js';

/** The accounts docs/production.md prescribes: cleave's own, a router service's, the planner's (read-only). */
export type AccountRole = 'cleave' | 'service' | 'planner';

export const ACCOUNT_GRANTS: Readonly<Record<AccountRole, readonly AccountGrant[]>> = {
  cleave: CLEAVE_ACCOUNT_GRANTS,
  service: SERVICE_ACCOUNT_GRANTS,
  planner: PLANNER_ACCOUNT_GRANTS,
};

/**
 * The least-privilege accounts of the local services (the admin account `cleave` holds every
 * privilege; these hold exactly the documented grants, on the README tour's and the demo's databases).
 */
export const LOCAL_ACCOUNTS: Readonly<Record<AccountRole, string>> = { cleave: 'cleave_app', service: 'cleave_service', planner: 'cleave_planner' };

/** The databases the local accounts are granted on: the README tour's and `npm run demo`'s. */
export const LOCAL_ACCOUNT_DATABASES = [
  { database: 'accounts', control: 'cleave_control' },
  { database: 'demo_accounts', control: 'demo_control' },
] as const;

/** The roles a local instance plays: the source (which holds the control store) or a target. */
export const instanceRoles = (server: MariadbInstanceName): NonNullable<GrantTarget['roles']> =>
  server === 'source' ? { source: true, control: true } : { target: true };

interface Admin {
  query(sql: string, values?: unknown[]): Promise<unknown>;
}

/**
 * Creates `'user'@'%'` afresh on one server with exactly the grants of its role on the given
 * databases (dropping an older account of that name and whatever it held).
 */
export async function createAccount(
  admin: Admin,
  account: { role: AccountRole; user: string; password: string },
  scopes: ReadonlyArray<{ database: string; control: string }>,
  roles: GrantTarget['roles'],
): Promise<void> {
  await admin.query('DROP USER IF EXISTS ?@?', [account.user, '%']);
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [account.user, '%', account.password]);
  const statements = new Set(scopes.flatMap((scope) => grantStatements(ACCOUNT_GRANTS[account.role], { ...scope, account: `'${account.user}'@'%'`, roles })));
  for (const statement of statements) await admin.query(statement);
}

/** The statements that give the local accounts on one instance (what `ensureLocalAccounts` runs). */
export function localAccountStatements(server: MariadbInstanceName): string[] {
  const statements = (Object.keys(LOCAL_ACCOUNTS) as AccountRole[]).flatMap((role) =>
    LOCAL_ACCOUNT_DATABASES.flatMap((scope) => grantStatements(ACCOUNT_GRANTS[role], { ...scope, account: `'${LOCAL_ACCOUNTS[role]}'@'%'`, roles: instanceRoles(server) })),
  );
  return [...new Set(statements)]; // a global grant is the same for every database
}
