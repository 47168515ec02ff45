import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { parsePlan, type MigrationPhase } from '@cleave/core';
import { ControlStore } from '@cleave/control';
import { cleaveEnv, controlDatabase, createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { runCli } from './run-cli.js';

describe('cleave drop-archive (real processes, real servers)', () => {
  const dbs = useTestDatabases('cli drop archive');
  let pool: mysql.Pool;
  let store: ControlStore;
  let id = '';
  const env = () => cleaveEnv(dbs(), { CLEAVE_COORDINATOR_LEASE_MS: '1000' });
  const cli = async (...args: string[]) => {
    const r = await runCli(args, env());
    return { ...r, stdout: r.stdout.replaceAll(dbs().name, '<db>') };
  };
  const tables = async () => {
    const [rows] = await pool.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [dbs().name]);
    return (rows as Array<{ t: string }>).map((r) => r.t);
  };

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    const e = dbs().source.endpoint;
    pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2, timezone: 'Z' });
    store = await ControlStore.open({ pool, database: controlDatabase(dbs()) });
    const plan = parsePlan({
      version: 1,
      name: 'split-old',
      source: { server: 'source', database: dbs().name },
      targets: { keys: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['user_keys', 'sessions'], to: 'keys' }],
    });
    id = (await store.createMigration(plan, { actor: 'test' })).id;
    const walk: MigrationPhase[] = ['planned', 'dual_write', 'verified', 'reads_switched', 'writes_switched'];
    for (let i = 1; i < walk.length; i++) await store.changePhase(id, { from: walk[i - 1]!, to: walk[i]! }, { actor: 'test' });
    const run = await store.startVerificationRun(id); // finalize needs a clean pass against the new primary
    await store.finishVerificationRun(run, { passes: 1, chunks: 1, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: true });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('has --help with an example', async () => {
    const help = await cli('drop-archive', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('IRREVERSIBLE: drop the _cleave_archived_* tables');
    expect(help.stdout).toContain('cleave drop-archive split-mail --approve');
  });

  it('refuses a migration that is not finalized (exit 3) and an unknown one (exit 4)', async () => {
    const early = await cli('drop-archive', 'split-old', '--approve');
    expect(early.code).toBe(3);
    expect(early.stderr).toContain('migration split-old is in phase writes_switched: its archive can be dropped only after finalize');
    expect(early.stderr).toContain('cleave finalize split-old --approve');
    expect((await cli('drop-archive', 'no-such-migration', '--approve')).code).toBe(4);
  });

  it('after finalize: without --approve lists and refuses (exit 3); --dry-run lists; --approve drops and records; a re-run has nothing to drop', async () => {
    expect((await cli('finalize', 'split-old', '--approve', '--accept-uncaptured-writes')).code).toBe(0);
    const refused = await cli('drop-archive', 'split-old');
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe(
      [
        'migration split-old: drop-archive would drop 2 archived tables:',
        '  source:<db>._cleave_archived_split-old_sessions  (archive of <db>.sessions)',
        '  source:<db>._cleave_archived_split-old_user_keys  (archive of <db>.user_keys)',
        'REFUSED: dropping them is IRREVERSIBLE; pass --approve to drop them',
        '',
      ].join('\n'),
    );
    const refusedJson = await cli('--json', 'drop-archive', 'split-old');
    expect(refusedJson.code).toBe(3);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({ outcome: 'refused', code: 'APPROVAL_REQUIRED', tables: [{ table: 'sessions' }, { table: 'user_keys' }] });
    const dry = await cli('drop-archive', 'split-old', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: migration split-old: would drop 2 archived tables (needs --approve):');
    expect(await tables()).toEqual(expect.arrayContaining(['_cleave_archived_split-old_sessions', '_cleave_archived_split-old_user_keys']));

    const dropped = await cli('--json', 'drop-archive', 'split-old', '--approve');
    expect(dropped.code).toBe(0);
    expect(JSON.parse(dropped.stdout)).toMatchObject({
      outcome: 'dropped',
      name: 'split-old',
      tables: [
        { server: 'source', table: 'sessions', archive: '_cleave_archived_split-old_sessions' },
        { server: 'source', table: 'user_keys', archive: '_cleave_archived_split-old_user_keys' },
      ],
    });
    const left = await tables();
    expect(left.filter((t) => t.startsWith('_cleave_archived_'))).toEqual([]);
    expect(left).toContain('users');
    const event = (await store.events(id)).at(-1);
    expect(event).toMatchObject({ kind: 'note', reason: 'cleave drop-archive --approve' });
    expect(event?.actor).toMatch(/^cli:/);
    expect(event?.details).toMatchObject({ archive: 'dropped', servers: ['source'] });

    const again = await cli('drop-archive', 'split-old', '--approve');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('migration split-old: nothing left to drop');
    expect(again.stdout).toContain('already dropped: source:<db>._cleave_archived_split-old_sessions, source:<db>._cleave_archived_split-old_user_keys');
  });
});
