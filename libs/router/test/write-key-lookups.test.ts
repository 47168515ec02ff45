import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, sql } from 'kysely';
import type { Plan } from '@cleave/core';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { hexRows, useTestDatabases } from '@cleave/testing';
import { CleaveDialect, type RoutedMigration, type RouterPool, type RouterPoolConnection } from '../src/index.js';

interface DB {
  tags: { id?: number | string; owner: number | null; name: string; scope?: string; hits?: number };
  tag_notes: { id?: number | string; tag_id: number | string; note: string };
}

// A table whose unique keys have a defaulted column (scope) and a nullable one (owner).
const TAGS = `CREATE TABLE tags (
  id     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  owner  BIGINT UNSIGNED NULL,
  name   VARCHAR(50) NOT NULL,
  scope  VARCHAR(20) NOT NULL DEFAULT 'global',
  hits   INT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY uk_scope_name (scope, name),
  UNIQUE KEY uk_owner_name (owner, name)
) ENGINE=InnoDB`;
// Rows of tags' children change with them: deleted, and re-pointed when a tag's id changes.
const TAG_NOTES = `CREATE TABLE tag_notes (
  id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  tag_id  BIGINT UNSIGNED NOT NULL,
  note    VARCHAR(50) NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT fk_notes_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB`;

// Which rows an upsert or a predicate write touched: found exactly, so the shadow side gets them.
describe('@cleave/router finds the rows upserts and predicate writes touch (real MariaDB)', () => {
  const dbs = useTestDatabases('rkeys');
  let pools: MysqlPools;
  let servers: Record<string, RouterPool>;
  const routers: Kysely<DB>[] = [];
  const journalDir = mkdtempSync(path.join(os.tmpdir(), 'cleave-router-keys-'));

  beforeAll(async () => {
    for (const s of ['source', 'target1'] as const) {
      await (await dbs().admin(s)).query(TAGS);
      await (await dbs().admin(s)).query(TAG_NOTES);
    }
    pools = new MysqlPools({ maxConnectionsPerServer: 20 });
    servers = {
      source: pools.pool(parseConnectionUrl(dbs().source.url), { connectionLimit: 5 }).callback as unknown as RouterPool,
      target1: pools.pool(parseConnectionUrl(dbs().target1.url), { connectionLimit: 5 }).callback as unknown as RouterPool,
    };
  });

  afterAll(async () => {
    for (const db of routers) await db.destroy();
    await pools.end();
  });

  function dualWriteRouter(source: RouterPool = servers['source']!): Kysely<DB> {
    const plan = {
      version: 1,
      name: 'tags',
      source: { server: 'source', database: dbs().name },
      targets: { t1: { server: 'target1', database: dbs().name } },
      moves: [{ kind: 'tables', tables: ['tags', 'tag_notes'], to: 't1' }],
    } as Plan;
    const migration: RoutedMigration = { id: 'a1b2c3d4e5f6', name: 'tags', plan, phase: 'dual_write', epoch: 2, capture: false };
    const db = new Kysely<DB>({
      dialect: new CleaveDialect({ servers: { ...servers, source }, store: { listMigrations: async () => [migration] }, journalPath: path.join(journalDir, `${routers.length}.jsonl`), pollMs: 60_000 }),
    });
    routers.push(db);
    return db;
  }

  /** Both sides hold the same rows (by `where`), row for row. */
  async function expectSidesEqual(where: string, table: 'tags' | 'tag_notes' = 'tags', rows: 'some' | 'any' = 'some'): Promise<void> {
    const name = dbs().name;
    const source = await hexRows(await dbs().admin('source'), name, table, 'id', where);
    if (rows === 'some') expect(source.length, `rows of ${where} on the source`).toBeGreaterThan(0);
    expect(await hexRows(await dbs().admin('target1'), name, table, 'id', where)).toEqual(source);
  }

  /** Puts a note on a tag on both sides, as a copy would. */
  async function seedNote(tagId: number, note: string): Promise<void> {
    for (const server of ['source', 'target1'] as const) await (await dbs().admin(server)).query('INSERT INTO tag_notes (tag_id, note) VALUES (?, ?)', [tagId, note]);
  }

  /** Puts the same row on both sides (as a copy would), returning its id. */
  async function seed(values: string): Promise<number> {
    const [result] = (await (await dbs().admin('source')).query(`INSERT INTO tags (owner, name, scope, hits) VALUES ${values}`)) as unknown as [{ insertId: number }];
    const [rows] = await (await dbs().admin('source')).query(`SELECT id, owner, name, scope, hits FROM tags WHERE id = ${result.insertId}`);
    const row = (rows as Array<Record<string, unknown>>)[0]!;
    await (await dbs().admin('target1')).query('INSERT INTO tags (id, owner, name, scope, hits) VALUES (?, ?, ?, ?, ?)', [row['id'], row['owner'], row['name'], row['scope'], row['hits']]);
    return result.insertId;
  }

  it('an ON DUPLICATE KEY UPDATE that meets a row through a unique key with a defaulted column brings that row to the shadow', async () => {
    const db = dualWriteRouter();
    const id = await seed("(NULL, 'defaulted', 'global', 0)");
    // scope is left out: the row takes 'global', and meets the seeded row on uk_scope_name (its
    // own id is new, so only a lookup through the defaulted column finds the row it updates).
    await db.insertInto('tags').values({ id: 900_001, owner: null, name: 'defaulted', hits: 1 }).onDuplicateKeyUpdate({ hits: sql`hits + 10` as never }).execute();
    const [rows] = await (await dbs().admin('source')).query(`SELECT hits FROM tags WHERE id = ${id}`);
    expect(rows).toEqual([{ hits: 10 }]);
    await expectSidesEqual(`id IN (${id}, 900001)`);
  });

  it('a multi-row upsert where one row holds NULL in a unique key still finds the row another one meets', async () => {
    const db = dualWriteRouter();
    const id = await seed("(7, 'nulls', 'mine', 0)");
    await db
      .insertInto('tags')
      .values([
        { owner: null, name: 'nulls', scope: 'other', hits: 1 }, // NULL owner: meets nothing on uk_owner_name
        { owner: 7, name: 'nulls', scope: 'theirs', hits: 1 }, // meets the seeded row on uk_owner_name
      ])
      .onDuplicateKeyUpdate({ hits: sql`hits + 5` as never })
      .execute();
    const [rows] = await (await dbs().admin('source')).query(`SELECT hits FROM tags WHERE id = ${id}`);
    expect(rows).toEqual([{ hits: 5 }]);
    await expectSidesEqual("name = 'nulls'");
  });

  it('an INSERT IGNORE (.ignore()) and a REPLACE with a defaulted unique column leave both sides equal', async () => {
    const db = dualWriteRouter();
    const kept = await seed("(NULL, 'ignored', 'global', 3)");
    await db.insertInto('tags').values({ owner: null, name: 'ignored', hits: 99 }).ignore().execute();
    await expectSidesEqual("name = 'ignored'");
    const [keptRows] = await (await dbs().admin('source')).query(`SELECT hits FROM tags WHERE id = ${kept}`);
    expect(keptRows).toEqual([{ hits: 3 }]);
    const replaced = await seed("(NULL, 'replaced', 'global', 3)");
    await db.replaceInto('tags').values({ owner: null, name: 'replaced', hits: 4 }).execute();
    await expectSidesEqual("name = 'replaced'");
    for (const server of ['source', 'target1'] as const) {
      const [gone] = await (await dbs().admin(server)).query(`SELECT id FROM tags WHERE id = ${replaced}`);
      expect(gone, `the replaced row on ${server}`).toEqual([]);
    }
  });

  it('refuses an upsert that sets a key column, or gives a unique value as an expression, before it runs', async () => {
    const db = dualWriteRouter();
    await expect(db.insertInto('tags').values({ owner: 1, name: 'moves', hits: 1 }).onDuplicateKeyUpdate({ id: sql`id + 1000` as never }).execute()).rejects.toMatchObject({
      reason: 'unsupported-write',
      message: expect.stringContaining('sets key column(s) id'),
    });
    await expect(db.insertInto('tags').values({ owner: 1, name: sql`CONCAT('ex', 'pr')` as never, hits: 1 }).onDuplicateKeyUpdate({ hits: 2 }).execute()).rejects.toMatchObject({
      reason: 'unsupported-write',
      message: expect.stringContaining('gives unique column name as an expression'),
    });
    const [rows] = await (await dbs().admin('source')).query("SELECT id FROM tags WHERE name IN ('moves', 'expr')");
    expect(rows).toEqual([]);
  });

  it('refuses a multi-row INSERT that gives some auto-increment ids and leaves others generated (the generated ones follow the given), before it runs', async () => {
    const db = dualWriteRouter();
    const mixed = db.insertInto('tags').values([{ owner: 1, name: 'mixed-a' }, { id: 800_000, owner: 1, name: 'mixed-b' }, { owner: 1, name: 'mixed-c' }]).execute();
    await expect(mixed).rejects.toMatchObject({ reason: 'unsupported-write', message: expect.stringContaining('gives some id values and leaves others to auto-increment') });
    await expect(db.insertInto('tags').values({ id: 0, owner: 1, name: 'zero' }).execute()).rejects.toMatchObject({ reason: 'unsupported-write', message: expect.stringContaining('the value 0') });
    const [rows] = await (await dbs().admin('source')).query("SELECT id FROM tags WHERE name LIKE 'mixed-%' OR name = 'zero'");
    expect(rows).toEqual([]);
    // All given, or all generated: followed.
    await db.insertInto('tags').values([{ owner: 2, name: 'all-generated-a' }, { owner: 2, name: 'all-generated-b' }]).execute();
    await db.insertInto('tags').values([{ id: 800_001, owner: 2, name: 'all-given-a' }, { id: 800_002, owner: 2, name: 'all-given-b' }]).execute();
    await expectSidesEqual("name LIKE 'all-%'");
  });

  it('a write with a non-key predicate under READ COMMITTED leaves a row committed after its key-finding read alone (a phantom the read could not lock)', async () => {
    // Another session commits a matching row (on both sides, as its own router would) right
    // after the router's locking read found the keys, before the UPDATE runs.
    const real = servers['source']!;
    const phantom = { inserted: false };
    const racing: RouterPool = {
      getConnection: (callback) =>
        real.getConnection((error, connection) => {
          if (error) return callback(error, connection);
          const wrapped = {
            query: (options: unknown, values: unknown[], done: (error: Error | null, result: unknown, fields: unknown) => void) => {
              const text = typeof options === 'string' ? options : (options as { sql: string }).sql;
              connection.query(options as string, values, (queryError, result, fields) => {
                if (queryError !== null || phantom.inserted || !/for update$/i.test(text.trim()) || !text.includes('`tags`')) return done(queryError, result, fields);
                phantom.inserted = true;
                void seed("(NULL, 'phantom-late', 'rc', 0)").then(() => done(queryError, result, fields), (seedError: Error) => done(seedError, undefined, undefined));
              });
            },
            release: () => connection.release(),
          };
          callback(null, wrapped as unknown as RouterPoolConnection);
        }),
    };
    const db = dualWriteRouter(racing);
    await seed("(NULL, 'phantom-early', 'rc', 0)");
    await db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
      await trx.updateTable('tags').set({ hits: 42 }).where('scope', '=', 'rc').where('hits', '=', 0).execute();
    });
    expect(phantom.inserted).toBe(true);
    const [rows] = await (await dbs().admin('source')).query("SELECT name, hits FROM tags WHERE scope = 'rc' ORDER BY name");
    expect(rows).toEqual([
      { name: 'phantom-early', hits: 42 },
      { name: 'phantom-late', hits: 0 },
    ]);
    await expectSidesEqual("scope = 'rc'");
  });

  it('a DELETE, a REPLACE and a key change of a parent bring the child rows its foreign keys cascade to (deleted, re-pointed) to the shadow, alone and in a transaction', async () => {
    const db = dualWriteRouter();
    const deleted = await seed("(NULL, 'cascade-delete', 'c', 0)");
    const replaced = await seed("(NULL, 'cascade-replace', 'c', 0)");
    const moved = await seed("(NULL, 'cascade-move', 'c', 0)");
    const inTransaction = await seed("(NULL, 'cascade-tx', 'c', 0)");
    for (const id of [deleted, replaced, moved, inTransaction]) await seedNote(id, `note of ${id}`);
    await db.deleteFrom('tags').where('id', '=', deleted).execute();
    await db.replaceInto('tags').values({ id: replaced, owner: null, name: 'cascade-replace', scope: 'c', hits: 1 }).execute();
    await db.updateTable('tags').set({ id: moved + 700_000 }).where('id', '=', moved).execute();
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('tags').where('name', '=', 'cascade-tx').execute();
    });
    const [notes] = await (await dbs().admin('source')).query("SELECT tag_id FROM tag_notes WHERE note LIKE 'note of %' ORDER BY id");
    expect(notes).toEqual([{ tag_id: String(moved + 700_000) }]);
    await expectSidesEqual("note LIKE 'note of %'", 'tag_notes');
    await expectSidesEqual("scope = 'c'");
  });
});
