import { CleaveError, compareKeyValues, type KeyType, type KeyValue } from '@cleave/core';
import { quoteIdentifier, type CatalogTable } from '@cleave/mysql';
import { sourceQueryError, type Queryable } from './performance-schema-reader.js';
import type { ShardKeyChoice } from './shard-key.js';

/** N ranges of a table's key: the N-1 split points and the estimated rows of each range. */
export interface ShardRangeEstimate {
  /** Ascending split points; range i is [bounds[i-1], bounds[i]) with open ends. */
  readonly bounds: readonly KeyValue[];
  /** Estimated rows per range (N entries). */
  readonly rows: readonly number[];
  /** How the bounds were found, for the report. */
  readonly method: string;
  /** Smallest and largest key (integer keys), where the source knows them. */
  readonly min?: KeyValue;
  readonly max?: KeyValue;
}

/** Ranges balanced by rows and per-key load: the estimate plus each range's load share. */
export interface LoadBalancedRanges extends ShardRangeEstimate {
  /** Share (0..1) of the known per-key load per range. */
  readonly load: readonly number[];
  /** Share (0..1) of the blend (rows and load) per range: what the ranges balance. */
  readonly weight: readonly number[];
}

/**
 * N ranges balancing a blend of rows and per-key load: `rowWeight` × row share + (1 −
 * `rowWeight`) × load share per range. `fine` is a row estimate with many more ranges than `n`
 * (rows are taken as spread evenly inside each of its ranges: by key width for integer keys
 * with known ends, else evenly over the key values that split it); `keyLoad` is the load per
 * key value (executions or time, any unit). A hot key gets a range to itself or a narrow one.
 *
 * @example
 * balanceRangesByLoad('integer', fineEstimate, new Map([['42', 9000]]), 4);
 */
export function balanceRangesByLoad(
  type: KeyType,
  fine: ShardRangeEstimate,
  keyLoad: ReadonlyMap<KeyValue, number>,
  n: number,
  rowWeight = 0.5,
): LoadBalancedRanges {
  const cmp = (a: KeyValue, b: KeyValue) => compareKeyValues(type, a, b);
  const loadKeys = [...keyLoad.keys()].filter((k) => (keyLoad.get(k) ?? 0) > 0);
  // candidate split points: the fine bounds, each loaded key, and (integers) the key after it
  const points = new Set<KeyValue>(fine.bounds);
  for (const k of loadKeys) {
    points.add(k);
    if (type === 'integer') points.add((BigInt(k) + 1n).toString());
  }
  const sorted = [...points].sort(cmp);
  const cands = sorted.filter((p, i) => i === 0 || cmp(p, sorted[i - 1]!) !== 0);
  // segments: (-inf, c0), [c0, c1), ..., [c_last, +inf)
  const segRows = Array.from({ length: cands.length + 1 }, () => 0);
  const segLoad = Array.from({ length: cands.length + 1 }, () => 0);
  for (let j = 0; j <= fine.bounds.length; j += 1) {
    const lo = j === 0 ? null : fine.bounds[j - 1]!;
    const hi = j === fine.bounds.length ? null : fine.bounds[j]!;
    // segments inside [lo, hi): starting at lo's segment up to the one ending at hi
    const first = lo === null ? 0 : cands.findIndex((c) => cmp(c, lo) === 0) + 1;
    let last = first;
    while (last < cands.length && (hi === null || cmp(cands[last]!, hi) < 0)) last += 1;
    const rows = fine.rows[j] ?? 0;
    const segs = last - first + 1;
    const start = lo ?? (type === 'integer' ? (fine.min ?? null) : null);
    const end = hi ?? (type === 'integer' && fine.max !== undefined ? (BigInt(fine.max) + 1n).toString() : null);
    if (type === 'integer' && start !== null && end !== null && BigInt(end) > BigInt(start)) {
      const width = Number(BigInt(end) - BigInt(start));
      for (let s = first; s <= last; s += 1) {
        const a = s === first ? BigInt(start) : BigInt(cands[s - 1]!);
        const b = s === last ? BigInt(end) : BigInt(cands[s]!);
        const lo2 = a < BigInt(start) ? BigInt(start) : a;
        const hi2 = b > BigInt(end) ? BigInt(end) : b;
        segRows[s]! += hi2 > lo2 ? (rows * Number(hi2 - lo2)) / width : 0;
      }
    } else {
      for (let s = first; s <= last; s += 1) segRows[s]! += rows / segs;
    }
  }
  const index = new Map(cands.map((c, i) => [c, i] as const));
  for (const k of loadKeys) {
    const i = index.get(cands.find((c) => cmp(c, k) === 0)!)!;
    segLoad[i + 1]! += keyLoad.get(k)!;
  }
  const totalRows = segRows.reduce((a, b) => a + b, 0);
  const totalLoad = segLoad.reduce((a, b) => a + b, 0);
  const rw = totalLoad > 0 ? (totalRows > 0 ? rowWeight : 0) : 1;
  const segWeight = segRows.map((r, i) => rw * (totalRows > 0 ? r / totalRows : 0) + (1 - rw) * (totalLoad > 0 ? segLoad[i]! / totalLoad : 0));
  // cut after segment s (bound = cands[s]) where the cumulative weight is closest to i/n
  const cuts: number[] = [];
  let cum = 0;
  let s = 0;
  for (let i = 1; i < n; i += 1) {
    const want = i / n;
    while (s < cands.length && cum + segWeight[s]! < want) {
      cum += segWeight[s]!;
      s += 1;
    }
    if (s >= cands.length) break;
    // cutting before segment s leaves cum; after it, cum + w
    let cut = want - cum <= cum + segWeight[s]! - want ? s - 1 : s;
    if (cut <= (cuts[cuts.length - 1] ?? -1)) cut = (cuts[cuts.length - 1] ?? -1) + 1;
    if (cut >= cands.length) break;
    while (s <= cut) {
      cum += segWeight[s]!;
      s += 1;
    }
    cuts.push(cut);
  }
  const bounds = cuts.map((c) => cands[c]!);
  const sum = (xs: number[], from: number, to: number) => xs.slice(from, to).reduce((a, b) => a + b, 0);
  const edges = [0, ...cuts.map((c) => c + 1), segRows.length];
  const rows: number[] = [];
  const load: number[] = [];
  const weight: number[] = [];
  for (let r = 0; r + 1 < edges.length; r += 1) {
    rows.push(Math.round(sum(segRows, edges[r]!, edges[r + 1]!)));
    load.push(totalLoad > 0 ? sum(segLoad, edges[r]!, edges[r + 1]!) / totalLoad : 0);
    weight.push(sum(segWeight, edges[r]!, edges[r + 1]!));
  }
  return { bounds, rows, load, weight, method: fine.method, ...(fine.min === undefined ? {} : { min: fine.min }), ...(fine.max === undefined ? {} : { max: fine.max }) };
}

/** Finds balanced split points of a table's shard key. */
export interface ShardRangeSource {
  estimate(table: CatalogTable, key: ShardKeyChoice, ranges: number): Promise<ShardRangeEstimate>;
}

/** Tables up to this many rows get exact quantiles from an index walk. */
export const EXACT_QUANTILE_MAX_ROWS = 100_000;

/**
 * Split points of an integer key range `[min, max]` for `n` ranges with equal numbers of
 * rows, from a cumulative count function (`below(v)`: rows with key < v), by bisection.
 */
export async function balancedIntegerBounds(
  min: bigint,
  max: bigint,
  n: number,
  total: number,
  below: (value: bigint) => Promise<number>,
): Promise<{ bounds: bigint[]; counts: number[] }> {
  const bounds: bigint[] = [];
  const counts: number[] = [];
  let lo = min;
  for (let i = 1; i < n; i += 1) {
    const want = (total * i) / n;
    let a = lo + 1n;
    let b = max + 1n;
    if (a > b) a = b;
    // smallest v in [a, b] with below(v) >= want
    while (a < b) {
      const mid = a + (b - a) / 2n;
      if ((await below(mid)) >= want) b = mid;
      else a = mid + 1n;
    }
    bounds.push(a);
    counts.push(await below(a));
    lo = a;
  }
  return { bounds, counts };
}

function rowsPerRange(cumulative: readonly number[], total: number): number[] {
  const out: number[] = [];
  let previous = 0;
  for (const c of [...cumulative, total]) {
    out.push(Math.max(0, Math.round(c - previous)));
    previous = c;
  }
  return out;
}

function dedupe(type: ShardKeyChoice['type'], bounds: KeyValue[], rows: number[]): { bounds: KeyValue[]; rows: number[] } {
  // equal split points (a key value holding many rows) would make empty ranges: merge them
  const b: KeyValue[] = [];
  const r: number[] = [rows[0] ?? 0];
  bounds.forEach((value, i) => {
    if (b.length > 0 && compareKeyValues(type, value, b[b.length - 1]!) <= 0) {
      r[r.length - 1]! += rows[i + 1] ?? 0;
    } else {
      b.push(value);
      r.push(rows[i + 1] ?? 0);
    }
  });
  return { bounds: b, rows: r };
}

/**
 * Estimates balanced shard ranges on the live source without scanning a big table:
 * - up to {@link EXACT_QUANTILE_MAX_ROWS} rows, exact quantiles by walking the key's index
 *   (`ORDER BY key LIMIT 1 OFFSET k`, an index-only read);
 * - above, integer keys only: `MIN`/`MAX` from the index, then bisection on the optimizer's
 *   range estimates (`EXPLAIN … WHERE key < v`, index dives: index statistics, no rows read).
 */
export class IndexStatisticsRangeSource implements ShardRangeSource {
  readonly #db: Queryable;
  readonly #database: string;
  readonly #server: string;

  constructor(db: Queryable, database: string, server = 'source') {
    this.#db = db;
    this.#database = database;
    this.#server = server;
  }

  async estimate(table: CatalogTable, key: ShardKeyChoice, ranges: number): Promise<ShardRangeEstimate> {
    try {
      return await this.#estimate(table, key, ranges);
    } catch (error) {
      if (error instanceof CleaveError) throw error;
      throw sourceQueryError(error, this.#server, `key statistics of table ${table.name}`);
    }
  }

  async #estimate(table: CatalogTable, key: ShardKeyChoice, ranges: number): Promise<ShardRangeEstimate> {
    const t = `${quoteIdentifier(this.#database)}.${quoteIdentifier(table.name)}`;
    const k = quoteIdentifier(key.column);
    const idx = quoteIdentifier(key.index);
    const keyExpr = key.type === 'binary' ? `HEX(${k})` : key.type === 'integer' ? `CAST(${k} AS CHAR)` : k;
    const value = (v: unknown): KeyValue => (key.type === 'binary' ? `0x${String(v).toLowerCase()}` : String(v));
    if (table.rowEstimate <= EXACT_QUANTILE_MAX_ROWS) {
      const [countRows] = await this.#db.query(`SELECT COUNT(*) AS n FROM ${t} FORCE INDEX (${idx})`);
      const total = Number((countRows as Record<string, unknown>[])[0]?.['n'] ?? 0);
      const bounds: KeyValue[] = [];
      const cumulative: number[] = [];
      for (let i = 1; i < ranges && total > 0; i += 1) {
        const offset = Math.floor((total * i) / ranges);
        const [rows] = await this.#db.query(`SELECT ${keyExpr} AS v FROM ${t} FORCE INDEX (${idx}) ORDER BY ${k} LIMIT 1 OFFSET ${offset}`);
        const v = (rows as Record<string, unknown>[])[0]?.['v'];
        if (v === undefined || v === null) continue;
        const bound = value(v);
        // rows below the bound (ties of a non-unique key stay with the bound's range)
        const [below] = await this.#db.query(`SELECT COUNT(*) AS n FROM ${t} FORCE INDEX (${idx}) WHERE ${k} < ${key.type === 'binary' ? `X'${bound.slice(2)}'` : '?'}`, key.type === 'binary' ? [] : [bound]);
        bounds.push(bound);
        cumulative.push(Number((below as Record<string, unknown>[])[0]?.['n'] ?? 0));
      }
      const merged = dedupe(key.type, bounds, rowsPerRange(cumulative, total));
      return { ...merged, method: `exact quantiles from index ${key.index} (${total} rows)` };
    }
    if (key.type !== 'integer') {
      throw new CleaveError('INVALID_ARGUMENT', `table "${table.name}" has about ${table.rowEstimate} rows: ranges of a ${key.type} key that large cannot be estimated without a scan`, {
        hint: 'Shard it by an integer key column (e.g. --shard table.user_id), or write the ranges in the plan file by hand.',
      });
    }
    const [mm] = await this.#db.query(`SELECT CAST(MIN(${k}) AS CHAR) AS lo, CAST(MAX(${k}) AS CHAR) AS hi FROM ${t}`);
    const row = (mm as Record<string, unknown>[])[0];
    if (row?.['lo'] == null) return { bounds: [], rows: [0], method: 'empty table' };
    const min = BigInt(String(row['lo']));
    const max = BigInt(String(row['hi']));
    const estimateBelow = async (v: bigint): Promise<number> => {
      if (v <= min) return 0;
      const [plan] = await this.#db.query(`EXPLAIN SELECT ${k} FROM ${t} FORCE INDEX (${idx}) WHERE ${k} >= ? AND ${k} < ?`, [min.toString(), v.toString()]);
      return Number((plan as Record<string, unknown>[])[0]?.['rows'] ?? 0);
    };
    const total = await estimateBelow(max + 1n);
    const { bounds, counts } = await balancedIntegerBounds(min, max, ranges, total, estimateBelow);
    const merged = dedupe('integer', bounds.map(String), rowsPerRange(counts, total));
    return { ...merged, method: `index statistics of ${key.index} (EXPLAIN range estimates, ${total} rows)`, min: min.toString(), max: max.toString() };
  }
}

/**
 * Ranges assuming keys spread evenly between 1 and the next AUTO_INCREMENT value (or the row
 * estimate): for planning without a server (tests, benchmarks, dry runs). Integer keys only.
 */
export class UniformRangeSource implements ShardRangeSource {
  async estimate(table: CatalogTable, key: ShardKeyChoice, ranges: number): Promise<ShardRangeEstimate> {
    if (key.type !== 'integer') {
      throw new CleaveError('INVALID_ARGUMENT', `uniform ranges need an integer key; ${table.name}.${key.column} is ${key.type}`);
    }
    const top = BigInt(table.autoIncrement ?? String(Math.max(table.rowEstimate, ranges) + 1));
    const bounds: KeyValue[] = [];
    for (let i = 1; i < ranges; i += 1) bounds.push((1n + ((top - 1n) * BigInt(i)) / BigInt(ranges)).toString());
    const rows = Array.from({ length: ranges }, () => Math.round(table.rowEstimate / ranges));
    return Promise.resolve({ bounds, rows, method: 'uniform over the key space', min: '1', max: (top - 1n).toString() });
  }
}
