import { CleaveError, isCleaveError } from '@cleave/core';
import { privilegeDenied } from '@cleave/mysql';

/** Driver error codes that mean "this server could not be reached or would not let us in". */
export const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ER_ACCESS_DENIED_ERROR',
  'PROTOCOL_CONNECTION_LOST',
]);

const driverCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** Whether `error` is a raw driver error saying a server could not be reached (or refused the login). */
export function isUnreachableError(error: unknown): boolean {
  const code = driverCode(error);
  return !isCleaveError(error) && code !== undefined && UNREACHABLE_CODES.has(code);
}

/**
 * Every failure the CLI reports, as a CleaveError with a `code`: `--json` prints that code and the
 * exit code follows from it, so a driver's own error (which names no server and carries a code of
 * its own vocabulary) still lands in a documented class.
 */
export function asCleaveError(error: unknown): CleaveError {
  if (isCleaveError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = driverCode(error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return new CleaveError('CONNECTION_FAILED', message, { cause: error });
  if (code === 'ER_BAD_DB_ERROR') return new CleaveError('NOT_FOUND', message, { cause: error });
  // A privilege the account lacks: the GRANT to add (exit 3), not an internal error.
  const denied = privilegeDenied(error);
  if (denied !== null) return denied;
  return new CleaveError('INTERNAL', message, { cause: error, hint: 'Run again with --debug for the stack trace.' });
}
