import type { OperationNode, RootOperationNode } from 'kysely';
import { parseRawSql } from './raw-sql.js';

/** A table a query names: `schema` absent means the connection's default database. */
export interface TableName {
  readonly schema: string | undefined;
  readonly table: string;
}

/** What the router needs to know about one compiled query. */
export interface QueryAnalysis {
  readonly kind: 'select' | 'insert' | 'update' | 'delete' | 'other';
  /** Every table named (CTE names excluded). */
  readonly tables: readonly TableName[];
  /** The table a write changes (insert into / update / delete from). */
  readonly written: TableName | undefined;
  /** The query came from raw SQL (found with the SQL parser). */
  readonly raw: boolean;
  /** Raw SQL the parser could not read (tables unknown). */
  readonly unparsed: boolean;
  /** The text of raw fragments inside a built query (checked for table names by the router). */
  readonly rawFragments: string;
  /** An UPDATE or DELETE that writes more than one table (`UPDATE a, b SET ...`, `DELETE a, b FROM ...`). */
  readonly multiTableWrite: boolean;
  /** What the statement is, for messages: the root node's kind or the raw statement's type (`AlterTableNode`, `truncate`). */
  readonly statement: string;
}

type AnyNode = OperationNode & Record<string, unknown>;

const isNode = (v: unknown): v is AnyNode => typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';

/** `TableNode` (or an `AliasNode` around one) -> its name. */
export function tableNameOf(node: unknown): TableName | undefined {
  if (!isNode(node)) return undefined;
  if (node.kind === 'AliasNode') return tableNameOf(node['node']);
  if (node.kind !== 'TableNode') return undefined;
  const id = node['table'] as { schema?: { name: string }; identifier: { name: string } };
  return { schema: id.schema?.name, table: id.identifier.name };
}

/** The alias of an `AliasNode` around a table, if any. */
export function aliasOf(node: unknown): string | undefined {
  if (!isNode(node) || node.kind !== 'AliasNode') return undefined;
  const alias = node['alias'] as { kind: string; name?: string };
  return alias.kind === 'IdentifierNode' ? alias.name : undefined;
}

function walk(node: unknown, tables: TableName[], ctes: Set<string>, flags: { raw: boolean; fragments: string[] }): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, tables, ctes, flags);
    return;
  }
  if (!isNode(node)) return;
  switch (node.kind) {
    case 'TableNode': {
      const name = tableNameOf(node);
      if (name !== undefined) tables.push(name);
      return;
    }
    // `u.email` or `u.*`: the table part names a table (or alias) the FROM, JOIN or target already
    // declares; read as a table it would make an alias look like a table on the home server.
    case 'ReferenceNode':
      return;
    case 'CommonTableExpressionNameNode': {
      const name = tableNameOf(node['table']);
      if (name !== undefined) ctes.add(name.table);
      return;
    }
    case 'RawNode':
      flags.raw = true;
      flags.fragments.push(...(node['sqlFragments'] as string[]));
      break;
    default:
      break;
  }
  for (const key of Object.keys(node)) {
    if (key === 'kind') continue;
    const value = node[key];
    if (typeof value === 'object' && value !== null) walk(value, tables, ctes, flags);
  }
}

function dedupe(tables: readonly TableName[], ctes: ReadonlySet<string>): TableName[] {
  const seen = new Map<string, TableName>();
  for (const t of tables) {
    if (t.schema === undefined && ctes.has(t.table)) continue;
    seen.set(`${t.schema ?? ''}.${t.table}`, t);
  }
  return [...seen.values()];
}

const ANALYSIS_CACHE_SIZE = 5_000;
const analyses = new Map<string, QueryAnalysis>();

/**
 * Finds the tables of a compiled query from its operation node; raw SQL (a `sql` template, or raw
 * fragments inside a built query) is read with a SQL parser instead. Cached by the compiled SQL
 * text (and root kind): the text names every table and fragment, only parameter values vary,
 * and a service runs the same few hundred statement shapes over and over.
 */
export function analyzeQuery(node: RootOperationNode, sql: string): QueryAnalysis {
  const key = `${node.kind}\u0000${sql}`;
  let analysis = analyses.get(key);
  if (analysis === undefined) {
    analysis = analyzeUncached(node, sql);
    if (analyses.size >= ANALYSIS_CACHE_SIZE) analyses.clear(); // many shapes (IN lists of every length): start over
    analyses.set(key, Object.freeze(analysis));
  }
  return analysis;
}

function analyzeUncached(node: RootOperationNode, sql: string): QueryAnalysis {
  const tables: TableName[] = [];
  const ctes = new Set<string>();
  const flags = { raw: false, fragments: [] as string[] };
  walk(node, tables, ctes, flags);
  if (node.kind === 'RawNode') {
    // A `sql` template run on its own: the tables come from a real SQL parser.
    const parsed = parseRawSql(sql);
    if (parsed === null) return { kind: 'other', tables: [], written: undefined, raw: true, unparsed: true, rawFragments: '', multiTableWrite: false, statement: 'raw SQL' };
    return { kind: parsed.kind, tables: parsed.tables, written: parsed.written, raw: true, unparsed: false, rawFragments: '', multiTableWrite: parsed.writtenCount > 1, statement: parsed.statement };
  }
  const n = node as AnyNode;
  let written: TableName | undefined;
  let multiTableWrite = false;
  if (n.kind === 'InsertQueryNode') written = tableNameOf(n['into']);
  else if (n.kind === 'UpdateQueryNode') {
    // `UPDATE a, b SET ...`: Kysely holds the tables in a ListNode.
    const target = n['table'] as AnyNode | undefined;
    if (target?.kind === 'ListNode') multiTableWrite = ((target['items'] as unknown[]) ?? []).length > 1;
    written = multiTableWrite ? undefined : tableNameOf(target?.kind === 'ListNode' ? (target['items'] as unknown[])[0] : target);
  } else if (n.kind === 'DeleteQueryNode') {
    const froms = (n['from'] as { froms: unknown[] }).froms;
    multiTableWrite = froms.length > 1;
    written = multiTableWrite ? undefined : tableNameOf(froms[0]);
  }
  return { kind: kindOf(node), tables: dedupe(tables, ctes), written, raw: false, unparsed: false, rawFragments: flags.fragments.join(' '), multiTableWrite, statement: node.kind };
}

/** The columns an UPDATE's SET, or an INSERT's ON DUPLICATE KEY UPDATE, assigns (empty for anything else). */
export function updatedColumns(node: RootOperationNode): string[] {
  const n = node as unknown as AnyNode;
  const updates =
    node.kind === 'UpdateQueryNode'
      ? ((n['updates'] as AnyNode[] | undefined) ?? [])
      : node.kind === 'InsertQueryNode'
        ? (((n['onDuplicateKey'] as AnyNode | undefined)?.['updates'] as AnyNode[] | undefined) ?? [])
        : [];
  return updates.flatMap((u) => {
    const column = u['column'] as AnyNode | undefined;
    const id = column?.kind === 'ColumnNode' ? (column['column'] as { name?: string } | undefined) : undefined;
    return id?.name === undefined ? [] : [id.name];
  });
}

function kindOf(node: RootOperationNode): QueryAnalysis['kind'] {
  switch (node.kind) {
    case 'SelectQueryNode':
      return 'select';
    case 'InsertQueryNode':
      return 'insert';
    case 'UpdateQueryNode':
      return 'update';
    case 'DeleteQueryNode':
      return 'delete';
    default:
      return 'other';
  }
}
