import { CleaveError } from '@cleave/core';

/**
 * Every error code that `@cleave/mysql` throws. Callers branch on `error.code`, never on the
 * message text.
 */
export const MYSQL_ERROR_CODES = [
  'INVALID_IDENTIFIER',
  'INVALID_CONNECTION_URL',
  'CONNECTION_BUDGET_EXCEEDED',
  'POOL_CONFLICT',
  'POOLS_CLOSED',
  'INVALID_POOL_CONFIG',
  'NO_USABLE_KEY',
  'CATALOG_READ_FAILED',
  'GUARD_REFUSED',
] as const;

/** One of {@link MYSQL_ERROR_CODES}. */
export type MysqlErrorCode = (typeof MYSQL_ERROR_CODES)[number];

/** Construction options of {@link MysqlLibError}. */
export interface MysqlLibErrorOptions {
  /** What the user can do about it, one sentence. */
  readonly hint?: string;
  /** The underlying error, if any. Never pass an error whose message may contain a secret. */
  readonly cause?: unknown;
}

/**
 * The error type thrown by `@cleave/mysql`: a {@link CleaveError} whose code is one of
 * {@link MYSQL_ERROR_CODES}; the message says what is wrong and how to fix it.
 *
 * @example
 * ```ts
 * try {
 *   quoteIdentifier('');
 * } catch (error) {
 *   if (isMysqlLibError(error, 'INVALID_IDENTIFIER')) {
 *     // ...
 *   }
 * }
 * ```
 */
export class MysqlLibError extends CleaveError<MysqlErrorCode> {
  constructor(code: MysqlErrorCode, message: string, options: MysqlLibErrorOptions = {}) {
    super(code, message, options);
    this.name = 'MysqlLibError';
  }
}

/** True when `error` is a {@link MysqlLibError}, optionally with the given code. */
export function isMysqlLibError(error: unknown, code?: MysqlErrorCode): error is MysqlLibError {
  return error instanceof MysqlLibError && (code === undefined || error.code === code);
}
