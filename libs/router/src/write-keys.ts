import type { OperationNode, QueryCompiler, RootOperationNode } from 'kysely';
import { quoteIdentifier, rawToKeyPart, rawTypeCast, type KeyPart, type KeyTuple, type ShapeColumn, type TableShape } from '@cleave/mysql';
import { aliasOf, tableNameOf } from './query-analysis.js';
import { RouterError } from './router-error.js';
import { run, type RouterPoolConnection } from './router-pool.js';

type AnyNode = OperationNode & Record<string, unknown>;
const isNode = (v: unknown): v is AnyNode => typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';

/** An OK packet of a write. */
export interface WriteResult {
  readonly insertId?: number | string | bigint;
  readonly affectedRows?: number;
}

/**
 * How to find the keys a write touches, exactly: `before` runs inside the primary transaction
 * before the write (locking what it selects), `after` with the write's result.
 */
export interface WriteKeyPlan {
  /**
   * Whether `before`/`after` query the primary, so the write must run in a primary transaction.
   * `false`: the keys come from the statement itself (or its insert id) and the write may
   * run as one autocommit statement.
   */
  readonly inTransaction: boolean;
  /**
   * Set when the statement may be replayed on the shadow as is (see {@link isReplayable}): the
   * keys it states. The router's replay mode sends it to both sides at once.
   */
  readonly replayKeys?: readonly KeyTuple[];
  before(connection: RouterPoolConnection): Promise<KeyTuple[]>;
  after(connection: RouterPoolConnection, result: WriteResult): Promise<KeyTuple[]>;
}

const RAW = (sql: string, parameters: OperationNode[] = []): AnyNode => ({ kind: 'RawNode', sqlFragments: parameters.length === 0 ? [sql] : sql.split('\u0000'), parameters }) as unknown as AnyNode;
const SELECTION = (node: AnyNode): AnyNode => ({ kind: 'SelectionNode', selection: node }) as unknown as AnyNode;

function unsupported(message: string): RouterError {
  return new RouterError('unsupported-write', message, {
    hint: 'Write the key values explicitly (or use a single-row insert for auto-increment keys), so the router can copy the rows to the shadow side.',
  });
}

/** The raw select expression of a key column, qualified. */
function keyExpression(column: ShapeColumn, qualifier: string): string {
  return column.readExpression.replace(column.quoted, `${qualifier}.${column.quoted}`);
}

/** Converts raw key rows to key tuples. */
function toKeys(shape: TableShape, rows: unknown, offset = 0): KeyTuple[] {
  return (rows as (Buffer | null)[][]).map((row) => shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, row[offset + i] ?? null)));
}

async function selectRaw(connection: RouterPoolConnection, sql: string, values: readonly unknown[]): Promise<unknown> {
  return run(connection, { sql, rowsAsArray: true, typeCast: rawTypeCast }, values);
}

/** A JS value written into a key column -> the key part syncKeys takes; `undefined` when not usable. */
function keyPartOf(column: ShapeColumn, value: unknown): KeyPart | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  return undefined;
}

function columnName(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (node.kind === 'ColumnNode') return (node['column'] as { name: string }).name;
  if (node.kind === 'ReferenceNode') return columnName(node['column']);
  return undefined;
}

/** Literal values of one VALUES row, `undefined` for DEFAULT, a marker for expressions. */
const EXPRESSION = Symbol('expression');
function rowValues(item: AnyNode): unknown[] {
  if (item.kind === 'PrimitiveValueListNode') return [...(item['values'] as unknown[])];
  if (item.kind === 'ValueListNode') {
    return (item['values'] as AnyNode[]).map((v) => (v.kind === 'ValueNode' ? v['value'] : v.kind === 'DefaultInsertValueNode' ? undefined : EXPRESSION));
  }
  return [EXPRESSION];
}

/** The table qualifier SQL of a table node (alias, or [schema.]table). */
function qualifierOf(node: unknown): string {
  const alias = aliasOf(node);
  if (alias !== undefined) return quoteIdentifier(alias);
  const name = tableNameOf(node)!;
  return name.schema === undefined ? quoteIdentifier(name.table) : `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/**
 * Plans how to find the keys a builder write touches (see {@link WriteKeyPlan}). Throws
 * `unsupported-write` (before anything runs) when they cannot be found exactly.
 */
export function planWriteKeys(root: RootOperationNode, shape: TableShape, compiler: QueryCompiler, autoIncMode: number): WriteKeyPlan {
  const node = root as unknown as AnyNode;
  if (node.kind === 'UpdateQueryNode' || node.kind === 'DeleteQueryNode') return planSelectKeys(node, shape, compiler);
  if (node.kind === 'InsertQueryNode') return planInsertKeys(node, shape, autoIncMode);
  throw unsupported(`the router cannot follow a ${node.kind} write to ${shape.table}`);
}

function planSelectKeys(node: AnyNode, shape: TableShape, compiler: QueryCompiler): WriteKeyPlan {
  let tableNode: unknown;
  const froms: unknown[] = [];
  if (node.kind === 'UpdateQueryNode') {
    tableNode = node['table'];
    froms.push(tableNode);
    const extra = node['from'] as { froms: unknown[] } | undefined;
    if (extra !== undefined) froms.push(...extra.froms);
  } else {
    const from = (node['from'] as { froms: unknown[] }).froms;
    if (from.length !== 1 || node['using'] !== undefined) throw unsupported(`a multi-table DELETE touching ${shape.table} cannot be followed to the shadow side`);
    tableNode = from[0];
    froms.push(tableNode);
  }
  const qualifier = qualifierOf(tableNode);
  const selections: AnyNode[] = shape.keyShapeColumns.map((c) => SELECTION(RAW(keyExpression(c, qualifier))));
  // A key-changing UPDATE: also select the new key values (the SET expressions), so old and new keys are synced.
  const updates = (node['updates'] as AnyNode[] | undefined) ?? [];
  const newKey = shape.keyShapeColumns.map((column) => updates.find((u) => columnName(u['column']) === column.name));
  const changesKey = newKey.some((u) => u !== undefined);
  if (changesKey) {
    shape.keyShapeColumns.forEach((column, i) => {
      const update = newKey[i];
      if (update === undefined) selections.push(SELECTION(RAW(keyExpression(column, qualifier))));
      else if (column.codec === 'text') selections.push(SELECTION(RAW(`CAST(CONVERT(\u0000 USING ${column.charset ?? 'utf8mb4'}) AS BINARY)`, [update['value'] as AnyNode])));
      else if (column.codec === 'binary') selections.push(SELECTION(RAW(`CAST(\u0000 AS BINARY)`, [update['value'] as AnyNode])));
      else selections.push(SELECTION(RAW(`CAST(\u0000 AS CHAR)`, [update['value'] as AnyNode])));
    });
  }
  const select = {
    kind: 'SelectQueryNode',
    from: { kind: 'FromNode', froms },
    selections,
    ...(node['joins'] === undefined ? {} : { joins: node['joins'] }),
    ...(node['where'] === undefined ? {} : { where: node['where'] }),
    ...(node['orderBy'] === undefined ? {} : { orderBy: node['orderBy'] }),
    ...(node['limit'] === undefined ? {} : { limit: node['limit'] }),
    ...(node['with'] === undefined ? {} : { with: node['with'] }),
    endModifiers: [{ kind: 'SelectModifierNode', modifier: 'ForUpdate' }],
  } as unknown as RootOperationNode;
  if (!changesKey) {
    const known = statedKeys(node, shape);
    if (known !== undefined) {
      return { inTransaction: false, ...(isReplayable(node) ? { replayKeys: known } : {}), before: async () => known.map((key) => [...key]), after: async () => [] };
    }
  }
  const compiled = compiler.compileQuery(select, { queryId: 'cleave-touched-keys' });
  let found: KeyTuple[] = [];
  return {
    inTransaction: true,
    async before(connection) {
      const rows = await selectRaw(connection, compiled.sql, compiled.parameters);
      found = toKeys(shape, rows);
      if (changesKey) found.push(...toKeys(shape, rows, shape.keyShapeColumns.length));
      return found;
    },
    async after() {
      return [];
    },
  };
}

function planInsertKeys(node: AnyNode, shape: TableShape, autoIncMode: number): WriteKeyPlan {
  const values = node['values'] as AnyNode | undefined;
  if (values === undefined || values.kind !== 'ValuesNode') throw unsupported(`INSERT … SELECT into ${shape.table} cannot be followed to the shadow side`);
  const columns = ((node['columns'] as AnyNode[] | undefined) ?? []).map((c) => columnName(c) ?? '');
  const rows = (values['values'] as AnyNode[]).map(rowValues);
  const conflicting = node['ignore'] === true || node['replace'] === true || node['onDuplicateKey'] !== undefined;
  const autoInc = shape.catalog.columns.find((c) => c.autoIncrement)?.name;

  // Keys given literally, and rows whose key is generated.
  const literalKeys: KeyTuple[] = [];
  let generated = 0;
  for (const row of rows) {
    const parts: (KeyPart | undefined)[] = shape.keyShapeColumns.map((column) => {
      const at = columns.indexOf(column.name);
      const value = at < 0 ? undefined : row[at];
      return value === EXPRESSION ? undefined : keyPartOf(column, value);
    });
    if (parts.every((p) => p !== undefined)) {
      literalKeys.push(parts as KeyPart[]);
      continue;
    }
    const missing = shape.keyShapeColumns.filter((_, i) => parts[i] === undefined);
    const at = autoInc === undefined ? -1 : columns.indexOf(autoInc);
    const autoValue = at < 0 ? undefined : row[at];
    if (missing.length === 1 && missing[0]!.name === autoInc && (autoValue === undefined || autoValue === null)) generated += 1;
    else throw unsupported(`an INSERT into ${shape.table} does not give key column(s) ${missing.map((c) => c.name).join(', ')} as plain values`);
  }

  // Unique keys whose values every row gives literally: used to find rows an IGNORE / REPLACE / ODKU met.
  const uniqueLookups: string[] = [];
  const uniqueValues: unknown[] = [];
  if (conflicting) {
    const uniques = [...(shape.catalog.primaryKey === null ? [] : [shape.catalog.primaryKey]), ...shape.catalog.uniqueKeys.map((u) => u.columns)];
    for (const cols of uniques) {
      const positions = cols.map((c) => columns.indexOf(c));
      if (positions.some((p) => p < 0)) continue;
      const tuples = rows.map((row) => positions.map((p) => row[p]));
      if (tuples.some((t) => t.some((v) => v === EXPRESSION || v === undefined || v === null))) continue;
      uniqueLookups.push(`(${cols.map(quoteIdentifier).join(', ')}) IN (${tuples.map((t) => `(${t.map(() => '?').join(', ')})`).join(', ')})`);
      for (const t of tuples) uniqueValues.push(...t);
    }
  }
  if (generated > 0 && conflicting && uniqueLookups.length === 0 && rows.length > 1) {
    throw unsupported(`a multi-row INSERT IGNORE/REPLACE/ON DUPLICATE KEY UPDATE into ${shape.table} with generated keys and no unique values cannot be followed`);
  }
  if (generated > 1 && !conflicting && autoIncMode === 2) {
    throw unsupported(`a multi-row INSERT into ${shape.table} with generated keys cannot be followed when innodb_autoinc_lock_mode = 2 (ids may not be consecutive)`);
  }
  const table = `${quoteIdentifier(shape.database)}.${quoteIdentifier(shape.table)}`;
  const lookup = uniqueLookups.length === 0 ? undefined : `SELECT ${shape.keyShapeColumns.map((c) => c.readExpression).join(', ')} FROM ${table} WHERE ${uniqueLookups.join(' OR ')}`;
  return {
    inTransaction: lookup !== undefined,
    async before(connection) {
      if (lookup === undefined) return [];
      return toKeys(shape, await selectRaw(connection, `${lookup} FOR UPDATE`, uniqueValues));
    },
    async after(connection, result) {
      const keys = [...literalKeys];
      if (generated > 0) {
        const first = result.insertId === undefined ? 0n : BigInt(result.insertId);
        if (first > 0n) {
          const count = rows.length === 1 ? 1 : generated;
          for (let i = 0n; i < BigInt(count); i += 1n) keys.push([String(first + i)]);
        }
      }
      if (lookup !== undefined) keys.push(...toKeys(shape, await selectRaw(connection, lookup, uniqueValues)));
      return keys;
    },
  };
}

const INTEGER_TEXT = /^-?\d{1,20}$/;

/**
 * The keys an UPDATE/DELETE states itself: a single integer key column pinned by `=` / `IN`
 * in a WHERE of one table (other AND-ed conditions only narrow the rows: the keys stay a
 * superset of the touched rows, which syncing tolerates). `undefined` when the keys must be
 * looked up (joins, other key types, expressions).
 */
function statedKeys(node: AnyNode, shape: TableShape): KeyTuple[] | undefined {
  const [column] = shape.keyShapeColumns;
  if (shape.keyShapeColumns.length !== 1 || column === undefined || column.codec !== 'integer') return undefined;
  if (node['joins'] !== undefined || (node.kind === 'UpdateQueryNode' && node['from'] !== undefined) || node['with'] !== undefined || node['using'] !== undefined) return undefined;
  const values = whereKeyValues(node['where'], column.name);
  if (values === undefined) return undefined;
  const keys: KeyTuple[] = [];
  for (const value of values) {
    const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : '') : typeof value === 'bigint' ? String(value) : typeof value === 'string' ? value : '';
    if (!INTEGER_TEXT.test(text)) return undefined;
    keys.push([text]);
  }
  return keys;
}

/** Root properties a replayable UPDATE / DELETE may have (anything else: joins, ORDER BY, LIMIT, RETURNING, CTEs, ...). */
const REPLAYABLE_ROOT: Readonly<Record<string, ReadonlySet<string>>> = {
  UpdateQueryNode: new Set(['kind', 'table', 'updates', 'where']),
  DeleteQueryNode: new Set(['kind', 'from', 'where']),
};
/** Nodes whose result depends only on the row they are applied to and on literal values. */
const REPLAYABLE_NODES = new Set([
  'AliasNode', 'AndNode', 'BinaryOperationNode', 'ColumnNode', 'ColumnUpdateNode', 'FromNode', 'IdentifierNode', 'OperatorNode', 'OrNode', 'ParensNode',
  'PrimitiveValueListNode', 'ReferenceNode', 'SchemableIdentifierNode', 'TableNode', 'ValueListNode', 'ValueNode', 'WhereNode',
]);
const isLiteral = (v: unknown): boolean => v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v) || Buffer.isBuffer(v);

function replayableTree(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(replayableTree);
  if (!isNode(value)) return false;
  if (!REPLAYABLE_NODES.has(value.kind)) return false;
  if (value.kind === 'ValueNode') return isLiteral(value['value']);
  if (value.kind === 'PrimitiveValueListNode') return (value['values'] as unknown[]).every(isLiteral);
  if (value.kind === 'SchemableIdentifierNode' && value['schema'] !== undefined) return false; // the shadow's database may be named differently
  for (const [key, child] of Object.entries(value)) {
    if (key === 'kind' || child === undefined) continue;
    if (typeof child === 'object' && child !== null && !replayableTree(child)) return false;
  }
  return true;
}

/**
 * Whether an UPDATE / DELETE gives the same result on any copy of the rows it addresses: one
 * table (no schema prefix), SET values and WHERE operands that are literals or the row's own
 * columns, no function calls (NOW(), RAND(), ...), subqueries, joins, ORDER BY / LIMIT or raw SQL.
 * (ON UPDATE CURRENT_TIMESTAMP columns are made deterministic by the caller, which pins the time.)
 */
export function isReplayable(node: OperationNode): boolean {
  const root = node as AnyNode;
  const allowed = REPLAYABLE_ROOT[root.kind];
  if (allowed === undefined) return false;
  for (const [key, child] of Object.entries(root)) {
    if (child === undefined) continue;
    if (!allowed.has(key)) return false;
    if (key !== 'kind' && !replayableTree(child)) return false;
  }
  return true;
}

/** Shard key values in a WHERE (`=` / `IN` on `column`); `undefined` when the WHERE does not pin them. */
export function whereKeyValues(where: unknown, column: string): unknown[] | undefined {
  if (!isNode(where)) return undefined;
  switch (where.kind) {
    case 'WhereNode':
      return whereKeyValues(where['where'], column);
    case 'ParensNode':
      return whereKeyValues(where['node'], column);
    case 'AndNode':
      return whereKeyValues(where['left'], column) ?? whereKeyValues(where['right'], column);
    case 'OrNode': {
      const l = whereKeyValues(where['left'], column);
      const r = whereKeyValues(where['right'], column);
      return l !== undefined && r !== undefined ? [...l, ...r] : undefined;
    }
    case 'BinaryOperationNode': {
      if (columnName(where['leftOperand']) !== column) return undefined;
      const op = (where['operator'] as { operator?: string }).operator?.toLowerCase();
      const right = where['rightOperand'] as AnyNode;
      if (op === '=' && right.kind === 'ValueNode') return [right['value']];
      if (op === 'in' && right.kind === 'PrimitiveValueListNode') return [...(right['values'] as unknown[])];
      if (op === 'in' && right.kind === 'ValueListNode') {
        const items = right['values'] as AnyNode[];
        return items.every((i) => i.kind === 'ValueNode') ? items.map((i) => i['value']) : undefined;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Shard key values of a builder write or read: inserted values, or the WHERE. */
export function statementKeyValues(root: RootOperationNode, column: string): unknown[] | undefined {
  const node = root as unknown as AnyNode;
  if (node.kind === 'InsertQueryNode') {
    const values = node['values'] as AnyNode | undefined;
    if (values === undefined || values.kind !== 'ValuesNode') return undefined;
    const at = ((node['columns'] as AnyNode[] | undefined) ?? []).findIndex((c) => columnName(c) === column);
    if (at < 0) return undefined;
    const out = (values['values'] as AnyNode[]).map((item) => rowValues(item)[at]);
    return out.some((v) => v === EXPRESSION || v === undefined || v === null) ? undefined : out;
  }
  return whereKeyValues(node['where'], column);
}
