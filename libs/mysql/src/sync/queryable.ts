import type { Readable } from 'node:stream';

/**
 * The field object mysql2 hands to a `typeCast` function: just the parts cleave uses.
 * (Structural, so a mysql2 pool or connection satisfies {@link Queryable} without importing it.)
 */
export interface TypeCastField {
  readonly name: string;
  buffer(): Buffer | null;
}

/** One query as mysql2's `query(options)` takes it. */
export interface QueryOptions {
  readonly sql: string;
  /**
   * Placeholder values. `null` (what the sync primitives pass: their SQL has only validated
   * literals) makes mysql2 skip its placeholder scan, which costs a full pass over a large INSERT.
   */
  readonly values?: unknown[] | null;
  readonly rowsAsArray?: boolean;
  /** `false`: every value as its raw bytes (a Buffer, or null for NULL). */
  readonly typeCast?: ((field: TypeCastField, next: () => unknown) => unknown) | false;
  /** The data of a `LOAD DATA LOCAL INFILE` (whatever file name the server asks for). */
  readonly infileStreamFactory?: (path: string) => Readable;
}

/** What the sync primitives need to read: the `query(options)` method of a mysql2 promise pool or connection. */
export interface Queryable {
  query(options: QueryOptions): Promise<[unknown, unknown]>;
}

/** A connection taken from a pool, for one transaction; `release()` returns it. */
export interface PooledConnection extends Queryable {
  release(): void;
  /** Closes the connection instead of returning it (its session state is unknown). */
  destroy?(): void;
}

/** A pool that can hand out a dedicated connection (a mysql2 promise pool does). */
export interface TransactionalPool extends Queryable {
  getConnection(): Promise<PooledConnection>;
}

/** A table by name: `{ database, table }`. */
export interface TableName {
  readonly database: string;
  readonly table: string;
}
