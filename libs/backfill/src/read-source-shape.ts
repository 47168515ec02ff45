import { CleaveError, type PlanEndpoint } from '@cleave/core';
import { findTable, readCatalog, tableShape, type CatalogTable, type TableShape } from '@cleave/mysql';
import type { BackfillPool } from './backfill-deps.js';

/** A source table read from the catalog, and its shape (key and copied columns). */
export async function readSourceShape(pool: BackfillPool, source: PlanEndpoint, name: string): Promise<{ table: CatalogTable; shape: TableShape }> {
  const catalog = await readCatalog(pool, source.database, { tables: [name] });
  const table = findTable(catalog, name);
  if (table === undefined) {
    throw new CleaveError('NOT_FOUND', `table ${source.database}.${name} does not exist on server ${source.server}`);
  }
  return { table, shape: tableShape(table, source.database) };
}
