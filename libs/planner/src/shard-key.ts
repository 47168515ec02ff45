import { CleaveError, type KeyType, type ShardKey } from '@cleave/core';
import type { CatalogColumn, CatalogTable } from '@cleave/mysql';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const STRING_TYPES = new Set(['char', 'varchar']);
const BINARY_TYPES = new Set(['binary', 'varbinary']);

/** The key type of a column, or `undefined` when cleave cannot shard by it. */
export function keyTypeOf(column: CatalogColumn): KeyType | undefined {
  if (INTEGER_TYPES.has(column.dataType)) return 'integer';
  if (BINARY_TYPES.has(column.dataType)) return 'binary';
  if (STRING_TYPES.has(column.dataType)) return 'string';
  return undefined;
}

/** Columns that lead an index and are NOT NULL: range-readable without a scan. */
function candidates(table: CatalogTable): string[] {
  const leading = new Set<string>();
  for (const index of table.indexes) {
    const first = index.parts[0];
    if (first?.column != null && first.subPart === null) leading.add(first.column);
  }
  return table.columns
    .filter((c) => leading.has(c.name) && !c.nullable && c.generated === null && keyTypeOf(c) !== undefined)
    .map((c) => c.name);
}

/** A chosen shard key and why. */
export interface ShardKeyChoice extends ShardKey {
  /** The index whose leading column it is (used to estimate ranges). */
  readonly index: string;
  readonly reason: string;
}

/**
 * Chooses a table's shard key: among NOT NULL columns that lead an index (so ranges can be
 * estimated and copied without a scan), the one most used in equality predicates, preferring
 * the primary key's leading column on a tie (and when nothing is known).
 *
 * @throws {CleaveError} `INVALID_ARGUMENT` when `column` is given and unusable, or no column is.
 */
export function chooseShardKey(table: CatalogTable, equalityUse: ReadonlyMap<string, number>, column?: string): ShardKeyChoice {
  const usable = candidates(table);
  const indexOf = (name: string): string =>
    table.indexes.find((i) => i.name === 'PRIMARY' && i.columns[0] === name)?.name ?? table.indexes.find((i) => i.columns[0] === name)!.name;
  const typeOf = (name: string): KeyType => keyTypeOf(table.columns.find((c) => c.name === name)!)!;
  if (column !== undefined) {
    if (!table.columns.some((c) => c.name === column)) {
      throw new CleaveError('INVALID_ARGUMENT', `table "${table.name}" has no column "${column}" to shard by`, {
        hint: `Columns of ${table.name}: ${table.columns.map((c) => c.name).join(', ')}.`,
      });
    }
    if (!usable.includes(column)) {
      throw new CleaveError('INVALID_ARGUMENT', `column "${table.name}.${column}" cannot be a shard key: it must be NOT NULL, an integer, (var)char or (var)binary column, and lead an index`, {
        hint: usable.length > 0 ? `Usable columns of ${table.name}: ${usable.join(', ')}.` : `Add an index led by the key column to ${table.name}.`,
      });
    }
    return { column, type: typeOf(column), index: indexOf(column), reason: 'given' };
  }
  if (usable.length === 0) {
    throw new CleaveError('INVALID_ARGUMENT', `table "${table.name}" has no column usable as a shard key (NOT NULL, integer/char/binary, leading an index)`, {
      hint: `Add an index led by the key column to ${table.name}, or move it whole instead of sharding it.`,
    });
  }
  const pkLead = table.primaryKey?.[0];
  const ranked = [...usable].sort(
    (a, b) =>
      (equalityUse.get(b) ?? 0) - (equalityUse.get(a) ?? 0) ||
      (a === pkLead ? -1 : b === pkLead ? 1 : 0) ||
      (typeOf(a) === 'integer' ? -1 : typeOf(b) === 'integer' ? 1 : 0) ||
      (a < b ? -1 : 1),
  );
  const best = ranked[0]!;
  const uses = equalityUse.get(best) ?? 0;
  const reason = uses > 0 ? `most used in equality predicates (${Math.round(uses)} executions)` : best === pkLead ? 'leading primary key column' : 'first usable indexed column';
  return { column: best, type: typeOf(best), index: indexOf(best), reason };
}
