import type { StatementAnalysis } from './statement-analyzer.js';

/**
 * MariaDB's SEQUENCE engine tables (`seq_1_to_100`, `seq_0_to_99_step_3`): virtual, computed by
 * whichever server runs the statement, in every database. They never move and never break a split.
 */
const SEQUENCE_TABLE = /^seq_\d+_to_\d+(?:_step_\d+)?$/i;

export function isSequenceTable(name: string): boolean {
  return SEQUENCE_TABLE.test(name.slice(name.lastIndexOf('.') + 1));
}

/** What a name a statement uses stands for, seen from the planned database. */
export type RelationKind = 'table' | 'view' | 'other-database' | 'sequence' | 'missing';

/**
 * Classifies a table name from a statement's analysis (bare for the planned database, `db.table`
 * for another): a base table of the catalog, a view, a table of another database, a sequence
 * engine table, or a name the database does not have (dropped, temporary, misspelled).
 */
export function relationKind(name: string, tables: ReadonlySet<string>, views: ReadonlySet<string>): RelationKind {
  if (tables.has(name)) return 'table';
  if (isSequenceTable(name)) return 'sequence';
  if (name.includes('.')) return 'other-database';
  return views.has(name) ? 'view' : 'missing';
}

/**
 * The analysis without the names that are not relations a split places: sequence engine tables
 * and names the database does not have. Views and other databases' tables stay (they stay on the
 * source, so a statement joining them with a moved table does break).
 */
export function withoutPhantoms(analysis: StatementAnalysis, keep: (name: string) => boolean): StatementAnalysis {
  if (analysis.tables.every(keep)) return analysis;
  return {
    ...analysis,
    tables: analysis.tables.filter(keep),
    writtenTables: analysis.writtenTables.filter(keep),
    joins: analysis.joins.filter(([a, b]) => keep(a) && keep(b)),
    equalityColumns: analysis.equalityColumns.filter((u) => keep(u.table)),
  };
}
