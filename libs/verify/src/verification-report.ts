import type { DifferenceKind } from './row-diff.js';

/** One differing row as reported (the first few of a run). */
export interface SampleDifference {
  /** `database.table` of the source table. */
  readonly table: string;
  /** The key, encoded with `encodeKey` (JSON; Buffers as `{"$hex": ...}`). */
  readonly key: string;
  readonly kind: DifferenceKind;
}

/** What verification found in one table, summed over its passes. */
export interface TableVerification {
  /** `database.table` of the source table. */
  readonly table: string;
  readonly passes: number;
  readonly chunks: number;
  /** Rows of the primary checked (summed over passes). */
  readonly rowsChecked: number;
  /** Rows found different (a row found in two passes counts twice). */
  readonly rowsDiffering: number;
  /** Rows the repair actually changed on the target (inserted + updated + deleted). */
  readonly rowsRepaired: number;
  /** True when the last pass found nothing to repair and every chunk matched. */
  readonly clean: boolean;
  readonly durationMs: number;
  readonly sampleDifferences: readonly SampleDifference[];
}

/** The result of verifying a set of tables. */
export interface VerificationReport {
  readonly tables: readonly TableVerification[];
  /** The most passes any table needed. */
  readonly passes: number;
  readonly chunks: number;
  readonly rowsChecked: number;
  readonly rowsDiffering: number;
  readonly rowsRepaired: number;
  /** True when every table is clean. */
  readonly clean: boolean;
  readonly durationMs: number;
  /** The first few differences over all tables. */
  readonly sampleDifferences: readonly SampleDifference[];
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
