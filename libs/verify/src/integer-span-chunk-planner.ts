import { CleaveError } from '@cleave/core';
import {
  keyRangeWhere,
  qualifiedName,
  queryRaw,
  quoteIdentifier,
  rawTypeCast,
  type KeyBounds,
  type KeyTuple,
  type RowFilter,
  type SyncQueryable,
  type TableShape,
} from '@cleave/mysql';
import type { ChunkPlanner, PlannedChunk } from './chunk-planner.js';
import { IntegerKeySpans, spanBounds, type IntegerKeyExtent } from './integer-key-spans.js';

/** A span may be estimated at up to this many times the rows wanted before it is cut. */
const GUARD_FACTOR = 4;

/** Whether the table's key is one integer column, which {@link IntegerSpanChunkPlanner} can chunk. */
export function hasIntegerKey(shape: TableShape): boolean {
  return shape.keyShapeColumns.length === 1 && shape.keyShapeColumns[0]?.codec === 'integer';
}

function bigintOf(raw: Buffer | null | undefined): bigint | null {
  if (raw === null || raw === undefined) return null;
  const text = raw.toString('latin1');
  if (!/^-?\d+$/.test(text)) throw new CleaveError('INTERNAL', `An integer key read back as ${JSON.stringify(text.slice(0, 40))}.`);
  return BigInt(text);
}

/** The table read through its key index: the reads below are index dives, never a table scan. */
function keyIndexFrom(shape: TableShape): string {
  return `${qualifiedName(shape)} FORCE INDEX (${quoteIdentifier(shape.keyIndex)})`;
}

/**
 * The smallest and largest key (of the rows the filter keeps), `null` when there is none: two
 * index dives in one statement (one snapshot). `ORDER BY .. LIMIT 1` rather than MIN/MAX, so a
 * filter on another column stops at the first row it keeps instead of reading every row.
 */
async function readKeyExtent(db: SyncQueryable, shape: TableShape, filter: RowFilter | undefined): Promise<IntegerKeyExtent | null> {
  const key = shape.keyShapeColumns[0]?.quoted;
  const rows = `${key} FROM ${keyIndexFrom(shape)} WHERE ${keyRangeWhere(shape, { lower: null, upper: null }, filter).sql} ORDER BY ${key}`;
  const [row] = await queryRaw(db, `SELECT (SELECT ${rows} LIMIT 1), (SELECT ${rows} DESC LIMIT 1)`);
  const min = bigintOf(row?.[0]);
  const max = bigintOf(row?.[1]);
  return min === null || max === null ? null : { min, max };
}

/**
 * The optimizer's estimate of the rows in `bounds` (InnoDB's records_in_range: two index dives,
 * no scan), `null` when EXPLAIN gives none. A filter on another column is not in the estimate.
 */
async function estimateRows(db: SyncQueryable, shape: TableShape, bounds: KeyBounds, filter: RowFilter | undefined): Promise<number | null> {
  const [rows] = await db.query({
    sql: `EXPLAIN SELECT 1 FROM ${keyIndexFrom(shape)} WHERE ${keyRangeWhere(shape, bounds, filter).sql}`,
    values: null,
    typeCast: rawTypeCast,
  });
  const row = Array.isArray(rows) ? (rows[0] as Record<string, Buffer | null> | undefined) : undefined;
  const estimate = Number(row?.['rows']?.toString('latin1') ?? 'NaN');
  return Number.isFinite(estimate) ? estimate : null;
}

/** The first key after `lower` (exclusive; `null`: from the start), or `null` when there is none: one index dive. */
async function firstKeyAfter(db: SyncQueryable, shape: TableShape, lower: KeyTuple | null, filter: RowFilter | undefined): Promise<bigint | null> {
  const key = shape.keyShapeColumns[0]?.quoted;
  const where = keyRangeWhere(shape, { lower, upper: null }, filter).sql;
  const [row] = await queryRaw(db, `SELECT ${key} FROM ${keyIndexFrom(shape)} WHERE ${where} ORDER BY ${key} LIMIT 1`);
  return bigintOf(row?.[0]);
}

/** Settings of an {@link IntegerSpanChunkPlanner}. */
export interface IntegerSpanChunkPlannerConfig {
  readonly source: SyncQueryable;
  /** A shape whose key is one integer column (see {@link hasIntegerKey}). */
  readonly shape: TableShape;
  readonly filter?: RowFilter;
  /**
   * Rows a chunk may read when the filter is on another column than the key (the optimizer's
   * estimate then counts rows the filter drops, so it is held to this, not to the rows wanted).
   */
  readonly maxChunkRows: number;
}

/**
 * Chunks a single integer key by key value (see {@link IntegerKeySpans}): one read of the key's
 * extent per pass instead of an index walk per chunk. A span wide enough to hold too many rows
 * (keys are distinct: N values hold at most N rows) is first estimated by the optimizer and cut
 * when it would: chunks stay near the size wanted where the density changes.
 */
export class IntegerSpanChunkPlanner implements ChunkPlanner {
  readonly #config: IntegerSpanChunkPlannerConfig;
  #spans: IntegerKeySpans | null = null;

  constructor(config: IntegerSpanChunkPlannerConfig) {
    if (!hasIntegerKey(config.shape)) {
      throw new CleaveError('INVALID_ARGUMENT', `The key of ${config.shape.database}.${config.shape.table} is not one integer column.`);
    }
    this.#config = { ...config };
  }

  async next(rows: number): Promise<PlannedChunk | null> {
    const { source, shape, filter } = this.#config;
    this.#spans ??= new IntegerKeySpans(await readKeyExtent(source, shape, filter));
    const spans = this.#spans;
    if (spans.done) return null;
    const span = spans.take(await this.#guarded(spans, rows));
    return { ...spanBounds(span), checked: (found) => spans.observe(span, found) };
  }

  async settle(): Promise<void> {
    // Every query is awaited inside next().
  }

  /**
   * The next span's width, cut when the optimizer expects too many rows in it (a dense run past a
   * gap the spans widened over, or a denser stretch): the cut span ends `aim` key values past the
   * first key in it (an index dive), so it crosses the gap at once and holds at most `aim` rows.
   * Spans narrow enough to hold no more than that anyway (keys are distinct) skip both queries.
   */
  async #guarded(spans: IntegerKeySpans, rows: number): Promise<bigint> {
    const { source, shape, filter, maxChunkRows } = this.#config;
    const width = spans.nextWidth(rows);
    // Sizing counts the rows a chunk reads. A filter on the key narrows the range read; one on
    // another column does not (its rows are read and dropped), so it is left out of the estimate
    // and the dive, and the chunk is held to `maxChunkRows` rows read instead of `rows` kept.
    const onKey = filter === undefined || filter.column === shape.keyShapeColumns[0]?.name;
    const sizing = onKey ? filter : undefined;
    const aim = onKey ? rows : maxChunkRows;
    if (width <= BigInt(Math.ceil(aim * GUARD_FACTOR))) return width;
    const span = spans.peek(width);
    const estimate = await estimateRows(source, shape, spans.extentBounds(span), sizing);
    if (estimate === null || estimate <= aim * GUARD_FACTOR) return width;
    const first = await firstKeyAfter(source, shape, spanBounds(span).lower, sizing);
    return first === null ? width : spans.widthThrough(first, aim, width);
  }
}
