/** mysql2 errors carry the server's error number in `errno`. */
export function mysqlErrno(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const errno = (error as { errno?: unknown }).errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** ER_LOCK_DEADLOCK: InnoDB rolled the transaction back to break a deadlock. */
export const ER_LOCK_DEADLOCK = 1213;
/** ER_LOCK_WAIT_TIMEOUT: a lock wait exceeded innodb_lock_wait_timeout (the statement was rolled back). */
export const ER_LOCK_WAIT_TIMEOUT = 1205;
/** ER_DUP_ENTRY: a write would duplicate a unique key. */
export const ER_DUP_ENTRY = 1062;
/** ER_NO_SUCH_TABLE. */
export const ER_NO_SUCH_TABLE = 1146;
/** ER_PARSE_ERROR: the server does not know the statement's syntax (MySQL, given MariaDB's). */
export const ER_PARSE_ERROR = 1064;
/** ER_TABLE_EXISTS_ERROR. */
export const ER_TABLE_EXISTS_ERROR = 1050;

/** Whether retrying the whole transaction may succeed (deadlock or lock wait timeout). */
export function isRetryableLockError(error: unknown): boolean {
  const errno = mysqlErrno(error);
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/**
 * Whether the connection died under the statement (the server ended it, e.g. a guarded sync left
 * idle past its limit, or the network dropped it): a sync is idempotent, so it is retried whole on
 * another connection.
 */
export function isLostConnection(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { fatal, code } = error as { fatal?: unknown; code?: unknown };
  return fatal === true || code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET';
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Backoff before retry `attempt` (1-based): exponential with full jitter, capped. */
export function retryDelayMs(attempt: number, baseMs = 20, capMs = 1000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}
