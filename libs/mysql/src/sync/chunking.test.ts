import { useTestDatabases } from '@cleave/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextChunkUpper, splitKeySpace } from './chunking.js';
import type { KeyTuple } from './key-codec.js';
import { syncFixture, type SyncFixture } from './test/sync-fixture.js';

describe('nextChunkUpper / splitKeySpace', () => {
  const dbs = useTestDatabases('chunking');
  let fx: SyncFixture;

  beforeAll(async () => {
    fx = await syncFixture(dbs());
    await fx.sourceAdmin.query(`
      CREATE TABLE ints (id BIGINT UNSIGNED PRIMARY KEY);
      INSERT INTO ints SELECT seq FROM seq_1_to_10;
      INSERT INTO ints VALUES (9007199254740993), (18446744073709551615);
      CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(5) NOT NULL, PRIMARY KEY (a, b));
      INSERT INTO pairs VALUES (1, 'a'), (1, 'B'), (1, 'c'), (2, ''), (2, 'a'), (3, 'z');
      CREATE TABLE words (w VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, UNIQUE KEY uk_w (w));
      INSERT INTO words VALUES ('apple'), ('Banana'), ('cherry'), ('Äpfel'), ('date');
      CREATE TABLE blobs (k VARBINARY(4) PRIMARY KEY);
      INSERT INTO blobs VALUES (X''), (X'00'), (X'0000'), (X'01'), (X'FF'), (X'FF00');
    `);
  });
  afterAll(async () => {
    await fx.end();
  });

  const hex = (keys: readonly (KeyTuple | null)[]) =>
    keys.map((key) => key?.map((part) => (typeof part === 'string' ? part : `0x${part.toString('hex')}`)) ?? null);

  it('walks integer keys, exact past 2^53, and stops before upperLimit', async () => {
    const shape = await fx.shape('ints');
    expect(await nextChunkUpper(fx.source, shape, null, 3, null)).toEqual(['3']);
    expect(await nextChunkUpper(fx.source, shape, ['3'], 3, null)).toEqual(['6']);
    expect(await nextChunkUpper(fx.source, shape, ['10'], 2, null)).toEqual(['18446744073709551615']);
    expect(await nextChunkUpper(fx.source, shape, ['9007199254740993'], 2, null)).toBeNull();
    expect(await nextChunkUpper(fx.source, shape, ['3'], 3, ['5'])).toBeNull();
    expect(await nextChunkUpper(fx.source, shape, ['3'], 2, ['5'])).toEqual(['5']);
    expect(await splitKeySpace(fx.source, shape, 4)).toEqual([['4'], ['8'], ['18446744073709551615']]);
  });

  it('walks composite keys in key order', async () => {
    const shape = await fx.shape('pairs');
    expect(hex(await splitKeySpace(fx.source, shape, 2))).toEqual([['1', '0x42'], ['2', '0x'], ['3', '0x7a']]);
    expect(hex([await nextChunkUpper(fx.source, shape, ['1', Buffer.from('B')], 2, null)])).toEqual([['2', '0x']]);
  });

  it('walks a varchar unique key in collation order', async () => {
    const shape = await fx.shape('words');
    expect(shape.keyIndex).toBe('uk_w');
    const bounds = await splitKeySpace(fx.source, shape, 2);
    expect(bounds.map((key) => (key[0] as Buffer).toString('utf8'))).toEqual(['apple', 'cherry']);
  });

  it('walks varbinary keys bytewise (empty and zero bytes included)', async () => {
    const shape = await fx.shape('blobs');
    expect(hex(await splitKeySpace(fx.source, shape, 2))).toEqual([['0x00'], ['0x01'], ['0xff00']]);
    expect(hex([await nextChunkUpper(fx.source, shape, [Buffer.alloc(0)], 1, null)])).toEqual([['0x00']]);
  });

  it('refuses a non-positive chunk size', async () => {
    const shape = await fx.shape('ints');
    await expect(nextChunkUpper(fx.source, shape, null, 0, null)).rejects.toThrow('A chunk must have a positive integer number of rows, got 0.');
  });
});
