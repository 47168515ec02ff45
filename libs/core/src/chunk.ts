import { z } from 'zod';
import type { TableRef } from './table-ref.js';

/**
 * One end of a chunk: a tuple of key column values (in key column order) and whether the
 * tuple itself belongs to the chunk.
 */
export interface ChunkBound {
  /**
   * Key column values in canonical text form: integers as decimal strings, binary as `0x` +
   * hex, temporal and decimal values as the server prints them. Key columns are never NULL.
   */
  readonly values: readonly string[];
  /** Whether a row whose key equals `values` belongs to the chunk. */
  readonly inclusive: boolean;
}

/**
 * A slice of one table's key space that the backfill copies and verification checksums as a
 * unit. Rows are in the chunk when `lower <= key <= upper` (strict where a bound is not
 * inclusive), comparing key tuples lexicographically; `null` bounds are unbounded.
 */
export interface Chunk {
  /** The migration the chunk belongs to. */
  readonly migrationId: string;
  /** The table, qualified by its source database. */
  readonly table: TableRef;
  /** Position of the chunk in the table, from 0, in key order. */
  readonly index: number;
  /** Lowest key of the chunk, or `null` from the start of the table. */
  readonly lower: ChunkBound | null;
  /** Highest key of the chunk, or `null` to the end of the table. */
  readonly upper: ChunkBound | null;
}

const chunkBoundSchema = z.strictObject({ values: z.array(z.string()).min(1), inclusive: z.boolean() });

/** Validates a {@link Chunk} received from elsewhere (a job payload, a checkpoint row). */
export const chunkSchema: z.ZodType<Chunk> = z.strictObject({
  migrationId: z.string().min(1),
  table: z.strictObject({ schema: z.string().min(1).optional(), table: z.string().min(1) }),
  index: z.int().nonnegative(),
  lower: chunkBoundSchema.nullable(),
  upper: chunkBoundSchema.nullable(),
});
