import { CleaveError } from '@cleave/core';
import type { KeyTuple } from './key-codec.js';
import { keyOrderBy, keyRangeWhere, qualifiedName, type RowFilter } from './key-range.js';
import type { Queryable } from './queryable.js';
import { queryRaw } from './raw-rows.js';
import { rawToKeyPart } from './sql-literal.js';
import type { TableShape } from './table-shape.js';
import { quoteIdentifier } from '../identifier.js';

function requireRows(rows: number): void {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new CleaveError('INVALID_ARGUMENT', `A chunk must have a positive integer number of rows, got ${String(rows)}.`);
  }
}

/**
 * The key of the `rows`-th row after `lower` (exclusive), or `null` when fewer rows remain
 * before `upperLimit` (inclusive; `null`: the end of the table): the chunk `(lower, result]`
 * then holds `rows` rows; a `null` result means the chunk ends at `upperLimit`.
 *
 * One keyset query that reads only the key index: `ORDER BY key LIMIT 1 OFFSET rows-1`.
 *
 * @example
 * ```ts
 * let lower: KeyTuple | null = null;
 * for (;;) {
 *   const upper = await nextChunkUpper(pool, shape, lower, 1000, null);
 *   await syncKeyRange({ ..., bounds: { lower, upper } });
 *   if (upper === null) break;
 *   lower = upper;
 * }
 * ```
 */
export async function nextChunkUpper(
  db: Queryable,
  shape: TableShape,
  lower: KeyTuple | null,
  rows: number,
  upperLimit: KeyTuple | null,
  filter?: RowFilter,
): Promise<KeyTuple | null> {
  requireRows(rows);
  const where = keyRangeWhere(shape, { lower, upper: upperLimit }, filter);
  const select = shape.keyShapeColumns.map((column) => column.readExpression).join(', ');
  const [row] = await queryRaw(
    db,
    `SELECT ${select} FROM ${qualifiedName(shape)} FORCE INDEX (${quoteIdentifier(shape.keyIndex)}) ` +
      `WHERE ${where.sql} ORDER BY ${keyOrderBy(shape)} LIMIT 1 OFFSET ${rows - 1}`,
  );
  if (row === undefined) return null;
  return shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, row[i] ?? null));
}

/**
 * Boundary keys that split the table into segments of about `segmentRows` rows each, by keyset
 * walking (each step starts at the previous boundary: no OFFSET from the start, no scan of the
 * rows themselves when the key is a secondary index). Segment `i` is `(boundaries[i-1], boundaries[i]]`,
 * the first starts at the beginning and the last ends at the end of the table. `beforeStep` is
 * awaited before each boundary read (a throttle: each read walks `segmentRows` index entries).
 */
export async function splitKeySpace(db: Queryable, shape: TableShape, segmentRows: number, filter?: RowFilter, beforeStep?: () => Promise<void>): Promise<KeyTuple[]> {
  requireRows(segmentRows);
  const boundaries: KeyTuple[] = [];
  let lower: KeyTuple | null = null;
  for (;;) {
    await beforeStep?.();
    const upper = await nextChunkUpper(db, shape, lower, segmentRows, null, filter);
    if (upper === null) return boundaries;
    boundaries.push(upper);
    lower = upper;
  }
}
