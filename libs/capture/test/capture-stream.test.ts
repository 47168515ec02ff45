import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabases } from '@cleave/testing';
import { syncKeyRange, readCatalog, tableShape } from '@cleave/mysql';
import { FORWARD_STREAM, type MigrationRecord } from '@cleave/control';
import { parsePlan, type PlanInput } from '@cleave/core';
import { streamPlan } from '../src/stream-plan.js';
import { captureFixture } from './capture-fixture.js';

const dbs = useTestDatabases('capture');
let fx: Awaited<ReturnType<typeof captureFixture>>;

beforeAll(async () => {
  fx = await captureFixture(dbs());
});
afterAll(async () => {
  await fx?.close();
});

/** Runs the same DDL on the source and target1. */
async function createOnBoth(ddl: string, servers: ReadonlyArray<'source' | 'target1' | 'target2'> = ['source', 'target1']): Promise<void> {
  for (const server of servers) await (await dbs().admin(server)).query(ddl);
}

/** Copies a table as the backfill does (one locked range sync, under the migration's guard epoch). */
async function copy(table: string, m: MigrationRecord, target: 'target1' | 'target2' = 'target1'): Promise<void> {
  const catalog = await readCatalog(fx.servers('source'), dbs().name, { tables: [table] });
  await syncKeyRange({
    source: fx.servers('source'),
    target: fx.servers(target),
    sourceShape: tableShape(catalog.tables[0]!, dbs().name),
    targetTable: { database: dbs().name, table },
    bounds: { lower: null, upper: null },
    options: { guard: { migrationId: m.id, epoch: m.guardEpoch } },
  });
}

describe('binlog capture', () => {
  it('decodes as text only the temporal types whose values it reads: keys, shard columns, cascading foreign keys', async () => {
    const source = await dbs().admin('source');
    await source.query('CREATE TABLE tp_events (at DATETIME(6) NOT NULL PRIMARY KEY, seen TIMESTAMP(3) NOT NULL, day DATE NULL)');
    await source.query('CREATE TABLE tp_days (day DATE NOT NULL PRIMARY KEY, note TIMESTAMP NULL)');
    await source.query('CREATE TABLE tp_bookings (id INT NOT NULL PRIMARY KEY, day DATE NOT NULL, made DATETIME NOT NULL, CONSTRAINT fk_tp_day FOREIGN KEY (day) REFERENCES tp_days (day) ON DELETE CASCADE)');
    await source.query('CREATE TABLE tp_plain (id INT NOT NULL PRIMARY KEY, made DATETIME(6) NOT NULL, seen TIMESTAMP NULL)');
    const catalogs = new Map([[dbs().name, await readCatalog(source, dbs().name)]]);
    const typesRead = (moves: PlanInput['moves']) =>
      streamPlan(parsePlan({ version: 1, name: 'tp', source: { server: 'source', database: dbs().name }, targets: { t1: { server: 'target1', database: dbs().name } }, moves }), FORWARD_STREAM, catalogs).temporalTypesRead;

    expect(typesRead([{ kind: 'tables', tables: ['tp_plain'], to: 't1' }])).toEqual([]);
    expect(typesRead([{ kind: 'tables', tables: ['tp_events'], to: 't1' }])).toEqual(['DATETIME']);
    // tp_days stays: a change of its key cascades to the moved bookings, whose foreign key is a DATE.
    expect(typesRead([{ kind: 'tables', tables: ['tp_bookings'], to: 't1', droppedForeignKeys: [{ table: 'tp_bookings', name: 'fk_tp_day' }] }])).toEqual(['DATE']);
    expect(typesRead([{ kind: 'tables', tables: ['tp_plain', 'tp_events'], to: 't1' }])).toEqual(['DATETIME']);
  });

  it('brings over what writers outside the router do during a copy: plain statements, multi-table UPDATE, ODKU, REPLACE, a trigger, an EVENT, a cascade', async () => {
    const source = await dbs().admin('source');
    // users stays on the source; its children move, with the foreign key dropped on the target.
    await source.query('CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL)');
    await createOnBoth(`CREATE TABLE accounts (id INT PRIMARY KEY, user_id INT NOT NULL, email VARCHAR(100) NOT NULL, n INT NOT NULL DEFAULT 0, UNIQUE KEY uk_email (email))`);
    await createOnBoth('CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL, what VARCHAR(20) NOT NULL)');
    await source.query('ALTER TABLE accounts ADD CONSTRAINT fk_accounts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE');
    await source.query(`CREATE TRIGGER accounts_audit AFTER INSERT ON accounts FOR EACH ROW INSERT INTO audit (account_id, what) VALUES (NEW.id, 'insert')`);
    await source.query('INSERT INTO users SELECT seq, CONCAT("u", seq) FROM seq_1_to_400');
    await source.query('INSERT INTO accounts (id, user_id, email) SELECT seq, seq, CONCAT("a", seq, "@x") FROM seq_1_to_300');

    const m = await fx.migration('bypass', [{ kind: 'tables', tables: ['accounts', 'audit'], to: 't1', droppedForeignKeys: [{ table: 'accounts', name: 'fk_accounts_user' }] }]);
    const stream = fx.start(m);
    // Writers that no router sees, while the copy runs.
    const writers = (async () => {
      for (let i = 0; i < 40; i += 1) {
        await source.query(`INSERT INTO accounts (id, user_id, email) VALUES (${1000 + i}, ${300 + i}, 'new${i}@x')`);
        await source.query(`UPDATE accounts SET n = n + 1 WHERE id = ${1 + (i % 50)}`);
        await source.query(`DELETE FROM accounts WHERE id = ${200 + i}`);
        await source.query(`UPDATE accounts a JOIN users u ON u.id = a.user_id SET a.n = a.n + 10, u.email = CONCAT(u.email, '!') WHERE a.id = ${60 + i}`);
        await source.query(`INSERT INTO accounts (id, user_id, email) VALUES (${2000 + i}, 1, 'a${100 + i}@x') ON DUPLICATE KEY UPDATE n = n + 100`);
        await source.query(`REPLACE INTO accounts (id, user_id, email, n) VALUES (${150 + i}, 2, 'replaced${i}@x', 7)`);
        if (i % 10 === 0) await source.query(`DELETE FROM users WHERE id = ${250 + i}`); // cascades to accounts
        if (i % 10 === 5) await source.query(`UPDATE users SET id = ${5000 + i} WHERE id = ${20 + i}`); // ON UPDATE CASCADE
      }
    })();
    await copy('accounts', m);
    await copy('audit', m);
    await writers;
    await source.query(`CREATE EVENT bump ON SCHEDULE EVERY 1 SECOND STARTS NOW() ENDS NOW() + INTERVAL 3 SECOND DO UPDATE accounts SET n = n + 1000 WHERE id = 3`);
    await source.query('SET GLOBAL event_scheduler = ON');
    // The EVENT fires up to four times in its 3 s: compare once it has ended (and been dropped), or
    // a late firing after the capture caught up would differ.
    await waitFor(async () => {
      const [rows] = await source.query('SELECT n FROM accounts WHERE id = 3');
      const [events] = await source.query("SELECT COUNT(*) AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME = 'bump'");
      return Number((rows as Array<{ n: number }>)[0]?.n) >= 1000 && Number((events as Array<{ n: number }>)[0]?.n) === 0;
    }, 'the EVENT to update accounts row 3 and end');
    await fx.caughtUp(m);

    for (const table of ['accounts', 'audit']) {
      const sides = await fx.bothSides(table);
      expect(sides.source.length).toBeGreaterThan(0);
      expect(sides.target, `${table} differs after capture`).toEqual(sides.source);
    }
    expect(await stream.stop()).toBe('stopped');
    const record = await fx.streams.get(m.id, 'forward');
    expect(record?.changesApplied).toBeGreaterThan(200);
    expect(record?.state).toBe('active');
  });

  it('keys of every family reach the other side: composite, BINARY with trailing zero bytes, _ci VARCHAR with trailing spaces, BIGINT UNSIGNED max, DECIMAL, DATETIME(6), ENUM, UUID', async () => {
    await createOnBoth(`CREATE TABLE keyed (
      b BINARY(4) NOT NULL, v VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, u BIGINT UNSIGNED NOT NULL, d DECIMAL(30,10) NOT NULL,
      t DATETIME(6) NOT NULL, e ENUM('x','y','z') NOT NULL, l VARCHAR(10) CHARACTER SET latin1 NOT NULL, g UUID NOT NULL, payload VARCHAR(20) NOT NULL,
      PRIMARY KEY (b, v, u, d, t, e, l, g))`);
    const m = await fx.migration('families', [{ kind: 'tables', tables: ['keyed'], to: 't1' }]);
    const stream = fx.start(m);
    const source = await dbs().admin('source');
    const rows = [
      `(X'01000000', 'ab  ', 18446744073709551615, '-12345678901234567890.0123456789', '2020-01-02 03:04:05.123456', 'y', 'caf\u00e9', '11111111-2222-3333-4444-555555555555', 'one')`,
      `(X'00000000', '', 0, '0', '0000-00-00 00:00:00', 'x', '', '00000000-0000-0000-0000-000000000000', 'two')`,
      `(X'FF00FF00', 'Zo\u00eb ', 9007199254740993, '0.0000000001', '1999-12-31 23:59:59.999999', 'z', 'x ', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'three')`,
    ];
    await source.query(`INSERT INTO keyed VALUES ${rows.join(', ')}`);
    await source.query(`UPDATE keyed SET payload = CONCAT(payload, '+') WHERE e IN ('x', 'y')`);
    await source.query(`UPDATE keyed SET u = u - 1 WHERE e = 'z'`); // a key change: before and after key
    await source.query(`DELETE FROM keyed WHERE e = 'x'`);
    await fx.caughtUp(m);
    const sides = await fx.bothSides('keyed');
    expect(sides.source).toHaveLength(2);
    expect(sides.target).toEqual(sides.source);
    await stream.stop();
  });

  it('follows the binlog across FLUSH BINARY LOGS', async () => {
    await createOnBoth('CREATE TABLE rotated (id INT PRIMARY KEY, v INT NOT NULL)');
    const m = await fx.migration('rotation', [{ kind: 'tables', tables: ['rotated'], to: 't1' }]);
    const stream = fx.start(m);
    const source = await dbs().admin('source');
    const before = (await fx.streams.get(m.id, 'forward'))!.checkpoint.file;
    for (let i = 0; i < 30; i += 1) {
      await source.query(`INSERT INTO rotated VALUES (${i}, ${i})`);
      if (i % 10 === 9) await source.query('FLUSH BINARY LOGS');
    }
    await fx.caughtUp(m);
    const sides = await fx.bothSides('rotated');
    expect(sides.target).toEqual(sides.source);
    expect(sides.source).toHaveLength(30);
    expect((await fx.streams.get(m.id, 'forward'))!.checkpoint.file).not.toBe(before);
    // Caught up, its record says so in bytes within a checkpoint or two: near 0 (its own checkpoints
    // land in this binlog, since the test's control store lives on the source: a few hundred bytes).
    const behind = async () => (await fx.streams.get(m.id, 'forward'))!.behindBytes;
    await waitFor(async () => {
      const bytes = await behind();
      return bytes !== null && bytes < 16_384;
    }, 'the stream to record that it is caught up, in bytes', 10_000);
    expect(typeof (await behind())).toBe('number');
    await stream.stop();
  });

  it('stops on DDL of a moved table, naming the statement, and keeps its checkpoint before it', async () => {
    await createOnBoth('CREATE TABLE altered (id INT PRIMARY KEY, v INT NOT NULL)');
    await createOnBoth('CREATE TABLE bystander (id INT PRIMARY KEY)', ['source']);
    const m = await fx.migration('ddl', [{ kind: 'tables', tables: ['altered'], to: 't1' }]);
    const stream = fx.start(m);
    const source = await dbs().admin('source');
    await source.query('INSERT INTO altered VALUES (1, 1)');
    await source.query('ALTER TABLE bystander ADD COLUMN x INT'); // not moved: the stream goes on
    await fx.caughtUp(m);
    await source.query('ALTER TABLE altered ADD COLUMN w INT');
    expect(await stream.ended).toBe('failed');
    const record = await fx.streams.get(m.id, 'forward');
    expect(record?.state).toBe('failed');
    expect(record?.error).toContain('ALTER TABLE altered ADD COLUMN w INT');
    expect(record?.error).toContain('cleave capture-reset');
    const sides = await fx.bothSides('altered');
    expect(sides.target).toHaveLength(1);
  });

  it('refuses a checkpoint whose binlog the server no longer has, with the recovery', async () => {
    await createOnBoth('CREATE TABLE purged (id INT PRIMARY KEY)');
    const m = await fx.migration('purged', [{ kind: 'tables', tables: ['purged'], to: 't1' }]);
    const record = (await fx.streams.get(m.id, 'forward'))!;
    await fx.streams.aim(m.id, 'forward', 'source', { file: record.checkpoint.file.replace(/\d+$/, (n) => '0'.repeat(n.length)), position: 4 }, m.epoch);
    expect(await fx.start(m).ended).toBe('failed');
    const failed = await fx.streams.get(m.id, 'forward');
    expect(failed?.error).toMatch(/is no longer on server source.*cleave capture-reset.*verify .*--repair/s);
  });

  it('runs once: a second worker is turned away, and a re-aimed stream stops its old holder', async () => {
    await createOnBoth('CREATE TABLE leased (id INT PRIMARY KEY)');
    const m = await fx.migration('lease', [{ kind: 'tables', tables: ['leased'], to: 't1' }]);
    const first = fx.start(m, 'forward', 'worker-a');
    await waitFor(async () => (await fx.streams.get(m.id, 'forward'))?.owner === 'worker-a', 'worker-a to hold the lease');
    expect(await fx.start(m, 'forward', 'worker-b').ended).toBe('busy');
    const source = await dbs().admin('source');
    await fx.streams.aim(m.id, 'forward', 'source', (await fx.streams.get(m.id, 'forward'))!.checkpoint, m.epoch);
    await source.query('INSERT INTO leased VALUES (1)'); // the next checkpoint is refused
    expect(await first.ended).toBe('lost');
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
