import type { RootOperationNode } from 'kysely';
import { quoteIdentifier, rawTypeCast, rawToKeyPart, type CatalogForeignKey, type KeyTuple, type TableShape } from '@cleave/mysql';
import { updatedColumns } from './query-analysis.js';
import { run, type RouterPoolConnection } from './router-pool.js';
import type { CoveredTable } from './routing-table.js';
import { conflictAction, keyExpression, keysCondition, type WriteKeyPlan } from './write-keys.js';

/**
 * A table of the same migration with a foreign key to a written table, on the same server: the
 * server changes its rows itself (ON DELETE / ON UPDATE CASCADE, SET NULL, SET DEFAULT) when the
 * parent rows are deleted or their referenced columns change. The shadow side applies rows with
 * foreign key checks off (children and parents sync on their own), so nothing cascades there:
 * the router brings the child rows over too.
 */
export interface CascadeChild {
  readonly covered: CoveredTable;
  /** The child's shape on the primary (where the write runs). */
  readonly shape: TableShape;
  readonly foreignKey: CatalogForeignKey;
}

const CHANGES_CHILD: ReadonlySet<string> = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT']);

/** Whether a write may change rows of other tables through foreign keys: a DELETE, a REPLACE, or one that assigns columns. */
export function mayCascade(node: RootOperationNode): boolean {
  return node.kind === 'DeleteQueryNode' || (node.kind === 'InsertQueryNode' && conflictAction(node) === 'replace') || updatedColumns(node).length > 0;
}

/** The children whose rows `node` (a write to their parent) may change through their foreign keys. */
export function cascadingChildren(node: RootOperationNode, children: readonly CascadeChild[]): CascadeChild[] {
  if (children.length === 0) return [];
  const deletes = node.kind === 'DeleteQueryNode' || (node.kind === 'InsertQueryNode' && conflictAction(node) === 'replace');
  const updated = updatedColumns(node);
  return children.filter(({ foreignKey: fk }) => (deletes && CHANGES_CHILD.has(fk.onDelete)) || (CHANGES_CHILD.has(fk.onUpdate) && fk.referencedColumns.some((c) => updated.includes(c))));
}

/** Child keys found for one cascading child. */
export interface CascadeKeys {
  readonly child: CascadeChild;
  readonly keys: KeyTuple[];
}

/**
 * `plan` that also finds, before the write and in its transaction, the child rows its parent
 * keys reference (locked, so none is added or re-pointed before the write cascades). The keys of
 * the parent rows are a superset of those written, so the children found are too.
 */
export function withCascadeKeys(plan: WriteKeyPlan, parent: TableShape, children: readonly CascadeChild[]): { plan: WriteKeyPlan; found(): CascadeKeys[] } {
  const found: CascadeKeys[] = [];
  const parentTable = `${quoteIdentifier(parent.database)}.${quoteIdentifier(parent.table)}`;
  const wrapped: WriteKeyPlan = {
    inTransaction: true,
    before: async (connection: RouterPoolConnection) => {
      const keys = await plan.before(connection);
      found.length = 0;
      if (keys.length === 0) return keys;
      for (const child of children) {
        const { shape, foreignKey: fk } = child;
        const join = fk.columns.map((c, i) => `c.${quoteIdentifier(c)} = p.${quoteIdentifier(fk.referencedColumns[i] ?? c)}`).join(' AND ');
        const sql =
          `SELECT ${shape.keyShapeColumns.map((column) => keyExpression(column, 'c')).join(', ')} ` +
          `FROM ${quoteIdentifier(shape.database)}.${quoteIdentifier(shape.table)} c JOIN ${parentTable} p ON ${join} ` +
          `WHERE ${keysCondition(parent, 'p', keys)} FOR UPDATE`;
        const rows = (await run(connection, { sql, rowsAsArray: true, typeCast: rawTypeCast })) as (Buffer | null)[][];
        found.push({ child, keys: rows.map((row) => shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, row[i] ?? null))) });
      }
      return keys;
    },
    after: (connection, result) => plan.after(connection, result),
    ...(plan.restrictTo === undefined ? {} : { restrictTo: plan.restrictTo.bind(plan) }),
  };
  return { plan: wrapped, found: () => found.filter((f) => f.keys.length > 0) };
}
