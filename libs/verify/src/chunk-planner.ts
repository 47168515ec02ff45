import type { KeyTuple } from '@cleave/mysql';

/** One chunk to verify: the keys in `(lower, upper]` (`null`: unbounded on that side). */
export interface PlannedChunk {
  readonly lower: KeyTuple | null;
  readonly upper: KeyTuple | null;
  /** Feedback once the chunk is checksummed: the rows the primary holds in it. */
  checked(rows: number): void;
}

/**
 * Lays one verification pass's chunks over the key space, in key order: each chunk starts where
 * the last ended and the last has no upper bound, so every key (rows inserted past the end during
 * the pass included) falls in exactly one chunk. One planner per pass.
 */
export interface ChunkPlanner {
  /** The next chunk, of about `rows` rows, or `null` after the last one. */
  next(rows: number): Promise<PlannedChunk | null>;
  /** Waits for queries the planner still runs (after an error or abort, before the pools are reused). */
  settle(): Promise<void>;
}
