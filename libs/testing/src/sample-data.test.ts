import { describe, expect, it } from 'vitest';
import { createSampleAccounts } from './sample-schema.js';
import { seedSampleAccounts } from './sample-data.js';
import { useTestDatabases } from './use-test-databases.js';

describe('seedSampleAccounts', () => {
  const dbs = useTestDatabases('sample data');

  it('fills every table at the documented ratios, with the hard values', async () => {
    const conn = await dbs().admin('source');
    await createSampleAccounts(conn);
    await seedSampleAccounts(conn, { users: 1000 });
    const [counts] = await conn.query(
      `SELECT (SELECT COUNT(*) FROM users) u, (SELECT COUNT(*) FROM addresses) a, (SELECT COUNT(*) FROM email_aliases) e,
              (SELECT COUNT(*) FROM sessions) s, (SELECT COUNT(*) FROM user_keys) k, (SELECT COUNT(*) FROM user_settings) us,
              (SELECT COUNT(*) FROM invoices) i`,
    );
    expect(counts).toEqual([{ u: '1000', a: '1500', e: '2000', s: '3000', k: '1500', us: '1000', i: '4000' }]);
    const [hard] = await conn.query(
      `SELECT SUM(display_name LIKE '%🦊%') emoji, SUM(display_name LIKE '%ü%') latin, SUM(HEX(password_hash) LIKE '%005C0A09%') bin,
              SUM(HEX(password_hash) LIKE '%00') trailing_zero, SUM(settings IS NULL) nulls, SUM(JSON_VALID(settings)) json,
              SUM(MICROSECOND(created_at) > 0) fractional FROM users`,
    );
    const h = (hard as Array<Record<string, string>>)[0]!;
    for (const key of ['emoji', 'latin', 'bin', 'trailing_zero', 'nulls', 'json', 'fractional']) expect(Number(h[key])).toBeGreaterThan(0);
    const [orphans] = await conn.query('SELECT COUNT(*) n FROM email_aliases e LEFT JOIN users u ON u.id = e.user_id WHERE u.id IS NULL');
    expect(orphans).toEqual([{ n: '0' }]);
  });
});
