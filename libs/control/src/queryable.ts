/**
 * The few mysql2 promise-pool methods the control store needs (a structural subset, so any
 * mysql2 promise pool or connection fits without a type dependency on mysql2).
 */
export interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** A queryable that can also hand out one connection for a transaction. */
export interface TransactionalQueryable extends Queryable {
  getConnection(): Promise<Queryable & { beginTransaction(): Promise<void>; commit(): Promise<void>; rollback(): Promise<void>; release(): void }>;
}

export async function rowsOf<T>(db: Queryable, sql: string, values?: unknown): Promise<T[]> {
  const [rows] = await db.query(sql, values);
  return rows as T[];
}

/** Runs fn in one transaction on one connection; rolls back on error. */
export async function inTransaction<T>(db: TransactionalQueryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const conn = await db.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (error) {
    await conn.rollback().catch(() => undefined);
    throw error;
  } finally {
    conn.release();
  }
}
