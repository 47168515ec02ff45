import { MysqlLibError } from '../mysql-error.js';
import type { CatalogTable } from './catalog.js';

/** A key that identifies every row of a table: what cleave chunks, copies and verifies by. */
export interface UsableKey {
  readonly kind: 'primary' | 'unique';
  /** `PRIMARY` or the unique index name. */
  readonly name: string;
  readonly columns: readonly string[];
}

/**
 * The key cleave can address rows by: the primary key, else the first unique key whose columns
 * are all NOT NULL (the order the server lists them, as MySQL itself picks an implicit primary
 * key), else `null`.
 *
 * @example
 * ```ts
 * usableKey(findTable(catalog, 'invoices')!); // { kind: 'primary', name: 'PRIMARY', columns: ['user_id', 'invoice_no'] }
 * ```
 */
export function usableKey(table: Pick<CatalogTable, 'primaryKey' | 'uniqueKeys'>): UsableKey | null {
  if (table.primaryKey !== null && table.primaryKey.length > 0) {
    return { kind: 'primary', name: 'PRIMARY', columns: table.primaryKey };
  }
  const unique = table.uniqueKeys.find((key) => key.allNotNull && key.columns.length > 0);
  return unique === undefined ? null : { kind: 'unique', name: unique.name, columns: unique.columns };
}

/**
 * Like {@link usableKey}, but throws a {@link MysqlLibError} with code `NO_USABLE_KEY` that names
 * the table and the fix when it has none.
 */
export function requireUsableKey(table: Pick<CatalogTable, 'schema' | 'name' | 'primaryKey' | 'uniqueKeys'>): UsableKey {
  const key = usableKey(table);
  if (key !== null) return key;
  const nullable = table.uniqueKeys.filter((unique) => !unique.allNotNull).map((unique) => unique.name);
  const aboutUnique =
    nullable.length === 0
      ? ''
      : ` Its unique key${nullable.length === 1 ? '' : 's'} ${nullable.map((name) => `"${name}"`).join(', ')} ` +
        `allow${nullable.length === 1 ? 's' : ''} NULL, so ${nullable.length === 1 ? 'it does' : 'they do'} not identify rows.`;
  throw new MysqlLibError(
    'NO_USABLE_KEY',
    `Table ${table.schema}.${table.name} has no usable key: cleave needs a PRIMARY KEY or a UNIQUE key ` +
      `whose columns are all NOT NULL to copy, verify and dual-write rows.${aboutUnique} ` +
      'Add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)) or make a unique key\'s columns NOT NULL, then plan again.',
    { hint: 'Add a primary key or a NOT NULL unique key to the table.' },
  );
}
