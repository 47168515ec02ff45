import { beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { isCleaveError, parsePlan, type PlanInput } from '@cleave/core';
import { readCatalog, type Catalog } from '@cleave/mysql';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { preflightPlan } from './plan-preflight.js';

describe('preflightPlan', () => {
  const dbs = useTestDatabases('preflight');
  let catalog: Catalog;
  const plan = (moves: PlanInput['moves']) =>
    parsePlan({ version: 1, name: 'p', source: { server: 'source', database: dbs().name }, targets: { mail: { server: 'target1', database: 'mail' } }, moves });

  beforeAll(async () => {
    const admin = await dbs().admin('source');
    await createSampleAccounts(admin);
    await admin.query('CREATE TABLE keyless (a INT NULL, b INT NULL, UNIQUE KEY (a))');
    const e = dbs().source.endpoint;
    const conn = await mysql.createConnection({ host: e.host, port: e.port, user: e.user, password: e.password });
    catalog = await readCatalog(conn, dbs().name);
    await conn.end();
  });

  it('accepts tables that move with everything their foreign keys connect', () => {
    expect(() => preflightPlan(plan([{ kind: 'tables', tables: ['users', 'addresses', 'email_aliases'], to: 'mail' }]), catalog)).not.toThrow();
    expect(() => preflightPlan(plan([{ kind: 'tables', tables: ['sessions', 'user_keys'], to: 'mail' }]), catalog)).not.toThrow();
  });

  it('refuses a split that carries a foreign key across servers, naming the key and how to drop it', () => {
    const error = (() => {
      try {
        preflightPlan(plan([{ kind: 'tables', tables: ['email_aliases'], to: 'mail' }]), catalog);
      } catch (e) {
        return e;
      }
    })();
    expect(isCleaveError(error, 'FOREIGN_KEY_CROSSES_SERVERS')).toBe(true);
    expect((error as Error).message).toBe(
      `plan "p" does not fit the source database:\n- foreign key email_aliases.fk_aliases_user (email_aliases -> users) would cross servers after this split: ` +
        `name it in the move's "droppedForeignKeys" as { "table": "email_aliases", "name": "fk_aliases_user" } to drop it on the target (the source keeps it until finalize)`,
    );
    expect(() =>
      preflightPlan(plan([{ kind: 'tables', tables: ['email_aliases'], to: 'mail', droppedForeignKeys: [{ table: 'email_aliases', name: 'fk_aliases_user' }] }]), catalog),
    ).not.toThrow();
  });

  it('a parent moving away from its children also crosses; two crossing keys keep the specific code', () => {
    const error = (() => {
      try {
        preflightPlan(plan([{ kind: 'tables', tables: ['users'], to: 'mail' }]), catalog);
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(error?.message).toMatch(/foreign key addresses\.fk_addresses_user .*\n- foreign key email_aliases\.fk_aliases_user/);
    expect(error?.code).toBe('FOREIGN_KEY_CROSSES_SERVERS');
  });

  it('lists every problem at once: unknown table, keyless table, unknown shard column', () => {
    expect(() =>
      preflightPlan(
        plan([
          { kind: 'tables', tables: ['nope', 'keyless'], to: 'mail' },
          { kind: 'shard', table: 'sessions', key: { column: 'nobody', type: 'integer' }, ranges: [{ from: null, to: null, target: 'mail' }] },
        ]),
        catalog,
      ),
    ).toThrow(
      new RegExp(
        `table "nope" does not exist in database "${dbs().name}" on server "source"\\n- .*keyless.*\\n- shard key column "nobody" does not exist in table "sessions"`,
      ),
    );
  });
});
