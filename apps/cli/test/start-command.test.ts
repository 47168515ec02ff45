import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { backfillUnits, parsePlan } from '@cleave/core';
import { ControlStore, RoutingChannel } from '@cleave/control';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { cleaveEnv as cliEnv, controlDatabase, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

describe('cleave start / status (real processes, real servers)', () => {
  const dbs = useTestDatabases('cli start');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-cli-'));
  const planFile = (name: string, plan: unknown) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, typeof plan === 'string' ? plan : JSON.stringify(plan));
    return file;
  };
  const plan = (name: string, moves: unknown[]) => ({
    version: 1,
    name,
    source: { server: 'source', database: dbs().name },
    targets: { mail: { server: 'target1', database: dbs().name } },
    moves,
  });

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
  });

  it('refuses an invalid plan with every problem by path, exit 2, nothing registered', async () => {
    const file = planFile('bad', { version: 1, name: 'Bad Name', source: { server: 'source', database: 'x' }, targets: {}, moves: [{ kind: 'tables', tables: ['users'], to: 'nowhere' }] });
    const run = await runCli(['start', file], cliEnv(dbs()));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name: must be 1 to 63 characters');
    expect(run.stderr).toContain('moves[0].to:');
    expect(run.stdout).toBe('');
  });

  it('refuses a plan that carries a foreign key across servers, naming the key, exit 3', async () => {
    const run = await runCli(['start', planFile('fk', plan('split-mail', [{ kind: 'tables', tables: ['email_aliases'], to: 'mail' }]))], cliEnv(dbs()));
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('foreign key email_aliases.fk_aliases_user (email_aliases -> users) would cross servers');
    const list = await runCli(['status', '--json'], cliEnv(dbs()));
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('says which server is not configured, without printing a password', async () => {
    const env = cliEnv(dbs());
    delete env['CLEAVE_SERVER_TARGET1'];
    const run = await runCli(['start', planFile('nocfg', plan('split-x', [{ kind: 'tables', tables: ['sessions'], to: 'mail' }]))], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no server named "target1" is configured');
    expect(run.stderr).toContain('hint: Set CLEAVE_SERVER_TARGET1=mysql://user:password@host:3306');
    expect(run.stderr).not.toContain(dbs().source.endpoint.password);
  });

  it('starts a migration: prints its id, status shows dual_write, the units and the event log', async () => {
    const file = planFile('ok', plan('split-sessions', [{ kind: 'tables', tables: ['sessions', 'user_keys'], to: 'mail' }]));
    const started = await runCli(['start', file, '--json'], cliEnv(dbs()));
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const { id, phase } = JSON.parse(started.stdout) as { id: string; phase: string };
    expect(phase).toBe('dual_write');
    // The target tables exist before the first dual write.
    const [created] = await (await dbs().admin('target1')).query(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('sessions', 'user_keys') ORDER BY 1",
    );
    expect(created).toEqual([{ t: 'sessions' }, { t: 'user_keys' }]);
    const status = await runCli(['status', id, '--json'], cliEnv(dbs()));
    const s = JSON.parse(status.stdout);
    expect(s.migration).toMatchObject({ id, name: 'split-sessions', phase: 'dual_write' });
    expect(s.backfill.tables.map((t: { table: string }) => t.table).sort()).toEqual(['sessions', 'user_keys']);
    expect(s.events.map((e: { kind: string }) => e.kind)).toEqual(['created', 'note', 'phase_change', 'backfill_started']);
    // The capture stream, aimed and not run yet (no worker): no lag and no bytes behind measured.
    expect(s.capture).toEqual([expect.objectContaining({ stream: 'forward', state: 'active', lagMs: null, behindBytes: null, changesApplied: 0 })]);
    expect(JSON.stringify(s)).not.toContain(dbs().source.endpoint.password);
    expect(s.routers).toEqual([]);
    // A router that registered and acknowledged the epoch shows up in the status.
    const redis = new Redis(dbs().redis.port, dbs().redis.host);
    const channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
    await channel.registerRouter({ routerId: 'r-1', service: 'accounts-api', host: 'app-3', pid: 1, startedAt: Date.now() }, 60_000);
    await channel.ack(id, 'r-1', { epoch: s.migration.epoch, fenceId: null, at: Date.now() });
    const text = await runCli(['status', 'split-sessions'], cliEnv(dbs()));
    await channel.deregisterRouter('r-1');
    await channel.close();
    redis.disconnect();
    expect(text.stdout).toMatch(/migration split-sessions \(id [0-9a-f]{12}\) {2}phase dual_write/);
    expect(text.stdout).toContain(`  r-1 (accounts-api on app-3)  epoch ${s.migration.epoch} (current)`);
    const again = await runCli(['start', file], cliEnv(dbs()));
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('a migration named "split-sessions" already exists');
    // The same tables under another name: refused before anything is created (routers follow one migration per table).
    const twin = await runCli(['start', planFile('twin', plan('split-sessions-twin', [{ kind: 'tables', tables: ['user_keys'], to: 'mail' }]))], cliEnv(dbs()));
    expect(twin.code).toBe(3);
    expect(twin.stderr).toContain(`plan split-sessions-twin moves tables of source/${dbs().name} that another migration already moves: split-sessions (id ${id}, phase dual_write: user_keys)`);
    expect(twin.stderr).toContain('hint: Finish that migration first (`cleave finalize split-sessions --approve`)');
    expect((await runCli(['status', 'split-sessions-twin'], cliEnv(dbs()))).code).toBe(4);
  });

  it('without capture, queues the copy once every live router writes both sides, and names a router that did not acknowledge in time', async () => {
    const redis = new Redis(dbs().redis.port, dbs().redis.host);
    const channel = new RoutingChannel({ redis, prefix: `${dbs().queuePrefix}:` });
    const router = (routerId: string) => ({ routerId, service: 'accounts-api', host: 'app-3', pid: 1, startedAt: Date.now() });
    await channel.registerRouter(router('r-acks'), 60_000);
    await channel.registerRouter(router('r-stuck'), 60_000);
    // One acknowledges every epoch it is told about (as @cleave/router does once it reloaded); the other never does.
    const unsubscribe = await channel.subscribe((message) => {
      if (message.type === 'epoch') void channel.ack(message.migrationId, 'r-acks', { epoch: message.epoch, fenceId: null, at: Date.now() });
    });
    try {
      const file = planFile('nocapture', plan('split-nocapture', [{ kind: 'tables', tables: ['invoices'], to: 'mail' }]));
      const run = await runCli(['start', file, '--no-capture', '--json'], cliEnv(dbs()));
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as { id: string; phase: string; lateRouters: string[] };
      expect(out).toMatchObject({ phase: 'dual_write', lateRouters: ['r-stuck'] });
      const s = JSON.parse((await runCli(['status', out.id, '--json'], cliEnv(dbs()))).stdout);
      const kinds = s.events.map((e: { kind: string; details?: Record<string, unknown> }) => `${e.kind}${e.details?.['lateRouters'] ? ` late ${String(e.details['lateRouters'])}` : ''}`);
      expect(kinds).toEqual(['created', 'note', 'note', 'phase_change', 'note late r-stuck', 'backfill_started']);
      expect((await channel.acks(out.id)).get('r-acks')).toMatchObject({ epoch: s.migration.epoch });
    } finally {
      await unsubscribe();
      for (const id of ['r-acks', 'r-stuck']) await channel.deregisterRouter(id);
      await channel.close();
      redis.disconnect();
    }
  });

  it('checks every server and Redis before it changes anything: exit 5 naming what is unreachable, nothing created', async () => {
    const twoTargets = (name: string) => ({
      ...plan(name, [
        { kind: 'tables', tables: ['addresses'], to: 'mail' },
        { kind: 'tables', tables: ['email_aliases'], to: 'aliases' },
      ]),
      targets: { mail: { server: 'target1', database: dbs().name }, aliases: { server: 'target2', database: dbs().name } },
    });
    const noRedis = await runCli(['start', planFile('noredis', twoTargets('split-noredis'))], { ...cliEnv(dbs()), CLEAVE_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis.code).toBe(5);
    expect(noRedis.stderr).toContain('cannot reach Redis at 127.0.0.1:1');
    const env = cliEnv(dbs());
    const noTarget2 = await runCli(['start', planFile('notarget2', twoTargets('split-notarget2'))], { ...env, CLEAVE_SERVER_TARGET2: env['CLEAVE_SERVER_TARGET2']!.replace(/:(\d+)(\/|$)/, ':1$2') });
    expect(noTarget2.code).toBe(5);
    expect(noTarget2.stderr).toContain('cannot reach server target2');
    expect(noTarget2.stderr).not.toContain(dbs().source.endpoint.password);
    for (const name of ['split-noredis', 'split-notarget2']) expect((await runCli(['status', name], cliEnv(dbs()))).code).toBe(4);
    const [created] = await (await dbs().admin('target1')).query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'addresses'");
    expect(created).toEqual([]);
  });

  it('a start that stopped after dual_write and before queuing the copy is resumed by running it again', async () => {
    await (await dbs().admin('source')).query('CREATE TABLE resume_items (id INT UNSIGNED NOT NULL PRIMARY KEY, note VARCHAR(20) NULL)');
    const p = parsePlan(plan('split-resume', [{ kind: 'tables', tables: ['resume_items'], to: 'mail' }]));
    const file = planFile('resume', p);
    // What such a start leaves (the same store calls, in the same order): dual_write, tables registered, no job queued.
    const pools = new MysqlPools({ maxConnectionsPerServer: 2 });
    try {
      const store = await ControlStore.open({ pool: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 2 }).promise, database: controlDatabase(dbs()) });
      const created = await store.createMigration(p, { actor: 'test' });
      for (const u of backfillUnits(p)) await store.registerBackfillTable(created.id, u.id, u.targetName, 0);
      await store.changePhase(created.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
      const run = await runCli(['start', file, '--json'], cliEnv(dbs()));
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ id: created.id, phase: 'dual_write', resumed: true });
      expect((await store.events(created.id)).map((ev) => ev.kind)).toEqual(['created', 'phase_change', 'backfill_started']);
      // Once queued, a further run is refused as before.
      const again = await runCli(['start', file], cliEnv(dbs()));
      expect(again.code).toBe(3);
      expect(again.stderr).toContain('a migration named "split-resume" already exists');
    } finally {
      await pools.end();
    }
  });

  it('refuses a target table whose definition differs, with the difference, before registering anything', async () => {
    await (await dbs().admin('target1')).query('CREATE TABLE user_settings (user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY, locale CHAR(2) NULL)');
    const run = await runCli(['start', planFile('differs', plan('split-settings', [{ kind: 'tables', tables: ['user_settings'], to: 'mail' }]))], cliEnv(dbs()));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('user_settings');
    expect(run.stderr).toMatch(/differ/);
    const list = await runCli(['status', 'split-settings', '--json'], cliEnv(dbs()));
    expect(list.code).toBe(4); // nothing registered
  });

  it('unknown migration: exit 4', async () => {
    const run = await runCli(['status', 'nope'], cliEnv(dbs()));
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('no migration with id or name "nope"');
  });
});
