import { describe, expect, it } from 'vitest';
import { currentCoordinate } from '@cleave/control';
import { useTestDatabases } from '@cleave/testing';
import { binlogBytesBehind } from '../src/index.js';
import { binlogBytesAfter } from '../src/server-binlog.js';

const dbs = useTestDatabases('binlog behind');

describe('bytes of binlog behind a checkpoint', () => {
  it('sums the sizes of the checkpoint file and every later one, minus its offset; never negative; null for a file not listed', () => {
    const files = [
      { file: 'binlog.000001', size: 1_000 },
      { file: 'binlog.000002', size: 500 },
      { file: 'binlog.000003', size: 300 },
    ];
    expect(binlogBytesAfter(files, { file: 'binlog.000002', position: 200 })).toBe(300 + 300);
    expect(binlogBytesAfter(files, { file: 'binlog.000001', position: 4 })).toBe(1_800 - 4);
    expect(binlogBytesAfter(files, { file: 'binlog.000003', position: 300 })).toBe(0);
    expect(binlogBytesAfter(files, { file: 'binlog.000003', position: 900 })).toBe(0); // a listing older than the checkpoint
    expect(binlogBytesAfter(files, { file: 'binlog.000004', position: 256 })).toBe(0); // older than its file (a rotation since)
    expect(binlogBytesAfter(files, { file: 'other.000009', position: 4 })).toBeNull();
    expect(binlogBytesAfter(files, { file: 'binlog.000000', position: 4 })).toBeNull();
  });

  it('on the server: grows by what was written after the checkpoint, across a rotation; 0 at the binlog end; null once its file is gone', async () => {
    const source = await dbs().admin('source');
    await source.query('CREATE TABLE blobs (id INT PRIMARY KEY, payload LONGTEXT NOT NULL)');
    const payload = 100_000;
    const at = await currentCoordinate(source, 'source');
    await source.query(`INSERT INTO blobs VALUES (1, REPEAT('x', ${payload}))`);
    const afterOne = await binlogBytesBehind(source, at);
    // The row image and the transaction's few events; other tests may write this binlog too, never 100 kB within these milliseconds.
    expect(afterOne).toBeGreaterThanOrEqual(payload);
    expect(afterOne).toBeLessThan(2 * payload);

    await source.query('FLUSH BINARY LOGS');
    await source.query(`INSERT INTO blobs VALUES (2, REPEAT('y', ${payload}))`);
    const end = await currentCoordinate(source, 'source');
    expect(end.file).not.toBe(at.file);
    const afterTwo = await binlogBytesBehind(source, at);
    expect(afterTwo).toBeGreaterThanOrEqual(afterOne! + payload);
    expect(afterTwo).toBeLessThan(afterOne! + 2 * payload);

    // At the binlog end nothing follows (retried: another test may write between the two reads).
    let atEnd = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 10 && atEnd !== 0; attempt += 1) atEnd = Math.min(atEnd, (await binlogBytesBehind(source, await currentCoordinate(source, 'source'))) ?? -1);
    expect(atEnd).toBe(0);

    expect(await binlogBytesBehind(source, { file: at.file.replace(/\d+$/, (n) => '0'.repeat(n.length)), position: 4 })).toBeNull();
  });
});
