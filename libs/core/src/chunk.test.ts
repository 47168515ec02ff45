import { describe, expect, it } from 'vitest';
import { chunkSchema, type Chunk } from './chunk.js';

describe('Chunk', () => {
  const chunk: Chunk = {
    migrationId: 'split-account',
    table: { schema: 'account', table: 'sessions' },
    index: 3,
    lower: { values: ['1000', '0x00ff'], inclusive: true },
    upper: { values: ['2000', '0x'], inclusive: false },
  };

  it('round-trips through JSON and the schema', () => {
    expect(chunkSchema.parse(JSON.parse(JSON.stringify(chunk)))).toEqual(chunk);
    expect(chunkSchema.parse({ ...chunk, lower: null, upper: null })).toEqual({ ...chunk, lower: null, upper: null });
  });

  it('refuses malformed chunks', () => {
    expect(chunkSchema.safeParse({ ...chunk, index: -1 }).success).toBe(false);
    expect(chunkSchema.safeParse({ ...chunk, lower: { values: [], inclusive: true } }).success).toBe(false);
    expect(chunkSchema.safeParse({ ...chunk, extra: 1 }).success).toBe(false);
  });
});
