import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Kysely } from 'kysely';
import mysql from 'mysql2/promise';
import type { Plan } from '@cleave/core';
import { ControlStore, type MigrationRecord } from '@cleave/control';
import { MysqlPools, parseConnectionUrl, readCatalog, tableShape } from '@cleave/mysql';
import { CleaveDialect, type RouterPool } from '@cleave/router';
import { controlDatabase, createSampleAccounts, ensureBinaries, servicesConfig, startMariadb, stopMariadb, useTestDatabases, type ServicesConfig } from '@cleave/testing';
import { repairShadowFailures, verifyTable } from '@cleave/verify';

interface DB {
  users: { id?: string; email: string; display_name: string; password_hash: Buffer; created_at: string; storage_used?: number };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shadow outage: the shadow mariadbd stops during dual writes (private instance)', () => {
  const dbs = useTestDatabases('routage');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-outage-'));
  let config: ServicesConfig;
  let shadowUrl: string;
  let pools: MysqlPools;
  let store: ControlStore;

  beforeAll(async () => {
    const env = {
      CLEAVE_SERVICES_DIR: dir,
      CLEAVE_SOURCE_PORT: String(await freePort()),
      CLEAVE_TARGET1_PORT: String(await freePort()),
      CLEAVE_TARGET2_PORT: String(await freePort()),
      CLEAVE_REDIS_PORT: String(await freePort()),
    };
    config = servicesConfig(env);
    await startMariadb(ensureBinaries(process.env, () => undefined), config, config.mariadb[1]!);
    const admin = await mysql.createConnection({ host: config.host, port: config.mariadb[1]!.port, user: config.user, password: config.password, multipleStatements: true });
    try {
      await admin.query(`CREATE DATABASE \`${dbs().name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
      await admin.query(`USE \`${dbs().name}\``);
      await createSampleAccounts(admin);
    } finally {
      await admin.end();
    }
    await createSampleAccounts(await dbs().admin('source'));
    shadowUrl = `mysql://${config.user}:${encodeURIComponent(config.password)}@${config.host}:${config.mariadb[1]!.port}/${dbs().name}`;
    pools = new MysqlPools({ maxConnectionsPerServer: 20 });
    store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url)).promise, database: controlDatabase(dbs()) });
  }, 180_000);

  afterAll(async () => {
    await pools?.end();
    if (config !== undefined) await stopMariadb(config.mariadb[1]!);
    rmSync(dir, { recursive: true, force: true });
  });

  it('callers see no error while it is down; the recorded failures are repaired after it restarts and verification is clean', async () => {
    const plan = {
      version: 1,
      name: 'outage',
      source: { server: 'source', database: dbs().name },
      targets: { shadowdb: { server: 'shadow', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['users'], to: 'shadowdb' }],
    } as Plan;
    let m: MigrationRecord = await store.createMigration(plan, { actor: 'test' });
    m = await store.changePhase(m.id, { from: 'planned', to: 'dual_write', expectedEpoch: m.epoch }, { actor: 'test' });
    const sourcePool = pools.pool(parseConnectionUrl(dbs().source.url));
    const shadowPool = pools.pool(parseConnectionUrl(shadowUrl));
    const db = new Kysely<DB>({
      dialect: new CleaveDialect({
        servers: { source: sourcePool.callback as unknown as RouterPool, shadow: shadowPool.callback as unknown as RouterPool },
        store,
        failures: store,
        journalPath: path.join(dir, 'journal.jsonl'),
      }),
    });
    const errors: string[] = [];
    let writes = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        try {
          const email = `w${w}-${n}@example.com`;
          await db.insertInto('users').values({ email, display_name: `w${w}`, password_hash: Buffer.from(email), created_at: '2024-01-01 00:00:00' }).execute();
          if (n > 0) await db.updateTable('users').set({ storage_used: n }).where('email', '=', `w${w}-${n - 1}@example.com`).execute();
          if (n % 7 === 3) await db.deleteFrom('users').where('email', '=', `w${w}-${n - 3}@example.com`).execute();
          writes += 1;
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    };
    const running = [0, 1, 2, 3].map(writer);
    try {
      await sleep(800);
      const beforeOutage = writes;
      await stopMariadb(config.mariadb[1]!);
      await sleep(2_500); // longer than the router's default shadow timeout (2 s)
      const duringOutage = writes - beforeOutage;
      await startMariadb(ensureBinaries(process.env, () => undefined), config, config.mariadb[1]!);
      await sleep(800);
      stop = true;
      await Promise.all(running);
      expect(errors).toEqual([]);
      expect(duringOutage).toBeGreaterThan(0);
    } finally {
      stop = true;
      await Promise.all(running);
      await db.destroy();
    }
    // Failures were recorded durably (in the control store; the journal drained into it).
    const open = await store.openShadowFailures(m.id, 100_000);
    expect(open.length).toBeGreaterThan(0);

    const servers = (name: string) => (name === 'shadow' ? shadowPool.promise : sourcePool.promise) as unknown as mysql.Pool;
    const catalog = await readCatalog(sourcePool.promise, dbs().name, { tables: ['users'] });
    const verify = () =>
      verifyTable({
        source: sourcePool.promise,
        target: shadowPool.promise,
        sourceShape: tableShape(catalog.tables[0]!, dbs().name),
        targetTable: { database: dbs().name, table: 'users' },
        repair: false,
        maxPasses: 1,
      });
    // The outage left the shadow behind: the check finds it.
    expect((await verify()).clean).toBe(false);
    const report = await repairShadowFailures(m.id, { store, servers });
    expect(report).toMatchObject({ failed: 0, skipped: 0, errors: [] });
    expect(report.repaired).toBeGreaterThanOrEqual(open.length);
    expect(await store.openShadowFailures(m.id)).toEqual([]);
    const verification = await verify();
    expect(verification).toMatchObject({ clean: true, rowsDiffering: 0 });
    console.log(`shadow outage: ${writes} caller writes, 0 errors, ${open.length} failures recorded, ${report.keys} keys repaired, verification clean over ${verification.rowsChecked} rows`);
  });
});
