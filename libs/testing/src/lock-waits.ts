/** A connection that runs a query (a mysql2 promise connection or pool). */
interface Queries {
  query(sql: string): Promise<unknown>;
}

/**
 * Waits until at least `count` transactions on the connection's server wait for a lock; `what`
 * names what for in the timeout's error. InnoDB refreshes INNODB_TRX only when it was not read for
 * 100 ms: a faster poll sees a frozen copy.
 */
export async function waitForLockWaits(conn: Queries, count: number, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [rows] = (await conn.query("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")) as [Array<{ n: number | string }>];
    if (Number(rows[0]?.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
