import { randomBytes } from 'node:crypto';
import { controlDatabase } from './cleave-env.js';
import { createAccount, instanceRoles, type AccountRole } from './services/least-privilege-accounts.js';
import { MARIADB_INSTANCE_NAMES, type MariadbInstanceName } from './services/services-config.js';
import type { TestDatabases } from './test-databases.js';

/** A least-privilege account of one test: exactly the documented grants of its role on the test's databases. */
export interface TestAccount {
  readonly user: string;
  readonly password: string;
  /** A server's URL as this account, optionally on a database (the test's own by default: pass '' for none). */
  url(server: MariadbInstanceName, database?: string): string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh account of a role on each server with exactly that role's grants on this test's
 * database and control database (`cleaveEnv`'s), as docs/production.md prescribes.
 */
export async function createTestAccount(dbs: TestDatabases, role: AccountRole, servers: readonly MariadbInstanceName[] = MARIADB_INSTANCE_NAMES): Promise<TestAccount> {
  const user = `lp_${role}_${randomBytes(4).toString('hex')}`;
  const password = `lp-${randomBytes(6).toString('hex')}`;
  const scopes = [{ database: dbs.name, control: controlDatabase(dbs) }];
  for (const server of servers) await createAccount(await dbs.admin(server), { role, user, password }, scopes, instanceRoles(server));
  return {
    user,
    password,
    url(server, database = dbs.name) {
      const e = dbs[server].endpoint;
      return `mysql://${user}:${password}@${e.host}:${e.port}/${database}`;
    },
    async drop() {
      for (const server of servers) await (await dbs.admin(server)).query('DROP USER IF EXISTS ?@?', [user, '%']).catch(() => undefined);
    },
  };
}
