import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCleaveError } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import { createSampleAccounts, useTestDatabases } from '@cleave/testing';
import { ArchiveDropApprovalRequiredError } from '../src/index.js';
import { openFixture } from './cutover-fixture.js';

describe('Cutover.dropArchive (real MariaDB: finalize, then drop the archived tables)', () => {
  const dbs = useTestDatabases('cutover drop archive');
  let fx: Awaited<ReturnType<typeof openFixture>>;

  beforeAll(async () => {
    await createSampleAccounts(await dbs().admin('source'));
    fx = await openFixture(dbs());
  });
  afterAll(async () => {
    await fx.close();
  });

  const tables = async () => {
    const [rows] = await fx.source.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [dbs().name]);
    return (rows as Array<{ t: string }>).map((r) => r.t);
  };

  it('is refused before finalize; after it lists, refuses without approval, drops exactly the archives with an event, and is idempotent', async () => {
    const m = await fx.readyMigration('drop-me');
    const c = fx.cutover();
    const early = await c.dropArchive(m.id, { approve: true }).catch((e: unknown) => e);
    expect(isCleaveError(early, 'PRECONDITION_FAILED')).toBe(true);
    expect((early as Error).message).toBe('migration drop-me is in phase dual_write: its archive can be dropped only after finalize');

    for (let i = 0; i < 3; i++) await c.change(m.id, { acceptUncapturedWrites: true }); // no router, no capture here
    await fx.cleanVerification(m.id); // after the primary moved
    await c.finalize(m.id, { approve: true, acceptUncapturedWrites: true });
    const db = dbs().name;
    // Look-alikes that must survive: a name this migration would use for a table it did not move,
    // another migration's archive, and a finalize record tampered to name a table it did not archive.
    const admin = await dbs().admin('source');
    await admin.query(`CREATE TABLE ${quoteIdentifier(db)}.\`_cleave_archived_drop-me_users\` (id INT PRIMARY KEY)`);
    await admin.query(`CREATE TABLE ${quoteIdentifier(db)}.\`_cleave_archived_other_sessions\` (id INT PRIMARY KEY)`);
    await fx.store.appendEvent(m.id, 'note', { actor: 'intruder' }, {
      cutover: 'archive',
      to: 'finalized',
      archived: [{ server: 'source', database: db, table: 'users', archive: '_cleave_archived_drop-me_users' }],
    });
    const archives = [
      { server: 'source', database: db, table: 'sessions', archive: '_cleave_archived_drop-me_sessions' },
      { server: 'source', database: db, table: 'user_keys', archive: '_cleave_archived_drop-me_user_keys' },
    ];

    const dry = await c.dropArchive('drop-me', { dryRun: true });
    expect(dry).toMatchObject({ outcome: 'dry-run', tables: archives, gone: [] });
    expect(dry.skipped).toEqual([expect.objectContaining({ archive: '_cleave_archived_drop-me_users', why: 'not an archive name of migration drop-me' })]);
    const eventsBefore = await fx.store.events(m.id);

    const refused = await c.dropArchive('drop-me').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ArchiveDropApprovalRequiredError);
    expect(isCleaveError(refused, 'APPROVAL_REQUIRED')).toBe(true);
    expect((refused as ArchiveDropApprovalRequiredError).tables).toEqual(archives);
    expect((refused as Error).message).toBe(
      `dropping the archive of migration drop-me is IRREVERSIBLE: it would drop source:${db}._cleave_archived_drop-me_sessions, source:${db}._cleave_archived_drop-me_user_keys; pass --approve to drop them`,
    );
    expect(await tables()).toContain('_cleave_archived_drop-me_sessions');
    expect(await fx.store.events(m.id)).toEqual(eventsBefore);

    const dropped = await c.dropArchive('drop-me', { approve: true, reason: 'space' });
    expect(dropped).toMatchObject({ outcome: 'dropped', tables: archives });
    const left = await tables();
    expect(left).not.toContain('_cleave_archived_drop-me_sessions');
    expect(left).not.toContain('_cleave_archived_drop-me_user_keys');
    expect(left).toEqual(expect.arrayContaining(['_cleave_archived_drop-me_users', '_cleave_archived_other_sessions', 'users', 'addresses']));
    const event = (await fx.store.events(m.id)).at(-1);
    expect(event).toMatchObject({ kind: 'note', actor: 'test', reason: 'space' });
    expect(event?.details).toMatchObject({ archive: 'dropped', tables: archives, servers: ['source'] });
    expect(Number(event?.details?.['token'])).toBe(await fx.store.coordinatorToken(m.id));

    const again = await c.dropArchive('drop-me', { approve: true });
    expect(again).toMatchObject({ outcome: 'nothing-to-drop', tables: [], gone: archives });
    expect((await fx.store.events(m.id)).filter((e) => e.details?.['archive'] === 'dropped')).toHaveLength(1);
    expect(await c.dropArchive('drop-me')).toMatchObject({ outcome: 'nothing-to-drop' }); // nothing to approve either
  });
});
