import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyTuple } from './key-codec.js';
import { syncKeys } from './sync-rows.js';
import type { TableShape } from './table-shape.js';
import { copyTable, randomSourceWrite, seededRandom, syncFixture, type SyncFixture } from './test/sync-fixture.js';

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
    const random = seededRandom(seed);
    while (!stop()) {
      const touched = await randomSourceWrite(fx, 'race', random, ID_SPACE);
      if (touched === undefined) continue;
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

  // Rounds 1-2 copy with LOAD DATA (the default; a batch it cannot insert whole, a dual write's
  // row or a unique conflict, is taken back and inserted with INSERTs), round 3 with INSERTs only.
  for (const [round, bulkInsert] of [[1, 'load-data'], [2, 'load-data'], [3, 'insert']] as const) {
    it(`leaves the target equal to the source (round ${round}, ${bulkInsert})`, async () => {
      await fx.sourceAdmin.query(`DELETE FROM race; INSERT INTO race SELECT seq, seq, CONCAT('n', seq), IF(seq % 3 = 0, CONCAT('e', seq), NULL) FROM seq_1_to_${ROWS}`);
      await fx.targetAdmin.query('DELETE FROM race');

      let done = false;
      const writers = Array.from({ length: WRITERS }, (_, i) => writer(() => done, round * 1000 + i));
      let copied = { inserted: 0, loaded: 0 };
      try {
        copied = await copyTable(fx, shape, 'race', 1000, { bulkInsert });
      } finally {
        done = true;
      }
      const writes = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
      // The writers must really have raced the copy (a floor, not a speed: the machine may be busy).
      expect(writes).toBeGreaterThan(10);
      expect(copied.inserted).toBeGreaterThan(0);
      if (bulkInsert === 'insert') expect(copied.loaded).toBe(0);
      else expect(copied.loaded).toBeGreaterThan(0);
      const sourceRows = await fx.hexRows(fx.sourceAdmin, 'race', 'id');
      const targetRows = await fx.hexRows(fx.targetAdmin, 'race', 'id');
      expect(targetRows.length).toBe(sourceRows.length);
      expect(targetRows).toEqual(sourceRows);
    });
  }
});
