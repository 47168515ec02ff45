import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePlan } from '@cleave/core';
import { cleaveEnv, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

const SLOW_LOG = (db: string) => {
  const entry = (sql: string, time: number) => `# Time: 251125 23:00:00\n# User@Host: app[app] @ localhost []\n# Thread_id: 7  Schema: ${db}  QC_hit: No\n# Query_time: ${time}  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 1\n# Rows_affected: 0  Bytes_sent: 90\nSET timestamp=1764111600;\n${sql};\n`;
  const out: string[] = [`/usr/sbin/mariadbd, Version: 10.11.14-MariaDB (Debian). started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime                Id Command  Argument\nuse ${db};\n`];
  for (let i = 0; i < 80; i += 1) out.push(entry(`SELECT * FROM sessions WHERE token_hash = 0x${(1000 + i).toString(16)}`, 0.004));
  for (let i = 0; i < 20; i += 1) out.push(entry(`SELECT u.email FROM users u JOIN addresses a ON a.user_id = u.id WHERE u.id = ${i}`, 0.002));
  out.push(entry('SELEKT broken FROM users', 0.001));
  return out.join('');
};

const GENERAL_LOG = (db: string) => {
  const out: string[] = [
    '/usr/sbin/mariadbd, Version: 10.11.14-MariaDB (Debian). started with:',
    'Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock',
    'Time\t\t    Id Command\tArgument',
    `251125 23:00:00\t    7 Connect\tapp@localhost on ${db} using Socket`,
  ];
  const q = (sql: string) => out.push(`\t\t    7 Query\t${sql}`);
  for (let i = 0; i < 50; i += 1) {
    q('BEGIN');
    q(`UPDATE sessions SET expires_at = NOW() WHERE id = ${i}`);
    q(`UPDATE user_settings SET updated_at = NOW() WHERE user_id = ${i}`);
    q('COMMIT');
  }
  for (let i = 0; i < 100; i += 1) q(`SELECT * FROM invoices WHERE user_id = ${i % 7}`);
  out.push('\t\t    7 Quit\t');
  return out.join('\n') + '\n';
};

describe('cleave plan (real processes, real servers)', () => {
  const dbs = useTestDatabases('cli plan');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-plan-'));
  const out = (name: string) => path.join(dir, `${name}.json`);

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    writeFileSync(path.join(dir, 'slow.log'), SLOW_LOG(dbs().name));
    writeFileSync(path.join(dir, 'general.log'), GENERAL_LOG(dbs().name));
  });

  it('writes a known split without a workload: validated plan, report per server', async () => {
    const run = await runCli(['plan', '-d', dbs().name, '--move', 'users,addresses,email_aliases', '--to', 'target1', '-o', out('known')], cleaveEnv(dbs()));
    expect(run.stderr).not.toContain('cleave:');
    expect(run.code).toBe(0);
    const plan = parsePlan(JSON.parse(readFileSync(out('known'), 'utf8')));
    expect(plan.moves).toEqual([{ kind: 'tables', tables: ['addresses', 'email_aliases', 'users'], to: 'target1' }]);
    expect(plan.targets).toEqual({ target1: { server: 'target1', database: dbs().name } });
    expect(run.stdout).toContain('workload: none (known split; no load prediction)');
    expect(run.stdout).toContain(`target target1  target1/${dbs().name}`);
    expect(run.stdout).toContain('tables: addresses, email_aliases, users');
    expect(run.stdout).toContain(`next: cleave start ${out('known')}`);
  });

  it('refuses a known split that separates foreign-key-connected tables, naming the key; --allow-fk-split drops it', async () => {
    const refused = await runCli(['plan', '-d', dbs().name, '--move', 'users,addresses', '--to', 'target1', '-o', out('fk')], cleaveEnv(dbs()));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(
      'cleave: this split carries foreign key across servers: email_aliases.fk_aliases_user\n' +
        'hint: Move the connected tables together, or pass --allow-fk-split to drop these keys on the target (the source keeps them until finalize).\n',
    );
    const allowed = await runCli(['plan', '-d', dbs().name, '--move', 'users,addresses', '--to', 'target1', '--allow-fk-split', '-o', out('fk'), '--json'], cleaveEnv(dbs()));
    expect(allowed.code).toBe(0);
    const json = JSON.parse(allowed.stdout);
    expect(json.plan.moves[0].droppedForeignKeys).toEqual([{ table: 'email_aliases', name: 'fk_aliases_user' }]);
    expect(json.droppedForeignKeys).toEqual([{ table: 'email_aliases', name: 'fk_aliases_user' }]);
  });

  it('writes a shard spec as the same kind of validated plan', async () => {
    const run = await runCli(['plan', '-d', dbs().name, '--shard', 'sessions.id:target1,target2', '--workload', 'none', '-o', out('shard'), '--json'], cleaveEnv(dbs()));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = parsePlan(JSON.parse(readFileSync(out('shard'), 'utf8')));
    expect(plan.moves[0]).toMatchObject({ kind: 'shard', table: 'sessions', key: { column: 'id', type: 'integer' } });
  });

  it('plans from a slow log: report lists shares, broken statements none, and the statement the parser refused', async () => {
    const run = await runCli(['plan', '-d', dbs().name, '--slow-log', path.join(dir, 'slow.log'), '--target', 'target1', '--allow-thin-workload', '-o', out('slow')], cleaveEnv(dbs()));
    expect(run.code).toBe(0);
    const plan = parsePlan(JSON.parse(readFileSync(out('slow'), 'utf8')));
    expect(plan.moves).toEqual([{ kind: 'tables', tables: ['sessions'], to: 'target1' }]);
    expect(run.stdout).toContain('workload: slow-log, 3 statements, 101 executions');
    expect(run.stdout).toContain('statements broken by the split: none');
    expect(run.stdout).toContain('statements the SQL parser refused: 1');
    expect(run.stdout).toMatch(/source load removed: \d+\.\d%/);
  });

  it('plans from a general log: statements of one transaction stay together; a split that parts them lists the transaction', async () => {
    const computed = await runCli(['plan', '-d', dbs().name, '--general-log', path.join(dir, 'general.log'), '--target', 'target1', '--allow-thin-workload', '-o', out('general')], cleaveEnv(dbs()));
    expect(computed.stderr).not.toContain('cleave:');
    expect(computed.code).toBe(0);
    expect(computed.stdout).toContain('workload: general-log, 3 statements, 200 executions (no timings: time shares follow executions)');
    const plan = parsePlan(JSON.parse(readFileSync(out('general'), 'utf8')));
    const moved = plan.moves.flatMap((m) => (m.kind === 'tables' ? m.tables : []));
    // co-access through the transaction: sessions and user_settings land on one server
    expect(moved.includes('sessions')).toBe(moved.includes('user_settings'));
    expect(computed.stdout).toContain('statements broken by the split: none');

    const parted = await runCli(['plan', '-d', dbs().name, '--general-log', path.join(dir, 'general.log'), '--move', 'sessions', '--to', 'target1', '-o', out('general-parted')], cleaveEnv(dbs()));
    expect(parted.code).toBe(0);
    expect(parted.stdout).toMatch(/statements broken by the split: 1 \(50 executions\)/);
    expect(parted.stdout).toMatch(/50x {2}cross-server-transaction {2}\[sessions, user_settings\]/);
  });

  it('--window reads two performance_schema snapshots that far apart', async () => {
    const started = Date.now();
    const run = await runCli(['plan', '-d', dbs().name, '--target', 'target1', '--window', '1'], cleaveEnv(dbs()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // nothing ran in the window: the diff is empty, and said so
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('cleave: empty workload: performance_schema holds no statement digests');
    const badWindow = await runCli(['plan', '-d', dbs().name, '--target', 'target1', '--window', 'soon'], cleaveEnv(dbs()));
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr).toContain('--window');
  });

  it('bad input: unknown table, impossible capacity, empty workload, unreachable server', async () => {
    const unknown = await runCli(['plan', '-d', dbs().name, '--target', 'target1', '--keep', 'usrs', '--slow-log', path.join(dir, 'slow.log')], cleaveEnv(dbs()));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      `cleave: unknown table "usrs" in the tables to keep on the source: database "${dbs().name}" has no such base table\n` +
        'hint: Tables of ' + dbs().name + ': addresses, email_aliases, invoices, sessions, user_keys, user_settings, users.\n',
    );
    const capacity = await runCli(['plan', '-d', dbs().name, '--target', 'target1', '--target', 'target2', '--capacity', '0.1', '--allow-thin-workload', '--slow-log', path.join(dir, 'slow.log')], cleaveEnv(dbs()));
    expect(capacity.code).toBe(2);
    expect(capacity.stderr).toMatch(/^cleave: capacity 0\.1 is impossible: table sessions alone carries \d+\.\d% of today's load\n/);
    expect(capacity.stderr).toContain('hint: Raise --capacity, add targets (--target NAME=SERVER), shard the heavy table (--shard TABLE), or allow foreign-key-connected tables to split (--allow-fk-split).');
    const empty = await runCli(['plan', '-d', dbs().name, '--target', 'target1'], cleaveEnv(dbs()));
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain(`cleave: empty workload: performance_schema holds no statement digests on tables of database "${dbs().name}"\n`);
    expect(empty.stderr).toContain('hint: Let the application run against the source first');
    const env = cleaveEnv(dbs(), { CLEAVE_SERVER_SOURCE: 'mysql://cleave:secret@127.0.0.1:1' });
    const down = await runCli(['plan', '-d', dbs().name, '--target', 'target1'], env);
    expect(down.code).toBe(5);
    expect(down.stderr).toContain(`cleave: cannot reach server "source" to read database "${dbs().name}": connect ECONNREFUSED 127.0.0.1:1\n`);
    expect(down.stderr).toContain('hint: Check that server "source" is up');
    expect(down.stderr).not.toContain('secret');
  }, 300_000); // five runs of the CLI, each allowed 60 s
});
