import { describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { LOCAL_ACCOUNTS, localAccountStatements, type AccountRole } from './least-privilege-accounts.js';
import { ensureLocalAccounts } from './local-accounts.js';
import { servicesConfig } from './services-config.js';

/** `ON x TO account: PRIVILEGE` for each privilege of each statement (the server merges and orders them its own way). */
function pairs(statements: readonly string[]): string[] {
  return statements
    .flatMap((statement) => {
      const m = /^GRANT (.+?) ON (\S+) TO (\S+)/.exec(statement.replace(/[`']/g, ''));
      if (m === null || m[1] === 'USAGE') return [];
      return m[1]!.split(',').map((p) => `ON ${m[2]} TO ${m[3]}: ${p.trim()}`);
    })
    .sort();
}

describe('the local least-privilege accounts (services:up)', () => {
  const config = servicesConfig(process.env);

  it('hold exactly the documented grants on each instance, and log in with the local password', async () => {
    await ensureLocalAccounts(config);
    for (const instance of config.mariadb) {
      const shown: string[] = [];
      for (const role of Object.keys(LOCAL_ACCOUNTS) as AccountRole[]) {
        const conn = await mysql.createConnection({ host: config.host, port: instance.port, user: LOCAL_ACCOUNTS[role], password: config.password });
        try {
          const [rows] = (await conn.query('SHOW GRANTS')) as unknown as [Array<Record<string, string>>];
          shown.push(...rows.map((r) => Object.values(r)[0]!));
        } finally {
          await conn.end();
        }
      }
      expect(pairs(shown), `grants on ${instance.name}`).toEqual(pairs(localAccountStatements(instance.name)));
    }
  });
});
