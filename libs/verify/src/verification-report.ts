import type { DifferenceKind } from './row-diff.js';

/** One differing row as reported (the first few of a run). */
export interface SampleDifference {
  /** `database.table` of the source table. */
  readonly table: string;
  /** The key, encoded with `encodeKey` (JSON; Buffers as `{"$hex": ...}`). */
  readonly key: string;
  readonly kind: DifferenceKind;
}

/** What verification counts, for one table or a set of them. */
interface VerificationCounts {
  /** For a table, its passes; for a set, the most passes any table needed. */
  readonly passes: number;
  readonly chunks: number;
  /** Rows of the primary checked (summed over passes). */
  readonly rowsChecked: number;
  /** Rows found different (a row found in two passes counts twice). */
  readonly rowsDiffering: number;
  /** Rows the repair actually changed on the target (inserted + updated + deleted). */
  readonly rowsRepaired: number;
  /** For a table: the last pass found nothing to repair and every chunk matched; for a set: every table is. */
  readonly clean: boolean;
  readonly durationMs: number;
  /** The first few differences. */
  readonly sampleDifferences: readonly SampleDifference[];
}

/** What verification found in one table, summed over its passes. */
export interface TableVerification extends VerificationCounts {
  /** `database.table` of the source table. */
  readonly table: string;
}

/** The result of verifying a set of tables. */
export interface VerificationReport extends VerificationCounts {
  readonly tables: readonly TableVerification[];
}

/** How many differences a report keeps. */
export const MAX_SAMPLE_DIFFERENCES = 20;

/** Sums table results into one report. */
export function aggregateReport(tables: readonly TableVerification[], durationMs: number): VerificationReport {
  const sum = (pick: (table: TableVerification) => number): number => tables.reduce((total, table) => total + pick(table), 0);
  return {
    tables,
    passes: tables.reduce((most, table) => Math.max(most, table.passes), 0),
    chunks: sum((table) => table.chunks),
    rowsChecked: sum((table) => table.rowsChecked),
    rowsDiffering: sum((table) => table.rowsDiffering),
    rowsRepaired: sum((table) => table.rowsRepaired),
    clean: tables.every((table) => table.clean),
    durationMs,
    sampleDifferences: tables.flatMap((table) => table.sampleDifferences).slice(0, MAX_SAMPLE_DIFFERENCES),
  };
}
