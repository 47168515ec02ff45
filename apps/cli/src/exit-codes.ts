import { isCleaveError, type CleaveErrorCode } from '@cleave/core';

/** Documented exit codes of the `cleave` command (README "CLI"). */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed, or verification left differences. */
  failed: 1,
  /** Bad input: invalid plan, config or arguments. Nothing was changed. */
  badInput: 2,
  /** Refused: the plan does not fit the schema, a precondition failed, or someone else changed it first. */
  refused: 3,
  /** The migration, or another named thing (a database on a server), does not exist. */
  notFound: 4,
  /** A server could not be reached, or refused cleave's login. */
  unreachable: 5,
} as const;

const BY_CODE: Partial<Record<CleaveErrorCode, number>> = {
  PLAN_INVALID: EXIT.badInput,
  CONFIG_INVALID: EXIT.badInput,
  INVALID_ARGUMENT: EXIT.badInput,
  INVALID_IDENTIFIER: EXIT.badInput,
  INVALID_CONNECTION_URL: EXIT.badInput,
  NO_USABLE_KEY: EXIT.refused,
  FOREIGN_KEY_CROSSES_SERVERS: EXIT.refused,
  TARGET_TABLE_DIFFERS: EXIT.refused,
  CAPTURE_UNAVAILABLE: EXIT.refused,
  PRECONDITION_FAILED: EXIT.refused,
  PHASE_TRANSITION_INVALID: EXIT.refused,
  APPROVAL_REQUIRED: EXIT.refused,
  CONFLICT: EXIT.refused,
  STALE_COORDINATOR: EXIT.refused,
  NOT_FOUND: EXIT.notFound,
  CONNECTION_FAILED: EXIT.unreachable,
  VERIFICATION_FAILED: EXIT.failed,
  INTERNAL: EXIT.failed,
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ER_ACCESS_DENIED_ERROR', 'PROTOCOL_CONNECTION_LOST']);

export function exitCodeOf(error: unknown): number {
  if (isCleaveError(error)) return BY_CODE[error.code] ?? EXIT.failed;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return EXIT.unreachable;
  return EXIT.failed;
}
