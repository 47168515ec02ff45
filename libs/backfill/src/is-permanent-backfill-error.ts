import { isCleaveError } from '@cleave/core';

/**
 * Error codes that a retry cannot fix (a bad plan, a table without a usable key, a target table
 * that differs): the worker should fail such a job for good (BullMQ `UnrecoverableError`) instead
 * of retrying it. Everything else (a server restarting, a deadlock, `ABORTED`, a phase not reached
 * yet) is worth retrying.
 */
export const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'PLAN_INVALID',
  'CONFIG_INVALID',
  'INVALID_ARGUMENT',
  'NO_USABLE_KEY',
  'FOREIGN_KEY_CROSSES_SERVERS',
  'NOT_FOUND',
  'CATALOG_READ_FAILED',
  'INVALID_IDENTIFIER',
  'TARGET_TABLE_DIFFERS',
]);

/**
 * Whether retrying the job that threw `error` is pointless.
 *
 * @example
 * catch (e) { if (isPermanentBackfillError(e)) throw new UnrecoverableError(e.message); throw e; }
 */
export function isPermanentBackfillError(error: unknown): boolean {
  return isCleaveError(error) && PERMANENT_ERROR_CODES.has(error.code as string);
}
