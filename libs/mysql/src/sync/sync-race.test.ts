import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextChunkUpper } from './chunking.js';
import type { KeyTuple } from './key-codec.js';
import { syncKeyRange, syncKeys } from './sync-rows.js';
import type { TableShape } from './table-shape.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

const ROWS = 8000;
const ID_SPACE = 10_000;
const WRITERS = 4;

// The dual-write race: while a backfill copies the table chunk by chunk, writers change the
// source (updates, deletes, inserts, key updates) and apply each change to the target the way
// the router does (syncKeys of the touched keys). Afterwards the target must equal the source.
describe('syncKeyRange racing dual writes', () => {
  const dbs = useTestDatabases('syncrace');
  let fx: SyncFixture;
  let shape: TableShape;

  beforeAll(async () => {
    fx = await syncFixture(dbs(), 8);
    const ddl = `CREATE TABLE race (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NOT NULL, email VARCHAR(40) NULL, UNIQUE KEY uk_email (email))`;
    await fx.sourceAdmin.query(ddl);
    await fx.targetAdmin.query(ddl);
    shape = await fx.shape('race');
  });
  afterAll(async () => {
    await fx.end();
  });

  async function writer(stop: () => boolean, seed: number): Promise<number> {
    let writes = 0;
    let state = seed;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    while (!stop()) {
      const id = 1 + random(ID_SPACE);
      const op = random(10);
      let touched: number[];
      try {
        if (op < 4) {
          await fx.source.query(`UPDATE race SET v = v + 1, note = CONCAT('u', v + 1) WHERE id = ${id}`);
          touched = [id];
        } else if (op < 6) {
          await fx.source.query(`DELETE FROM race WHERE id = ${id}`);
          touched = [id];
        } else if (op < 8) {
          await fx.source.query(`INSERT INTO race VALUES (${id}, 0, 'ins', NULL) ON DUPLICATE KEY UPDATE v = v + 100, note = 'upsert'`);
          touched = [id];
        } else if (op < 9) {
          const to = 1 + random(ID_SPACE);
          await fx.source.query(`UPDATE IGNORE race SET id = ${to} WHERE id = ${id}`); // a key update
          touched = [id, to];
        } else {
          // Move a unique value between rows (exercises unique-key conflicts on the target).
          const other = 1 + random(ID_SPACE);
          await fx.source.query(`UPDATE race SET email = NULL WHERE email = 'e${other}'`);
          await fx.source.query(`UPDATE race SET email = 'e${other}' WHERE id = ${id}`);
          touched = [id, ...(await ownersOf(`e${other}`)), other];
        }
      } catch (error) {
        if ((error as { errno?: number }).errno === 1062) continue;
        throw error;
      }
      await syncKeys({
        source: fx.source,
        target: fx.target,
        sourceShape: shape,
        targetTable: { database: shape.database, table: 'race' },
        keys: touched.map((key): KeyTuple => [String(key)]),
      });
      writes += 1;
    }
    return writes;
  }

  async function ownersOf(email: string): Promise<number[]> {
    const [rows] = await fx.target.query({ sql: 'SELECT id FROM race WHERE email = ?', values: [email], rowsAsArray: true });
    return (rows as [number][]).map(([id]) => Number(id));
  }

  for (const round of [1, 2, 3]) {
    it(`leaves the target equal to the source (round ${round})`, async () => {
      await fx.sourceAdmin.query(`DELETE FROM race; INSERT INTO race SELECT seq, seq, CONCAT('n', seq), IF(seq % 3 = 0, CONCAT('e', seq), NULL) FROM seq_1_to_${ROWS}`);
      await fx.targetAdmin.query('DELETE FROM race');

      let done = false;
      const writers = Array.from({ length: WRITERS }, (_, i) => writer(() => done, round * 1000 + i));
      let copied = 0;
      let lower: KeyTuple | null = null;
      try {
        for (;;) {
          const upper: KeyTuple | null = await nextChunkUpper(fx.source, shape, lower, 1000, null);
          const result = await syncKeyRange({
            source: fx.source,
            target: fx.target,
            sourceShape: shape,
            targetTable: { database: shape.database, table: 'race' },
            bounds: { lower, upper },
          });
          copied += result.inserted;
          if (upper === null) break;
          lower = upper;
        }
      } finally {
        done = true;
      }
      const writes = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
      // The writers must really have raced the copy (a floor, not a speed: the machine may be busy).
      expect(writes).toBeGreaterThan(10);
      expect(copied).toBeGreaterThan(0);
      const sourceRows = await fx.hexRows(fx.sourceAdmin, 'race', 'id');
      const targetRows = await fx.hexRows(fx.targetAdmin, 'race', 'id');
      expect(targetRows.length).toBe(sourceRows.length);
      expect(targetRows).toEqual(sourceRows);
    });
  }
});
