import { rowHashSql } from './row-hash.js';
import {
  keyId,
  keyOrderBy,
  qualifiedName,
  queryRaw,
  rawToKeyPart,
  type KeyTuple,
  type SyncQueryable,
  type TableName,
  type TableShape,
} from '@cleave/mysql';

/** How a row differs: only on the source (`missing` on the target), only on the target (`extra`), or `changed`. */
export type DifferenceKind = 'missing' | 'extra' | 'changed';

/** One differing row. */
export interface RowDifference {
  readonly key: KeyTuple;
  readonly kind: DifferenceKind;
}

interface KeyedHash {
  readonly key: KeyTuple;
  readonly hash: string;
}

/** (exact-bytes key id -> key and row hash) of the rows matching `where`. */
async function rowHashes(db: SyncQueryable, shape: TableShape, table: TableName, where: string): Promise<Map<string, KeyedHash>> {
  const keys = shape.keyShapeColumns.map((column) => column.readExpression).join(', ');
  const rows = await queryRaw(db, `SELECT ${keys}, ${rowHashSql(shape)} FROM ${qualifiedName(table)} WHERE ${where} ORDER BY ${keyOrderBy(shape)}`);
  const width = shape.keyShapeColumns.length;
  const result = new Map<string, KeyedHash>();
  for (const row of rows) {
    const keyParts = row.slice(0, width);
    result.set(keyId(keyParts), {
      key: shape.keyShapeColumns.map((column, i) => rawToKeyPart(column, keyParts[i] ?? null)),
      hash: row[width]?.toString('latin1') ?? '',
    });
  }
  return result;
}

/**
 * The rows that differ between source and target among those matching `where`: both sides send
 * only (key, row hash); keys are compared by exact bytes.
 */
export async function diffRows(
  source: SyncQueryable,
  target: SyncQueryable,
  shape: TableShape,
  targetTable: TableName,
  where: string,
): Promise<RowDifference[]> {
  const [sourceRows, targetRows] = await Promise.all([rowHashes(source, shape, shape, where), rowHashes(target, shape, targetTable, where)]);
  const differences: RowDifference[] = [];
  for (const [id, row] of sourceRows) {
    const other = targetRows.get(id);
    if (other === undefined) differences.push({ key: row.key, kind: 'missing' });
    else if (other.hash !== row.hash) differences.push({ key: row.key, kind: 'changed' });
  }
  for (const [id, row] of targetRows) {
    if (!sourceRows.has(id)) differences.push({ key: row.key, kind: 'extra' });
  }
  return differences;
}
