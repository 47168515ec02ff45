import { nextChunkUpper, type KeyTuple, type RowFilter, type SyncQueryable, type TableShape } from '@cleave/mysql';
import type { ChunkPlanner, PlannedChunk } from './chunk-planner.js';

/**
 * Chunks by walking the primary's key index for the `rows`-th key after the last chunk
 * (`nextChunkUpper`): exact row counts for any key, at the cost of reading those index entries.
 * The next chunk's end is looked up while the chunks before it are checked.
 */
export class KeyWalkChunkPlanner implements ChunkPlanner {
  readonly #source: SyncQueryable;
  readonly #shape: TableShape;
  readonly #filter: RowFilter | undefined;
  #lower: KeyTuple | null = null;
  /** The next chunk's upper bound being looked up; `null` once the last chunk is out. */
  #upper: Promise<KeyTuple | null> | null | undefined;

  constructor(source: SyncQueryable, shape: TableShape, filter?: RowFilter) {
    this.#source = source;
    this.#shape = shape;
    this.#filter = filter;
  }

  async next(rows: number): Promise<PlannedChunk | null> {
    if (this.#upper === null) return null;
    this.#upper ??= this.#walk(null, rows);
    const upper = await this.#upper;
    this.#upper = upper === null ? null : this.#walk(upper, rows);
    const chunk: PlannedChunk = { lower: this.#lower, upper, checked: () => undefined };
    this.#lower = upper;
    return chunk;
  }

  async settle(): Promise<void> {
    await Promise.allSettled(this.#upper ? [this.#upper] : []);
  }

  #walk(lower: KeyTuple | null, rows: number): Promise<KeyTuple | null> {
    const upper = nextChunkUpper(this.#source, this.#shape, lower, rows, null, this.#filter);
    upper.catch(() => undefined); // awaited by next() or settle()
    return upper;
  }
}
