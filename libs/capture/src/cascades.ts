import type { PlanEndpoint } from '@cleave/core';
import { keyPartLiteral, qualifiedName, queryRaw, rawToKeyPart, type KeyTuple } from '@cleave/mysql';
import type { Pool } from 'mysql2/promise';
import { keyPartOf, type DecodedRow } from './row-keys.js';
import type { CascadeLink } from './stream-plan.js';

/** A parent row change whose cascade InnoDB applied to child rows without logging them. */
export interface ParentChange {
  readonly before: DecodedRow;
  readonly after?: DecodedRow;
}

/** Whether the change fires the link's action: a delete, or an update of the referenced columns. */
export function firesCascade(link: CascadeLink, change: ParentChange): boolean {
  const fk = link.foreignKey;
  if (change.after === undefined) return fk.onDelete !== 'RESTRICT' && fk.onDelete !== 'NO ACTION';
  if (fk.onUpdate === 'RESTRICT' || fk.onUpdate === 'NO ACTION') return false;
  return fk.referencedColumns.some((c) => !sameValue(change.before[c], change.after?.[c]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b || String(a) === String(b);
}

/**
 * The keys of the child rows a cascade touched, found on a shadow: the rows there that still
 * reference the parent's old values (the cascade changed or deleted them on the primary only).
 * Syncing those keys from the primary brings the cascade's outcome over.
 */
export async function cascadedKeys(link: CascadeLink, change: ParentChange, shadow: PlanEndpoint, db: Pool): Promise<KeyTuple[]> {
  const shape = link.child.shape;
  const fk = link.foreignKey;
  const conditions: string[] = [];
  for (let i = 0; i < fk.columns.length; i += 1) {
    const column = shape.shapeColumns.find((c) => c.name === fk.columns[i]);
    const value = change.before[fk.referencedColumns[i] ?? ''];
    if (column === undefined) return [];
    if (value === null || value === undefined) return []; // a NULL reference matches no child
    const columnType = shape.catalog.columns.find((c) => c.name === column.name)?.columnType ?? '';
    conditions.push(`${column.quoted} = ${keyPartLiteral(column, keyPartOf(column, columnType, value, shape.table))}`);
  }
  const select = shape.keyShapeColumns.map((c) => c.readExpression).join(', ');
  const rows = await queryRaw(db, `SELECT ${select} FROM ${qualifiedName({ database: shadow.database, table: shape.table })} WHERE ${conditions.join(' AND ')}`);
  return rows.map((row) => shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, (row[i] as Buffer | null) ?? null)));
}
