import type { TableGraph } from './table-graph.js';

/**
 * Fewer executions than this on the database's tables is too small a sample to rank tables by
 * load: a handful of statements (a seed script, a smoke test) decide where every table goes.
 */
export const MIN_WORKLOAD_EXECUTIONS = 1_000;

/** How much of the workload a computed split rests on. */
export interface WorkloadSufficiency {
  /** Executions of statements that touch tables of the database. */
  readonly executions: number;
  /** Distinct statements (digests) among them. */
  readonly statements: number;
  /** Base tables no statement touched: a computed split places them by foreign keys and size only. */
  readonly idleTables: readonly string[];
  /** Base tables of the database. */
  readonly tables: number;
  readonly minExecutions: number;
  /** Fewer than `minExecutions` executions. */
  readonly thin: boolean;
}

export function workloadSufficiency(graph: TableGraph, minExecutions = MIN_WORKLOAD_EXECUTIONS): WorkloadSufficiency {
  const touching = graph.statements.filter((s) => s.analysis.tables.length > 0);
  const executions = touching.reduce((n, s) => n + s.executions, 0);
  const base = graph.tables.filter((t) => !t.external);
  return {
    executions,
    statements: touching.length,
    idleTables: base.filter((t) => t.executions <= 0).map((t) => t.name),
    tables: base.length,
    minExecutions,
    thin: executions < minExecutions,
  };
}
