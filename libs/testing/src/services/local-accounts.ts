import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { LOCAL_ACCOUNTS, LOCAL_ACCOUNT_DATABASES, createAccount, instanceRoles, localAccountStatements, type AccountRole } from './least-privilege-accounts.js';
import type { ServicesConfig } from './services-config.js';

/**
 * Creates the least-privilege accounts on every local instance (same password as the admin
 * account) when one is missing or their grants changed: a marker file holds the hash of what was
 * granted, so a second `services:up` does not re-create accounts a running demo is logged in with.
 */
export async function ensureLocalAccounts(config: ServicesConfig): Promise<void> {
  for (const instance of config.mariadb) {
    const hash = createHash('sha256').update(JSON.stringify([config.password, localAccountStatements(instance.name)])).digest('hex');
    const marker = path.join(config.rootDir, `.accounts-${instance.name}`);
    const admin = await mysql.createConnection({ host: config.host, port: instance.port, user: config.user, password: config.password });
    try {
      const users = Object.values(LOCAL_ACCOUNTS);
      const [[present]] = (await admin.query("SELECT COUNT(*) AS n FROM mysql.user WHERE User IN (?) AND Host = '%'", [users])) as unknown as [[{ n: number }]];
      if (Number(present.n) === users.length && existsSync(marker) && readFileSync(marker, 'utf8') === hash) continue;
      for (const role of Object.keys(LOCAL_ACCOUNTS) as AccountRole[]) {
        await createAccount(admin, { role, user: LOCAL_ACCOUNTS[role], password: config.password }, LOCAL_ACCOUNT_DATABASES, instanceRoles(instance.name));
      }
      writeFileSync(marker, hash);
    } finally {
      await admin.end();
    }
  }
}
