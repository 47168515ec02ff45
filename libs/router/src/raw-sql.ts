import nodeSqlParser from 'node-sql-parser';
import type { QueryAnalysis, TableName } from './query-analysis.js';

const parser = new nodeSqlParser.Parser();

/** What the SQL parser found in raw SQL. */
export interface RawSqlTables {
  readonly kind: QueryAnalysis['kind'];
  readonly tables: TableName[];
  readonly written: TableName | undefined;
  /** Tables the statement writes (more than one: a multi-table UPDATE or DELETE). */
  readonly writtenCount: number;
  /** The statement's type as the parser names it (`select`, `alter`, `truncate`, ...). */
  readonly statement: string;
}

const KINDS: Record<string, QueryAnalysis['kind']> = { select: 'select', insert: 'insert', replace: 'insert', update: 'update', delete: 'delete' };

/**
 * Reads the tables of one raw statement with node-sql-parser (MariaDB grammar). `null` when the
 * text does not parse, or holds several statements.
 */
export function parseRawSql(sql: string): RawSqlTables | null {
  let result: { tableList: string[]; ast: unknown };
  try {
    result = parser.parse(sql, { database: 'MariaDB' }) as { tableList: string[]; ast: unknown };
  } catch {
    return null;
  }
  const ast = Array.isArray(result.ast) ? (result.ast.length === 1 ? result.ast[0] : null) : result.ast;
  if (ast === null || typeof ast !== 'object') return null;
  const type = String((ast as { type?: unknown }).type ?? '').toLowerCase();
  const kind = KINDS[type] ?? 'other';
  const tables = new Map<string, TableName>();
  let written: TableName | undefined;
  const writtenTables = new Set<string>();
  for (const entry of result.tableList) {
    const [op, schema, table] = entry.split('::') as [string, string, string];
    if (table === undefined) continue;
    const name: TableName = { schema: schema === 'null' ? undefined : schema, table };
    tables.set(`${name.schema ?? ''}.${name.table}`, name);
    if (op !== 'select' && kind !== 'select' && kind !== 'other') {
      written ??= name;
      writtenTables.add(`${name.schema ?? ''}.${name.table}`);
    }
  }
  // `DELETE s, u FROM a s JOIN b u`: the parser's table list marks only the first table as
  // deleted from; the statement's targets (by alias or name) name every table it deletes from.
  if (kind === 'delete') for (const target of deleteTargets(ast)) writtenTables.add(`${target.schema ?? ''}.${target.table}`);
  return { kind, tables: [...tables.values()], written, writtenCount: writtenTables.size, statement: type || 'raw SQL' };
}

interface ParsedTableRef {
  readonly db?: string | null;
  readonly table?: string;
  readonly as?: string | null;
}

/** The tables a DELETE deletes from: its targets, each resolved through the FROM's aliases. */
function deleteTargets(ast: object): TableName[] {
  const { table: targets, from } = ast as { table?: unknown; from?: unknown };
  if (!Array.isArray(targets) || !Array.isArray(from)) return [];
  const sources = from as ParsedTableRef[];
  const out: TableName[] = [];
  for (const target of targets as ParsedTableRef[]) {
    const source = sources.find((f) => f.as === target.table) ?? sources.find((f) => f.table === target.table && (target.db ?? null) === (f.db ?? null));
    if (source?.table !== undefined) out.push({ schema: source.db ?? undefined, table: source.table });
  }
  return out;
}

/** Whether `sql` mentions `table` as a word (case-insensitive): the fallback check for SQL that does not parse. */
export function mentionsTable(sql: string, table: string): boolean {
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_$])${escaped}([^A-Za-z0-9_$]|$)`, 'i').test(sql);
}
