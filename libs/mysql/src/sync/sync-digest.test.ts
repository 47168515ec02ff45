import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../connection-url.js';
import { MysqlPools } from '../mysql-pools.js';
import { SyncSession } from './sync-session.js';
import type { TransactionalPool } from './queryable.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

// performance_schema keeps one row per statement digest (50,000 on the local servers, 10,000 by
// default), and the operator's monitoring and `cleave plan` read them. A sync's upsert must not
// make a digest per row count and pattern of NULLs, or a long migration fills the table.
describe("a sync's upserts share their statement digests whatever their row count and NULLs (real MariaDB)", () => {
  const dbs = useTestDatabases('syncdigest');
  let fx: SyncFixture;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    // A thread's statement history is kept only with its current statements (the local services
    // start with both; a server started before they did is set here).
    await fx.targetAdmin.query("UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN ('events_statements_current', 'events_statements_history')");
    const ddl = 'CREATE TABLE notes (id INT PRIMARY KEY, title VARCHAR(20) CHARACTER SET latin1 NULL, body TEXT NULL, tag VARBINARY(8) NULL, at DATETIME(6) NULL)';
    for (const admin of [fx.sourceAdmin, fx.targetAdmin]) await admin.query(ddl);
    await fx.sourceAdmin.query(
      `INSERT INTO notes VALUES
        (1, _latin1 X'E9', 'zoë', X'00FF', '2026-01-01 00:00:00.5'),
        (2, NULL, '', X'', NULL), (3, 'a  ', NULL, NULL, '2026-01-02 00:00:00'),
        (4, '', 'x', X'01', NULL), (5, NULL, NULL, NULL, NULL), (6, 'b', '名', X'5C27', '2026-01-03 00:00:00'), (7, 'c', 'y', NULL, NULL)`,
    );
  });
  afterAll(async () => {
    await fx.end();
  });

  it('upserts of 1, 2 and 4 rows with text, binary, empty and NULL values: two digests, rows byte-exact', async () => {
    // One connection, so that its statements are the thread's history.
    const pools = new MysqlPools({ maxConnectionsPerServer: 1 });
    try {
      const pool = pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 1 }).promise;
      const [[{ thread }]] = (await pool.query('SELECT THREAD_ID AS thread FROM performance_schema.threads WHERE PROCESSLIST_ID = CONNECTION_ID()')) as unknown as [[{ thread: string }]];
      const session = new SyncSession(pool as unknown as TransactionalPool);
      const shape = await fx.shape('notes');
      const digests = new Set<string>();
      let upserts = 0;
      for (const ids of [[1], [2, 3], [4, 5, 6, 7]]) {
        await session.syncKeys({ source: fx.source, sourceShape: shape, targetTable: { database: shape.database, table: 'notes' }, keys: ids.map((id) => [String(id)]) });
        // The thread's last 10 statements: a sync of these keys runs fewer.
        const [history] = (await fx.targetAdmin.query("SELECT DIGEST AS digest FROM performance_schema.events_statements_history WHERE THREAD_ID = ? AND SQL_TEXT LIKE 'INSERT INTO%'", [thread])) as unknown as [
          Array<{ digest: string | null }>,
        ];
        expect(history.length, `the upsert of ids ${ids.join(', ')} in the thread's statement history`).toBeGreaterThan(0);
        for (const { digest } of history) digests.add(String(digest));
        upserts += 1;
      }
      expect(upserts).toBe(3);
      // The server writes one row as `VALUES (...)` and several as `VALUES (...) /* , ... */`: two
      // digests, whatever the number of rows and their NULLs (with `_charset X'..'` literals: one
      // for each of the three syncs).
      expect([...digests]).toHaveLength(2);
      expect(await fx.hexRows(fx.targetAdmin, 'notes', 'id')).toEqual(await fx.hexRows(fx.sourceAdmin, 'notes', 'id'));
    } finally {
      await pools.end();
    }
  });
});
