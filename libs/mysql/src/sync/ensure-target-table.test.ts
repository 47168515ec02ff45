import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTargetTable } from './ensure-target-table.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

describe('ensureTargetTable', () => {
  const dbs = useTestDatabases('ensuretbl');
  let fx: SyncFixture;
  let database: string;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    database = dbs().source.database;
    await fx.sourceAdmin.query(`
      CREATE TABLE users (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL, UNIQUE KEY uk_email (email)) AUTO_INCREMENT=500;
      CREATE TABLE addresses (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        user_id BIGINT UNSIGNED NOT NULL,
        line1 VARCHAR(200) NOT NULL,
        total DECIMAL(10,2) AS (id * 2) VIRTUAL,
        KEY idx_user (user_id),
        CONSTRAINT fk_addresses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      );
    `);
  });
  afterAll(async () => {
    await fx.end();
  });

  const ensure = (table: string, targetTable = table, dropForeignKeys: string[] = []) =>
    ensureTargetTable({
      source: fx.source,
      target: fx.target,
      sourceTable: { database, table },
      targetTable: { database, table: targetTable },
      dropForeignKeys,
    });
  const showCreate = async (table: string): Promise<string> => {
    const [rows] = await fx.targetAdmin.query({ sql: `SHOW CREATE TABLE \`${table}\``, rowsAsArray: true });
    return (rows as string[][])[0]![1]!;
  };

  it('creates the table from the source definition, then accepts it as identical', async () => {
    expect(await ensure('users')).toBe('created');
    expect(await showCreate('users')).toContain('AUTO_INCREMENT=500');
    await fx.targetAdmin.query(`INSERT INTO users (id, email) VALUES (9000, 'x')`); // moves the counter
    expect(await ensure('users')).toBe('exists');
  });

  it('drops the named foreign keys on the target and refuses unknown names', async () => {
    await expect(ensure('addresses', 'addresses', ['fk_nope'])).rejects.toThrow(
      `Table ${database}.addresses has no foreign key named "fk_nope" to drop on the target.`,
    );
    expect(await ensure('addresses', 'addresses', ['fk_addresses_user'])).toBe('created');
    const created = await showCreate('addresses');
    expect(created).not.toContain('FOREIGN KEY');
    expect(created).toContain('KEY `idx_user` (`user_id`)');
    expect(created).toContain('VIRTUAL');
    expect(await ensure('addresses', 'addresses', ['fk_addresses_user'])).toBe('exists');
  });

  it('refuses an existing table whose definition differs, with a diff naming the column', async () => {
    await fx.targetAdmin.query(
      'CREATE TABLE users_copy (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL, UNIQUE KEY uk_email (email))',
    );
    const error = await ensure('users', 'users_copy').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_TABLE_DIFFERS' });
    expect((error as Error).message).toBe(
      `Target table \`${database}\`.\`users_copy\` already exists with a definition that differs from source table \`${database}\`.\`users\`; cleave never copies into it.\n` +
        '--- source\n+++ target\n' +
        '- `email` varchar(255) NOT NULL\n' +
        '+ `email` varchar(100) NOT NULL',
    );
  });
});
