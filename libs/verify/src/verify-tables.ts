import { aggregateReport, type VerificationReport } from './verification-report.js';
import { verifyTable, type VerifyChunkOptions, type VerifyProgress } from './table-verifier.js';
import type { RowFilter, SyncQueryable, TableName, TableShape, TransactionalPool } from '@cleave/mysql';

/** One table to verify. */
export interface VerifyTableSpec {
  readonly sourceShape: TableShape;
  readonly targetTable: TableName;
  readonly filter?: RowFilter;
}

/** Arguments of {@link verifyTables}. */
export interface VerifyTablesArgs extends VerifyChunkOptions {
  readonly source: SyncQueryable;
  readonly target: TransactionalPool;
  readonly tables: readonly VerifyTableSpec[];
  readonly repair: boolean;
  /** @defaultValue 5 */
  readonly maxPasses?: number;
  readonly onProgress?: (progress: VerifyProgress) => void;
  readonly signal?: AbortSignal;
}

/**
 * Verifies (and repairs) every table, one after the other, and aggregates the report. `clean`
 * only when every table's last pass was clean.
 */
export async function verifyTables(args: VerifyTablesArgs): Promise<VerificationReport> {
  const started = performance.now();
  const results = [];
  for (const spec of args.tables) {
    results.push(
      await verifyTable({
        ...args,
        sourceShape: spec.sourceShape,
        targetTable: spec.targetTable,
        ...(spec.filter === undefined ? {} : { filter: spec.filter }),
      }),
    );
  }
  return aggregateReport(results, Math.round(performance.now() - started));
}
