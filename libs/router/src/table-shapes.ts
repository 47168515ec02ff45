import { readCatalog, tableShape, type TableShape } from '@cleave/mysql';
import type { asTransactionalPool } from './router-pool.js';
import type { Endpoint } from './routing-table.js';

type CatalogPool = ReturnType<typeof asTransactionalPool>;

/**
 * The shapes (columns, keys) of covered tables, read from each side's catalog once per endpoint
 * and kept: a dual write needs its table's shape before it runs. A failed read is forgotten, so
 * the next use reads it again.
 */
export class TableShapes {
  readonly #pool: (server: string) => CatalogPool;
  readonly #shapes = new Map<string, Promise<TableShape>>();

  constructor(pool: (server: string) => CatalogPool) {
    this.#pool = pool;
  }

  /** The shape of `table` in `endpoint`'s database. */
  get(endpoint: Endpoint, table: string): Promise<TableShape> {
    const key = `${endpoint.server}/${endpoint.database}/${table}`;
    let shape = this.#shapes.get(key);
    if (shape === undefined) {
      shape = (async () => {
        const catalog = await readCatalog(this.#pool(endpoint.server), endpoint.database, { tables: [table] });
        return tableShape(catalog.tables[0]!, endpoint.database);
      })();
      shape.catch(() => this.#shapes.delete(key));
      this.#shapes.set(key, shape);
    }
    return shape;
  }
}
