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
}

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
}

/** Adds one execution to the map entry for `digest`. */
export function addExecution(
  totals: Map<string, StatementTotals>,
  entry: { digest: string; text: string; schema: string | null; timeMs?: number; rowsExamined?: number; rowsAffected?: number; rowsSent?: number },
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
}

/** Sorted, frozen statements from the aggregate. */
export function statementsOf(totals: Map<string, StatementTotals>, timed: boolean): WorkloadStatement[] {
  return [...totals.values()]
    .map((t) => ({ ...t, totalTimeMs: timed ? t.totalTimeMs : null }))
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
