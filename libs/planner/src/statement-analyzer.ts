import sqlParser from 'node-sql-parser/build/mariadb.js';

/** What a statement does, for the planner. */
export const STATEMENT_KINDS = ['read', 'write', 'other'] as const;

/** One of {@link STATEMENT_KINDS}. */
export type StatementKind = (typeof STATEMENT_KINDS)[number];

/** A column compared for equality with a value (`col = ?`, `col IN (...)`). */
export interface ColumnUse {
  readonly table: string;
  readonly column: string;
}

/** What the planner needs to know about one statement. */
export interface StatementAnalysis {
  /** False when the SQL parser refused it (tables are then a best-effort guess). */
  readonly parsed: boolean;
  /** The parser's complaint when `parsed` is false. */
  readonly error?: string;
  readonly kind: StatementKind;
  /**
   * Tables the statement touches, sorted: bare names for the planned database, `db.table` for
   * tables of other databases.
   */
  readonly tables: readonly string[];
  /** Tables it writes (subset of `tables`). */
  readonly writtenTables: readonly string[];
  /** Pairs of tables compared column to column (join conditions), each pair sorted. */
  readonly joins: readonly (readonly [string, string])[];
  /** Columns compared for equality with a value. */
  readonly equalityColumns: readonly ColumnUse[];
}

/** Construction settings of {@link StatementAnalyzer}. */
export interface StatementAnalyzerConfig {
  /** The database being planned: its tables are named bare. */
  readonly database: string;
  /**
   * Columns of a table of the planned database, to attribute unqualified columns in
   * multi-table statements; `undefined` when the table is unknown.
   */
  readonly columnsOf?: (table: string) => ReadonlySet<string> | undefined;
}

interface RawTable {
  readonly db: string | null;
  readonly table: string;
}

interface RawColumn {
  /** Resolved table, or null when the statement did not say. */
  readonly table: RawTable | null;
  readonly column: string;
}

interface RawAnalysis {
  readonly kind: StatementKind;
  readonly tables: readonly RawTable[];
  readonly written: readonly RawTable[];
  readonly joins: readonly (readonly [RawTable, RawTable])[];
  readonly equalities: readonly RawColumn[];
}

type RawResult = { readonly ok: true; readonly raw: RawAnalysis } | { readonly ok: false; readonly error: string };

type Node = Record<string, unknown>;

const PLACEHOLDER = '__cleave_i';
const PLACEHOLDER_RE = /^__cleave_i(\d+)$/;

const parser = new sqlParser.Parser();
const PARSE_OPTIONS = { database: 'MariaDB' };

const WRITE_TYPES = new Set(['insert', 'replace', 'update', 'delete']);
const TABLELESS = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|SAVEPOINT|RELEASE|SET|SHOW|USE|SELECT\s+@@|SELECT\s+(\?|\d+|DATABASE|VERSION|NOW|CONNECTION_ID|LAST_INSERT_ID|FOUND_ROWS)\b(?![^]*\bFROM\b)|PING|DO\s|KILL|FLUSH|XA\s|LOCK|UNLOCK|PREPARE|EXECUTE|DEALLOCATE|HELP|ANALYZE|OPTIMIZE|CHECK|REPAIR|EXPLAIN|DESCRIBE|DESC\s|GRANT|REVOKE|CREATE|DROP|ALTER|TRUNCATE|RENAME)\b/i;

/**
 * Analyses normalised statements (performance_schema digest text or log fingerprints) with a
 * real SQL parser (node-sql-parser, MariaDB grammar): tables, read/write, joins and the
 * columns compared in `WHERE`. Statements the parser refuses are returned with `parsed: false`
 * and a best-effort table list, never thrown.
 *
 * Parsing is the expensive part, so results are cached by the statement's *skeleton*: the
 * text with every backquoted identifier replaced by a numbered placeholder (digest text quotes
 * every identifier). Statements that differ only in table and column names are parsed once.
 *
 * @example
 * const analyzer = new StatementAnalyzer({ database: 'accounts' });
 * analyzer.analyze('SELECT * FROM `users` `u` JOIN `addresses` `a` ON `a`.`user_id` = `u`.`id` WHERE `u`.`email` = ?', 'accounts');
 * // { parsed: true, kind: 'read', tables: ['addresses', 'users'], joins: [['addresses', 'users']], ... }
 */
export class StatementAnalyzer {
  readonly #config: StatementAnalyzerConfig;
  readonly #cache = new Map<string, RawResult>();
  #parses = 0;
  #hits = 0;

  constructor(config: StatementAnalyzerConfig) {
    this.#config = Object.freeze({ ...config });
  }

  /** How many statements were parsed, and how many were answered from the skeleton cache. */
  get stats(): { readonly parses: number; readonly cacheHits: number } {
    return { parses: this.#parses, cacheHits: this.#hits };
  }

  /** Analyses one statement; `schema` is the default database it ran in (`null`: the planned one). */
  analyze(text: string, schema: string | null): StatementAnalysis {
    const prepared = prepareForParser(text);
    if (TABLELESS.test(prepared) && !/\bFROM\b|\bINTO\b|\bUPDATE\b|\bTABLE\b/i.test(prepared.replace(/^\s*(CREATE|DROP|ALTER|TRUNCATE|RENAME)\b[^]*/i, ''))) {
      return { parsed: true, kind: 'other', tables: [], writtenTables: [], joins: [], equalityColumns: [] };
    }
    const { skeleton, names } = skeletonOf(prepared);
    let result = this.#cache.get(skeleton);
    if (result === undefined) {
      this.#parses += 1;
      result = parseRaw(skeleton);
      this.#cache.set(skeleton, result);
    } else {
      this.#hits += 1;
    }
    const real = (name: string): string => {
      const m = PLACEHOLDER_RE.exec(name);
      return m === null ? name : (names[Number(m[1])] ?? name);
    };
    const defaultDb = schema ?? this.#config.database;
    const qualify = (t: RawTable): string => {
      const db = t.db === null ? defaultDb : real(t.db);
      const table = real(t.table);
      return db === this.#config.database ? table : `${db}.${table}`;
    };
    if (!result.ok) {
      const guessed = guessTables(prepared).map((t) => qualify({ db: t.db, table: t.table }));
      const tables = [...new Set(guessed)].sort();
      const write = /^\s*(INSERT|REPLACE|UPDATE|DELETE)\b/i.test(prepared);
      return {
        parsed: false,
        error: result.error,
        kind: tables.length === 0 ? 'other' : write ? 'write' : 'read',
        tables,
        writtenTables: write && tables.length > 0 ? [tables[0]!] : [],
        joins: [],
        equalityColumns: [],
      };
    }
    const raw = result.raw;
    const tables = sortedUnique(raw.tables.map(qualify));
    const writtenTables = sortedUnique(raw.written.map(qualify));
    const pairKey = new Set<string>();
    const joins: [string, string][] = [];
    for (const [a, b] of raw.joins) {
      const x = qualify(a);
      const y = qualify(b);
      if (x === y) continue;
      const pair: [string, string] = x < y ? [x, y] : [y, x];
      const key = pair.join('\u0000');
      if (!pairKey.has(key)) {
        pairKey.add(key);
        joins.push(pair);
      }
    }
    joins.sort((p, q) => (p[0] + '\u0000' + p[1] < q[0] + '\u0000' + q[1] ? -1 : 1));
    const equalityColumns: ColumnUse[] = [];
    const seen = new Set<string>();
    for (const eq of raw.equalities) {
      const column = real(eq.column);
      let table: string | undefined;
      if (eq.table !== null) table = qualify(eq.table);
      else if (tables.length === 1) table = tables[0];
      else {
        const owners = tables.filter((t) => this.#config.columnsOf?.(t)?.has(column));
        if (owners.length === 1) table = owners[0];
      }
      if (table === undefined) continue;
      const key = `${table}\u0000${column}`;
      if (!seen.has(key)) {
        seen.add(key);
        equalityColumns.push({ table, column });
      }
    }
    return { parsed: true, kind: tables.length === 0 ? 'other' : raw.kind, tables, writtenTables, joins, equalityColumns };
  }
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * Digest text as the parser accepts it: `(...)` lists become `(?)` (a `VALUES (...)` tuple gets
 * one `?` per listed column), `/* , ... *\/` continuation comments go, and a trailing `LIMIT`
 * and a trailing `ORDER BY` of `DELETE`/`UPDATE` (which the MariaDB grammar refuses there) are
 * dropped: they change neither tables nor predicates.
 */
export function prepareForParser(text: string): string {
  let t = text.replace(/\/\*[^]*?\*\//g, ' ');
  t = t.replace(/\(\s*([^()]*?)\s*\)\s*VALUES\s*\(\s*\.\.\.\s*\)/gi, (_m, cols: string) => {
    const count = cols.split(',').length;
    return `( ${cols} ) VALUES (${Array.from({ length: count }, () => '?').join(', ')})`;
  });
  t = t.replace(/\(\s*\.\.\.\s*\)/g, '(?)');
  t = t.replace(/\s+LIMIT\s+(\?|\d+)(\s*(,|OFFSET)\s*(\?|\d+))?\s*(FOR\s+UPDATE|LOCK\s+IN\s+SHARE\s+MODE)?\s*;?\s*$/i, (_m, _a, _b, _c, _d, lock: string | undefined) =>
    lock === undefined ? '' : ` ${lock}`,
  );
  // DELETE/UPDATE … ORDER BY … (valid MariaDB, refused by the grammar): the order changes neither
  if (/^\s*(DELETE|UPDATE)\b/i.test(t)) t = t.replace(/\s+ORDER\s+BY\s+(?:[^()'"]|\([^()]*\))*$/i, '');
  return t.replace(/\s+/g, ' ').trim();
}

/** The text with backquoted identifiers numbered by first appearance, and the names. */
function skeletonOf(text: string): { skeleton: string; names: string[] } {
  const names: string[] = [];
  const index = new Map<string, number>();
  const skeleton = text.replace(/`((?:[^`]|``)*)`/g, (_m, inner: string) => {
    const name = inner.replaceAll('``', '`');
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    return `\`${PLACEHOLDER}${i}\``;
  });
  return { skeleton, names };
}

function parseRaw(sql: string): RawResult {
  let ast: unknown;
  try {
    ast = parser.astify(sql, PARSE_OPTIONS);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: message.length > 160 ? `${message.slice(0, 157)}...` : message };
  }
  const statements = (Array.isArray(ast) ? ast : [ast]) as Node[];
  const tables: RawTable[] = [];
  const written: RawTable[] = [];
  const joins: [RawTable, RawTable][] = [];
  const equalities: RawColumn[] = [];
  let kind: StatementKind = 'other';
  for (const stmt of statements) {
    if (typeof stmt !== 'object' || stmt === null) continue;
    const type = String(stmt['type'] ?? '').toLowerCase();
    const aliases = new Map<string, RawTable>();
    const refs: RawTable[] = [];
    collectTables(stmt, aliases, refs);
    tables.push(...refs);
    if (WRITE_TYPES.has(type)) {
      kind = 'write';
      const targets = asTables(stmt['table']).map((t) => resolveTable(t, aliases));
      written.push(...(targets.length > 0 ? targets : refs.slice(0, 1)));
    } else if (type === 'select' && kind === 'other') {
      kind = 'read';
    }
    const only = refs.length === 1 ? refs[0]! : null;
    collectPredicates(stmt, aliases, only, joins, equalities);
  }
  return { ok: true, raw: { kind, tables, written, joins, equalities } };
}

function asTables(value: unknown): Node[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Node => typeof v === 'object' && v !== null && typeof (v as Node)['table'] === 'string');
}

function resolveTable(node: Node, aliases: Map<string, RawTable>): RawTable {
  const table = node['table'] as string;
  const db = typeof node['db'] === 'string' && node['db'] !== '' ? (node['db'] as string) : null;
  if (db === null) {
    const aliased = aliases.get(table);
    if (aliased !== undefined) return aliased;
  }
  return { db, table };
}

/** Every table reference (`{db, table, as}` objects) in the tree, recording aliases. */
function collectTables(node: unknown, aliases: Map<string, RawTable>, out: RawTable[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectTables(item, aliases, out);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Node;
  if (typeof n['table'] === 'string' && 'db' in n && n['type'] !== 'column_ref') {
    const ref: RawTable = { db: typeof n['db'] === 'string' && n['db'] !== '' ? (n['db'] as string) : null, table: n['table'] as string };
    const alias = typeof n['as'] === 'string' ? (n['as'] as string) : null;
    // DELETE t FROM t ... lists the alias again: resolve it instead of adding a table.
    if (ref.db === null && aliases.has(ref.table) && alias === null) {
      // already known through its alias
    } else {
      out.push(ref);
      aliases.set(alias ?? ref.table, ref);
      if (alias !== null && !aliases.has(ref.table)) aliases.set(ref.table, ref);
    }
  }
  for (const [key, value] of Object.entries(n)) {
    if (key === 'table' && typeof value === 'string') continue;
    if (typeof value === 'object' && value !== null) collectTables(value, aliases, out);
  }
}

function nameOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Node;
    if (typeof v['value'] === 'string') return v['value'] as string;
    if (typeof v['expr'] === 'object' && v['expr'] !== null) return nameOf(v['expr']);
  }
  return null;
}

function columnOf(node: unknown, aliases: Map<string, RawTable>, only: RawTable | null): RawColumn | null {
  if (typeof node !== 'object' || node === null) return null;
  const n = node as Node;
  if (n['type'] !== 'column_ref') return null;
  const column = nameOf(n['column']);
  if (column === null || column === '*') return null;
  const qualifier = nameOf(n['table']);
  const db = nameOf(n['db']);
  if (qualifier === null) return { table: only, column };
  const table = db === null ? (aliases.get(qualifier) ?? { db: null, table: qualifier }) : { db, table: qualifier };
  return { table, column };
}

const EQUALITY = new Set(['=', '<=>', 'IN']);

function collectPredicates(
  node: unknown,
  aliases: Map<string, RawTable>,
  only: RawTable | null,
  joins: [RawTable, RawTable][],
  equalities: RawColumn[],
): void {
  if (Array.isArray(node)) {
    for (const item of node) collectPredicates(item, aliases, only, joins, equalities);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Node;
  if (n['type'] === 'binary_expr' && typeof n['operator'] === 'string') {
    const left = columnOf(n['left'], aliases, only);
    const right = columnOf(n['right'], aliases, only);
    if (left !== null && right !== null) {
      if (left.table !== null && right.table !== null) joins.push([left.table, right.table]);
    } else if (EQUALITY.has(n['operator'].toUpperCase())) {
      if (left !== null) equalities.push(left);
      else if (right !== null && n['operator'] !== 'IN') equalities.push(right);
    }
  }
  for (const value of Object.values(n)) {
    if (typeof value === 'object' && value !== null) collectPredicates(value, aliases, only, joins, equalities);
  }
}

const GUESS = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+((?:`(?:[^`]|``)+`|[A-Za-z_$][\w$]*)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[A-Za-z_$][\w$]*))?)/gi;

/** Tables named after FROM/JOIN/INTO/UPDATE, for statements the parser refused. */
function guessTables(text: string): RawTable[] {
  const out: RawTable[] = [];
  for (const m of text.matchAll(GUESS)) {
    const parts = m[1]!.split(/\s*\.\s*(?=`|[A-Za-z_$])/).map((p) => (p.startsWith('`') ? p.slice(1, -1).replaceAll('``', '`') : p));
    if (parts.length === 2) out.push({ db: parts[0]!, table: parts[1]! });
    else if (parts[0] !== undefined && !/^(SELECT|DUAL|LATERAL)$/i.test(parts[0])) out.push({ db: null, table: parts[0] });
  }
  return out;
}
