import type { OperationNode, RootOperationNode } from 'kysely';
import { RouterError } from './router-error.js';

type AnyNode = OperationNode & Record<string, unknown>;
const isNode = (v: unknown): v is AnyNode => typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';

/**
 * How the per-shard answers of a read fanned out over shards become its answer, for the shapes
 * where that is exact (an allow-list):
 * - `rows`: one table's plain columns under a WHERE; the rows concatenate.
 * - `ordered`: the same with ORDER BY plain selected columns, and an optional LIMIT (no OFFSET):
 *   each shard returns its first rows in order, merged by the order, cut at the limit.
 * - `aggregate`: only `COUNT(*)`, `COUNT(col)`, `SUM(col)`, `MIN(col)`, `MAX(col)` (no DISTINCT,
 *   no GROUP BY): each shard's one row, re-aggregated (counts and sums added, min of the minima).
 */
export type FanoutMerge =
  | { readonly kind: 'rows' }
  | { readonly kind: 'ordered'; readonly order: ReadonlyArray<{ readonly column: string; readonly descending: boolean }>; readonly limit: number | undefined }
  | { readonly kind: 'aggregate'; readonly columns: ReadonlyArray<{ readonly name: string; readonly fn: 'count' | 'sum' | 'min' | 'max' }> };

/** The parts of a SELECT a fan-out read may have. */
const FANOUT_SELECT_PARTS = new Set(['kind', 'from', 'selections', 'where', 'orderBy', 'limit']);

function columnOf(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (node.kind === 'ReferenceNode') return columnOf(node['column']);
  if (node.kind === 'ColumnNode') return (node['column'] as { name?: string }).name;
  return undefined;
}

function aliasName(node: AnyNode): string | undefined {
  const alias = node['alias'] as { kind?: string; name?: string } | undefined;
  return alias?.kind === 'IdentifierNode' ? alias.name : undefined;
}

/** How the answers of a fanned-out `node` merge; `undefined`: they cannot be merged exactly (refuse it). */
export function fanoutMerge(node: RootOperationNode): FanoutMerge | undefined {
  if (node.kind !== 'SelectQueryNode') return undefined;
  const n = node as unknown as AnyNode;
  for (const [key, value] of Object.entries(n)) if (value !== undefined && !FANOUT_SELECT_PARTS.has(key)) return undefined;
  const selections = ((n['selections'] as AnyNode[] | undefined) ?? []).map((s) => s['selection'] as AnyNode);
  const aggregates = selections.map(aggregateOf);
  if (aggregates.every((a) => a !== undefined) && aggregates.length > 0) {
    return n['orderBy'] === undefined && n['limit'] === undefined ? { kind: 'aggregate', columns: aggregates as Array<{ name: string; fn: 'count' | 'sum' | 'min' | 'max' }> } : undefined;
  }
  const plain = selections.map((s) => (s.kind === 'SelectAllNode' ? '*' : s.kind === 'AliasNode' ? (columnOf(s['node']) === undefined ? undefined : aliasName(s)) : columnOf(s)));
  if (plain.some((p) => p === undefined)) return undefined;
  const orderBy = n['orderBy'] as AnyNode | undefined;
  const limitNode = n['limit'] as AnyNode | undefined;
  if (orderBy === undefined) return limitNode === undefined ? { kind: 'rows' } : undefined;
  const order: Array<{ column: string; descending: boolean }> = [];
  for (const item of orderBy['items'] as AnyNode[]) {
    const column = columnOf(item['orderBy']);
    if (column === undefined || item['nulls'] !== undefined || item['collation'] !== undefined) return undefined;
    // Merged by the value each row carries: the column must be in the answer under its own name.
    if (!plain.includes('*') && !plain.includes(column)) return undefined;
    const direction = item['direction'] as AnyNode | undefined;
    const words = direction?.kind === 'RawNode' ? (direction['sqlFragments'] as string[]).join('').trim().toLowerCase() : direction === undefined ? 'asc' : undefined;
    if (words !== 'asc' && words !== 'desc') return undefined;
    order.push({ column, descending: words === 'desc' });
  }
  let limit: number | undefined;
  if (limitNode !== undefined) {
    const value = (limitNode['limit'] as AnyNode | undefined)?.['value'];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return undefined;
    limit = value;
  }
  return { kind: 'ordered', order, limit };
}

function aggregateOf(selection: AnyNode): { name: string; fn: 'count' | 'sum' | 'min' | 'max' } | undefined {
  if (selection.kind !== 'AliasNode') return undefined;
  const name = aliasName(selection);
  const fnNode = selection['node'] as AnyNode;
  if (name === undefined || fnNode.kind !== 'AggregateFunctionNode') return undefined;
  const fn = String(fnNode['func']).toLowerCase();
  if (fn !== 'count' && fn !== 'sum' && fn !== 'min' && fn !== 'max') return undefined;
  if (fnNode['distinct'] === true || fnNode['orderBy'] !== undefined || fnNode['filter'] !== undefined || fnNode['over'] !== undefined || fnNode['withinGroup'] !== undefined) return undefined;
  const args = fnNode['aggregated'] as AnyNode[];
  const [only] = args;
  if (args.length !== 1 || only === undefined) return undefined;
  // countAll() holds its `*` in a SelectionNode.
  const arg = only.kind === 'SelectionNode' ? (only['selection'] as AnyNode) : only;
  if (!(arg.kind === 'SelectAllNode' && fn === 'count') && columnOf(arg) === undefined) return undefined;
  return { name, fn };
}

/** A shard's answer: its rows and mysql2's column definitions (their types decide how values compare). */
export interface ShardAnswer {
  readonly rows: ReadonlyArray<Record<string, unknown>>;
  readonly fields: ReadonlyArray<{ readonly name: string; readonly columnType?: number; readonly characterSet?: number }> | undefined;
}

/** mysql2's column type codes of strings and the binary character set. */
const STRING_TYPES = new Set([15, 247, 248, 249, 250, 251, 252, 253, 254]);
const BINARY_CHARSET = 63;
/** DECIMAL / NEWDECIMAL: exact numbers, as strings by default. */
const DECIMAL_TYPES = new Set([0, 246]);

function unmergeable(column: string): RouterError {
  return new RouterError('shard-fanout-unsupported', `a read fanned out over shards orders or takes MIN/MAX by text column ${column}, whose collation the router cannot compare: its per-shard answers cannot be merged`, {
    hint: `Give the shard key (= or IN), order by a number, date or binary column, or merge ${column} in the service.`,
  });
}

/** How values of one answer column compare, exactly as the server compares them; throws for text under a collation. */
function comparatorOf(answers: readonly ShardAnswer[], column: string): (a: unknown, b: unknown) => number {
  const field = answers.flatMap((a) => a.fields ?? []).find((f) => f.name === column);
  const text = field !== undefined && STRING_TYPES.has(field.columnType ?? -1) && field.characterSet !== BINARY_CHARSET;
  const decimal = field !== undefined && DECIMAL_TYPES.has(field.columnType ?? -1);
  return (a, b) => {
    // NULL sorts first (ascending), as MySQL sorts it.
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
    if (b === null || b === undefined) return 1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'bigint' || typeof b === 'bigint') return compareDecimal(String(a), String(b));
    if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
    if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
    if (typeof a === 'string' && typeof b === 'string') {
      if (decimal || (/^-?\d+(\.\d+)?$/.test(a) && /^-?\d+(\.\d+)?$/.test(b) && !text)) return compareDecimal(a, b);
      if (text) throw unmergeable(column);
      return a < b ? -1 : a > b ? 1 : 0; // temporal text (dateStrings): its order is the text's
    }
    throw unmergeable(column);
  };
}

/** `a` and `b` as scaled integers of the same scale. */
function scaled(a: string, b: string): [bigint, bigint, number] {
  const scale = Math.max(a.split('.')[1]?.length ?? 0, b.split('.')[1]?.length ?? 0);
  const toInt = (v: string) => {
    const [whole = '', fraction = ''] = v.split('.');
    const negative = whole.startsWith('-');
    const digits = BigInt(`${whole.replace('-', '') || '0'}${fraction.padEnd(scale, '0')}`);
    return negative ? -digits : digits;
  };
  return [toInt(a), toInt(b), scale];
}

function compareDecimal(a: string, b: string): number {
  const [x, y] = scaled(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `a + b` of two exact numbers as the driver returned them (numbers, bigints, decimal text). */
function add(a: unknown, b: unknown): unknown {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b;
  const [x, y, scale] = scaled(String(a), String(b));
  const sum = x + y;
  const digits = (sum < 0n ? -sum : sum).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return sum < 0n ? `-${text}` : text;
}

/** The answer of a fanned-out read from its shards' answers (see {@link FanoutMerge}). */
export function mergeFanout(merge: FanoutMerge, answers: readonly ShardAnswer[]): Array<Record<string, unknown>> {
  if (merge.kind === 'rows') return answers.flatMap((a) => a.rows);
  if (merge.kind === 'ordered') {
    const comparators = merge.order.map(({ column, descending }) => {
      const compare = comparatorOf(answers, column);
      return (x: Record<string, unknown>, y: Record<string, unknown>) => (descending ? -1 : 1) * compare(x[column], y[column]);
    });
    const rows = answers.flatMap((a) => a.rows).sort((x, y) => {
      for (const compare of comparators) {
        const c = compare(x, y);
        if (c !== 0) return c;
      }
      return 0;
    });
    return merge.limit === undefined ? rows : rows.slice(0, merge.limit);
  }
  const row: Record<string, unknown> = {};
  for (const { name, fn } of merge.columns) {
    const values = answers.map((a) => a.rows[0]?.[name]);
    if (fn === 'count' || fn === 'sum') row[name] = values.reduce(add, fn === 'count' ? undefined : null) ?? null;
    else {
      const compare = comparatorOf(answers, name);
      const present = values.filter((v) => v !== null && v !== undefined);
      row[name] = present.length === 0 ? null : present.reduce((best, v) => ((fn === 'min' ? compare(v, best) < 0 : compare(v, best) > 0) ? v : best));
    }
  }
  return [row];
}
