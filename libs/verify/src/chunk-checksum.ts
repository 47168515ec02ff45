import { CleaveError } from '@cleave/core';
import { chunkAggregateSql, type ChunkHashForm } from './row-hash.js';
import { qualifiedName, queryRaw, type SyncQueryable, type TableName, type TableShape } from '@cleave/mysql';

/** What one server computed for one chunk. */
export interface ChunkChecksum {
  /** Rows in the chunk. */
  readonly rows: number;
  /** BIT_XOR of the rows' 64-bit hashes, as decimal text (`'0'` for an empty chunk). */
  readonly hash: string;
}

/**
 * Checksums the rows of `table` matching `where` inside the database: only one row (count and
 * hash) comes back, whatever the chunk size. Both sides of a comparison must use the same `form`
 * (see `chunkHashForm`).
 */
export async function chunkChecksum(db: SyncQueryable, shape: TableShape, table: TableName, where: string, form: ChunkHashForm = 'conv'): Promise<ChunkChecksum> {
  const [row] = await queryRaw(db, `SELECT ${chunkAggregateSql(shape, form)} FROM ${qualifiedName(table)} WHERE ${where}`);
  if (row === undefined) throw new CleaveError('INTERNAL', 'A checksum query returned no row.');
  return { rows: Number(row[0]?.toString('latin1') ?? '0'), hash: row[1]?.toString('latin1') ?? '0' };
}

/** Whether two checksums describe the same rows. */
export function sameChecksum(a: ChunkChecksum, b: ChunkChecksum): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}
