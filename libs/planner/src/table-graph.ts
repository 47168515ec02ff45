import type { Catalog } from '@cleave/mysql';
import { relationKind, withoutPhantoms } from './relations.js';
import { StatementAnalyzer, type StatementAnalysis } from './statement-analyzer.js';
import type { Workload, WorkloadStatement } from './workload.js';

/** A statement of the workload, analysed, with its weight in the balance measure. */
export interface GraphStatement {
  readonly digest: string;
  readonly text: string;
  readonly executions: number;
  /** Total time in ms (0 when the workload is untimed). */
  readonly timeMs: number;
  /** Its load in the balance measure: time when known, else executions. */
  readonly weight: number;
  readonly analysis: StatementAnalysis;
  /** Literal values per column reference (log workloads only), see {@link WorkloadStatement.keyLiterals}. */
  readonly keyLiterals?: WorkloadStatement['keyLiterals'];
  /** Connections that ran it (general log only). */
  readonly connections?: WorkloadStatement['connections'];
}

/** Tables touched by one transaction shape (general log), and its weight. */
export interface GraphTransaction {
  readonly digests: readonly string[];
  readonly text: string;
  readonly count: number;
  readonly tables: readonly string[];
  readonly weight: number;
}

/** One table and its share of the load. */
export interface TableNode {
  readonly name: string;
  /** A table of another database (or not in the catalog): it cannot move. */
  readonly external: boolean;
  readonly rows: number;
  readonly bytes: number;
  /** Executions attributed to this table (a statement's count is shared among its tables). */
  readonly executions: number;
  readonly timeMs: number;
  readonly rowsExamined: number;
  readonly rowsAffected: number;
  /** Load in the balance measure (fraction of statements' weight, shared among their tables). */
  readonly weight: number;
  /** Executions of statements comparing each column for equality with a value. */
  readonly equalityUse: ReadonlyMap<string, number>;
}

/** Two tables accessed together. */
export interface TableEdge {
  readonly a: string;
  readonly b: string;
  /** Weight of the statements (and transactions) that touch both. */
  readonly weight: number;
  /** Executions of statements that join them column to column. */
  readonly joinExecutions: number;
  /** Executions of transactions that touch both. */
  readonly transactionCount: number;
  /** Foreign keys between them (`table.name`). */
  readonly foreignKeys: readonly string[];
}

/** A statement the SQL parser refused. */
export interface UnparsedStatement {
  readonly digest: string;
  readonly text: string;
  readonly executions: number;
  readonly error: string;
}

/** Tables weighted by load, edges weighted by co-access and foreign keys. */
export interface TableGraph {
  readonly database: string;
  readonly timed: boolean;
  /** Sorted by name; catalog tables first-class, external tables flagged. */
  readonly tables: readonly TableNode[];
  readonly edges: readonly TableEdge[];
  readonly statements: readonly GraphStatement[];
  readonly transactions: readonly GraphTransaction[];
  readonly total: { readonly executions: number; readonly timeMs: number; readonly weight: number };
  /** Weight of statements that touch no table (they stay with the source connection). */
  readonly tablelessWeight: number;
  readonly tablelessExecutions: number;
  readonly tablelessTimeMs: number;
  readonly unparsed: readonly UnparsedStatement[];
  readonly parseStats: { readonly parses: number; readonly cacheHits: number };
  /**
   * Names statements use that the database does not have (dropped or temporary tables), with the
   * executions that named them: left out of the graph, never listed as tables.
   */
  readonly missingTables: ReadonlyMap<string, number>;
}

/** Options of {@link buildTableGraph}. */
export interface TableGraphOptions {
  /** Views of the planned database: they stay on the source (a statement naming one is not missing a table). */
  readonly views?: readonly string[];
}

interface MutableNode {
  name: string;
  external: boolean;
  rows: number;
  bytes: number;
  executions: number;
  timeMs: number;
  rowsExamined: number;
  rowsAffected: number;
  weight: number;
  equalityUse: Map<string, number>;
}

interface MutableEdge {
  a: string;
  b: string;
  weight: number;
  joinExecutions: number;
  transactionCount: number;
  foreignKeys: string[];
}

/**
 * Builds the table graph of a database from its catalog and a workload (or none: then every
 * load is zero and only foreign keys connect tables).
 *
 * @example
 * const graph = buildTableGraph(catalog, await readDigestWorkload(pool, 'accounts'));
 */
export function buildTableGraph(catalog: Catalog, workload: Workload | null, options: TableGraphOptions = {}): TableGraph {
  const columns = new Map(catalog.tables.map((t) => [t.name, new Set(t.columns.map((c) => c.name))]));
  const baseTables = new Set(columns.keys());
  const views = new Set(options.views ?? []);
  const missingTables = new Map<string, number>();
  const analyzer = new StatementAnalyzer({ database: catalog.database, columnsOf: (t) => columns.get(t) });
  const nodes = new Map<string, MutableNode>();
  const node = (name: string): MutableNode => {
    let n = nodes.get(name);
    if (n === undefined) {
      const t = columns.has(name) ? catalog.tables.find((x) => x.name === name) : undefined;
      n = {
        name,
        external: t === undefined,
        rows: t?.rowEstimate ?? 0,
        bytes: t === undefined ? 0 : t.dataBytes + t.indexBytes,
        executions: 0,
        timeMs: 0,
        rowsExamined: 0,
        rowsAffected: 0,
        weight: 0,
        equalityUse: new Map(),
      };
      nodes.set(name, n);
    }
    return n;
  };
  for (const t of catalog.tables) node(t.name);
  const edges = new Map<string, MutableEdge>();
  const edge = (x: string, y: string): MutableEdge => {
    const [a, b] = x < y ? [x, y] : [y, x];
    const key = `${a}\u0000${b}`;
    let e = edges.get(key);
    if (e === undefined) {
      e = { a, b, weight: 0, joinExecutions: 0, transactionCount: 0, foreignKeys: [] };
      edges.set(key, e);
    }
    return e;
  };
  for (const t of catalog.tables) {
    for (const fk of t.foreignKeys) {
      const parent = fk.referencedSchema === catalog.database ? fk.referencedTable : `${fk.referencedSchema}.${fk.referencedTable}`;
      if (parent === t.name) continue;
      node(parent);
      edge(t.name, parent).foreignKeys.push(`${t.name}.${fk.name}`);
    }
  }

  const timed = workload !== null && workload.timed && workload.statements.some((s) => (s.totalTimeMs ?? 0) > 0);
  const statements: GraphStatement[] = [];
  const unparsed: UnparsedStatement[] = [];
  const byDigest = new Map<string, GraphStatement>();
  let tablelessWeight = 0;
  let tablelessExecutions = 0;
  let tablelessTimeMs = 0;
  const total = { executions: 0, timeMs: 0, weight: 0 };
  for (const s of workload?.statements ?? []) {
    const raw = analyzer.analyze(s.text, s.schema);
    // Sequence engine tables and names the database lacks are not relations a split places.
    const phantoms = new Set<string>();
    for (const name of raw.tables) {
      const kind = relationKind(name, baseTables, views);
      if (kind === 'missing') missingTables.set(name, (missingTables.get(name) ?? 0) + s.executions);
      if (kind === 'sequence' || kind === 'missing') phantoms.add(name);
    }
    const analysis = withoutPhantoms(raw, (name) => !phantoms.has(name));
    const timeMs = s.totalTimeMs ?? 0;
    const weight = timed ? timeMs : s.executions;
    const g: GraphStatement = { digest: s.digest, text: s.text, executions: s.executions, timeMs, weight, analysis, ...(s.keyLiterals === undefined ? {} : { keyLiterals: s.keyLiterals }), ...(s.connections === undefined ? {} : { connections: s.connections }) };
    statements.push(g);
    byDigest.set(s.digest, g);
    total.executions += s.executions;
    total.timeMs += timeMs;
    total.weight += weight;
    if (!analysis.parsed) unparsed.push({ digest: s.digest, text: s.text, executions: s.executions, error: analysis.error ?? 'not parsed' });
    const k = analysis.tables.length;
    if (k === 0) {
      tablelessWeight += weight;
      tablelessExecutions += s.executions;
      tablelessTimeMs += timeMs;
      continue;
    }
    for (const name of analysis.tables) {
      const n = node(name);
      n.executions += s.executions / k;
      n.timeMs += timeMs / k;
      n.weight += weight / k;
      n.rowsExamined += s.rowsExamined / k;
      n.rowsAffected += s.rowsAffected / k;
    }
    for (const use of analysis.equalityColumns) {
      const n = node(use.table);
      n.equalityUse.set(use.column, (n.equalityUse.get(use.column) ?? 0) + s.executions);
    }
    for (let i = 0; i < k; i += 1) {
      for (let j = i + 1; j < k; j += 1) edge(analysis.tables[i]!, analysis.tables[j]!).weight += weight;
    }
    for (const [a, b] of analysis.joins) edge(a, b).joinExecutions += s.executions;
  }
  const transactions: GraphTransaction[] = [];
  for (const t of workload?.transactions ?? []) {
    const members = t.digests.map((d) => byDigest.get(d)).filter((g): g is GraphStatement => g !== undefined);
    const tables = [...new Set(members.flatMap((g) => g.analysis.tables))].sort();
    if (tables.length < 2) continue;
    // the transaction's weight: one execution of each member per transaction
    const weight = t.count * members.reduce((sum, g) => sum + (g.executions > 0 ? g.weight / g.executions : 0), 0);
    transactions.push({ digests: t.digests, text: members.map((g) => g.text).join('; '), count: t.count, tables, weight });
    for (let i = 0; i < tables.length; i += 1) {
      for (let j = i + 1; j < tables.length; j += 1) {
        const e = edge(tables[i]!, tables[j]!);
        e.weight += weight;
        e.transactionCount += t.count;
      }
    }
  }
  const sortedNodes = [...nodes.values()].sort((x, y) => (x.name < y.name ? -1 : 1));
  const sortedEdges = [...edges.values()]
    .map((e) => ({ ...e, foreignKeys: [...e.foreignKeys].sort() }))
    .sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1));
  return {
    database: catalog.database,
    timed,
    tables: sortedNodes,
    edges: sortedEdges,
    statements,
    transactions,
    total,
    tablelessWeight,
    tablelessExecutions,
    tablelessTimeMs,
    unparsed,
    parseStats: analyzer.stats,
    missingTables,
  };
}
