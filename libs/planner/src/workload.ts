/** Where a workload was read from. */
export const WORKLOAD_ORIGINS = ['performance_schema', 'slow-log', 'general-log'] as const;

/** One of {@link WORKLOAD_ORIGINS}. */
export type WorkloadOrigin = (typeof WORKLOAD_ORIGINS)[number];

/** One normalised statement (a digest) and what it cost. */
export interface WorkloadStatement {
  /** performance_schema `DIGEST`, or the fingerprint hash for log files. */
  readonly digest: string;
  /** Normalised text, literals replaced by `?`. */
  readonly text: string;
  /** Default database the statement ran in, or `null` when unknown. */
  readonly schema: string | null;
  readonly executions: number;
  /** Total time in milliseconds; `null` when the origin has no timing (general log). */
  readonly totalTimeMs: number | null;
  readonly rowsExamined: number;
  readonly rowsAffected: number;
  readonly rowsSent: number;
  /**
   * Log origins only (performance_schema digests carry no literals): per column reference as
   * written in an equality or `IN` predicate of `WHERE` (`col` or `qualifier.col`), per literal
   * value, the executions that named it and their time (ms; an `IN` list shares its time).
   */
  readonly keyLiterals?: ReadonlyMap<string, ReadonlyMap<string, KeyLiteralLoad>>;
  /**
   * General log only: the connections (thread ids) that ran it, for the connection share of
   * each server after the split (the account database's trouble was connection storms).
   */
  readonly connections?: ReadonlySet<string>;
}

/** The load one literal key value received from one statement shape. */
export interface KeyLiteralLoad {
  readonly executions: number;
  readonly timeMs: number;
}

/** Most distinct literal values kept per column reference of one statement shape. */
export const MAX_KEY_LITERALS = 50_000;

/** Statements seen together in one transaction (general log), and how often. */
export interface WorkloadTransaction {
  /** Digests in order of first appearance within the transaction. */
  readonly digests: readonly string[];
  readonly count: number;
}

/** What the planner learns from: statements, and transactions where the origin shows them. */
export interface Workload {
  readonly origin: WorkloadOrigin;
  /** Sorted by digest (deterministic). */
  readonly statements: readonly WorkloadStatement[];
  readonly transactions: readonly WorkloadTransaction[];
  /** Whether `totalTimeMs` is known for the statements. */
  readonly timed: boolean;
  /** Things the user should know about the input (lost digests, truncated text…). */
  readonly warnings: readonly string[];
}

/** Mutable aggregate used by the log parsers. */
export interface StatementTotals {
  digest: string;
  text: string;
  schema: string | null;
  executions: number;
  totalTimeMs: number;
  rowsExamined: number;
  rowsAffected: number;
  rowsSent: number;
  keyLiterals?: Map<string, Map<string, { executions: number; timeMs: number }>>;
  connections?: Set<string>;
  /** Set when {@link MAX_KEY_LITERALS} dropped values. */
  literalsTruncated?: boolean;
}

/** Adds one execution to the map entry for `digest`. */
export function addExecution(
  totals: Map<string, StatementTotals>,
  entry: { digest: string; text: string; schema: string | null; timeMs?: number; rowsExamined?: number; rowsAffected?: number; rowsSent?: number; literals?: readonly LiteralPredicate[]; connection?: string },
): void {
  const key = `${entry.schema ?? ''}\u0000${entry.digest}`;
  let t = totals.get(key);
  if (t === undefined) {
    t = { digest: entry.digest, text: entry.text, schema: entry.schema, executions: 0, totalTimeMs: 0, rowsExamined: 0, rowsAffected: 0, rowsSent: 0 };
    totals.set(key, t);
  }
  t.executions += 1;
  t.totalTimeMs += entry.timeMs ?? 0;
  t.rowsExamined += entry.rowsExamined ?? 0;
  t.rowsAffected += entry.rowsAffected ?? 0;
  t.rowsSent += entry.rowsSent ?? 0;
  if (entry.connection !== undefined) (t.connections ??= new Set()).add(entry.connection);
  for (const lit of entry.literals ?? []) {
    if (lit.values.length === 0) continue;
    t.keyLiterals ??= new Map();
    let perValue = t.keyLiterals.get(lit.ref);
    if (perValue === undefined) {
      perValue = new Map();
      t.keyLiterals.set(lit.ref, perValue);
    }
    const time = (entry.timeMs ?? 0) / lit.values.length;
    for (const v of lit.values) {
      let load = perValue.get(v);
      if (load === undefined) {
        if (perValue.size >= MAX_KEY_LITERALS) {
          t.literalsTruncated = true;
          continue;
        }
        load = { executions: 0, timeMs: 0 };
        perValue.set(v, load);
      }
      load.executions += 1;
      load.timeMs += time;
    }
  }
}

/** Literal values compared with one column reference in one statement. */
export interface LiteralPredicate {
  /** `col` or `qualifier.col`, identifiers unquoted. */
  readonly ref: string;
  readonly values: readonly string[];
}

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z_$][\\w$]*)';
const LITERAL = "(?:'(?:[^'\\\\]|\\\\.|'')*'|\"(?:[^\"\\\\]|\\\\.|\"\")*\"|[xX]'[0-9a-fA-F]*'|0x[0-9a-fA-F]+|[-+]?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)";
const PREDICATE = new RegExp(
  `(?:(${IDENT})\\s*\\.\\s*)?(${IDENT})\\s*(?:(?:=|<=>)\\s*(${LITERAL})|\\s+IN\\s*\\(\\s*(${LITERAL}(?:\\s*,\\s*${LITERAL})*)\\s*\\))|${LITERAL}`,
  'gi',
);
const ONE_LITERAL = new RegExp(LITERAL, 'g');

function unquoteIdent(s: string): string {
  return s.startsWith('`') ? s.slice(1, -1).replaceAll('``', '`') : s;
}

/** A literal as a shard key value: strings unquoted, hex as `0x…` lowercase, integers canonical. */
function literalValue(lit: string): string {
  const c = lit[0]!;
  if (c === "'" || c === '"') return lit.slice(1, -1).replaceAll(c + c, c).replace(/\\(.)/g, '$1');
  if (c === 'x' || c === 'X') return `0x${lit.slice(2, -1).toLowerCase()}`;
  if (lit.startsWith('0x')) return lit.toLowerCase();
  if (/^[-+]?\d+$/.test(lit)) return BigInt(lit).toString();
  return lit;
}

/**
 * The literal values compared for equality (`col = v`, `col <=> v`, `col IN (v, …)`) in the
 * `WHERE` part of one raw SQL statement (slow or general log). A cheap scan, not a parse:
 * string literals are skipped as a whole, so text inside them never matches.
 *
 * @example
 * equalityLiterals("SELECT * FROM users u WHERE u.id IN (1, 2) AND email = 'a'");
 * // [{ ref: 'u.id', values: ['1', '2'] }, { ref: 'email', values: ['a'] }]
 */
export function equalityLiterals(sql: string): LiteralPredicate[] {
  const where = /\bWHERE\b/i.exec(sql);
  if (where === null) return [];
  const out: LiteralPredicate[] = [];
  for (const m of sql.slice(where.index).matchAll(PREDICATE)) {
    if (m[2] === undefined) continue; // a bare literal, skipped whole
    const column = unquoteIdent(m[2]);
    const ref = m[1] === undefined ? column : `${unquoteIdent(m[1])}.${column}`;
    const values = m[3] !== undefined ? [literalValue(m[3])] : [...m[4]!.matchAll(ONE_LITERAL)].map((x) => literalValue(x[0]));
    out.push({ ref, values });
  }
  return out;
}

/** Sorted, frozen statements from the aggregate. */
export function statementsOf(totals: Map<string, StatementTotals>, timed: boolean): WorkloadStatement[] {
  return [...totals.values()]
    .map(({ literalsTruncated: _truncated, keyLiterals, ...t }) => ({ ...t, totalTimeMs: timed ? t.totalTimeMs : null, ...(keyLiterals === undefined ? {} : { keyLiterals }) }))
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : (a.schema ?? '').localeCompare(b.schema ?? '')));
}

/**
 * The workload between two snapshots of the same cumulative counters (performance_schema
 * digests): `after - before`, per digest. Statements that did not run in between are left out.
 *
 * @example
 * const before = await readDigestWorkload(pool, 'accounts');
 * await sleep(600_000);
 * const window = diffWorkloads(before, await readDigestWorkload(pool, 'accounts'));
 */
export function diffWorkloads(before: Workload, after: Workload): Workload {
  const key = (s: WorkloadStatement) => `${s.schema ?? ''}\u0000${s.digest}`;
  const old = new Map(before.statements.map((s) => [key(s), s]));
  const statements: WorkloadStatement[] = [];
  for (const s of after.statements) {
    const b = old.get(key(s));
    const executions = s.executions - (b?.executions ?? 0);
    if (executions <= 0) continue;
    statements.push({
      ...s,
      executions,
      totalTimeMs: s.totalTimeMs === null ? null : Math.max(0, s.totalTimeMs - (b?.totalTimeMs ?? 0)),
      rowsExamined: Math.max(0, s.rowsExamined - (b?.rowsExamined ?? 0)),
      rowsAffected: Math.max(0, s.rowsAffected - (b?.rowsAffected ?? 0)),
      rowsSent: Math.max(0, s.rowsSent - (b?.rowsSent ?? 0)),
    });
  }
  return { ...after, statements, warnings: [...new Set([...before.warnings, ...after.warnings])] };
}
