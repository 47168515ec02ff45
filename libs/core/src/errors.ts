import { redactCredentials } from './credentials.js';

/**
 * Every error code cleave raises. Callers branch on `code`, never on the message.
 * A closed set: add a code here (with a line of doc) before throwing it from another lib.
 */
export const CLEAVE_ERROR_CODES = [
  /** A plan file failed validation ({@link PlanValidationError}). */
  'PLAN_INVALID',
  /** A configuration object (servers, pools, worker) is invalid. */
  'CONFIG_INVALID',
  /** A function received an argument it cannot use (bad table reference, bad key value…). */
  'INVALID_ARGUMENT',
  /** A table has no primary key or non-null unique key to chunk and route by. */
  'NO_USABLE_KEY',
  /** A foreign key would cross servers and the plan does not name it as dropped. */
  'FOREIGN_KEY_CROSSES_SERVERS',
  /** A requested phase change is not a legal step from the current phase. */
  'PHASE_TRANSITION_INVALID',
  /** A named precondition of a phase change failed. */
  'PRECONDITION_FAILED',
  /** An irreversible step was requested without explicit approval. */
  'APPROVAL_REQUIRED',
  /** Someone else changed the state first (optimistic concurrency, stale epoch). */
  'CONFLICT',
  /** A coordinator's fencing token is lower than one the control store has seen: another coordinator took over. */
  'STALE_COORDINATOR',
  /** A migration, server, chunk or other named thing does not exist. */
  'NOT_FOUND',
  /** A router, worker or server did not answer before its deadline. */
  'TIMEOUT',
  /** A server could not be reached or refused the connection. */
  'CONNECTION_FAILED',
  /** Verification found rows that differ between primary and shadow. */
  'VERIFICATION_FAILED',
  /** The operation was cancelled (shutdown, abort signal). */
  'ABORTED',
  /** A bug: an invariant cleave relies on did not hold. */
  'INTERNAL',
  /** A database, table or column name that MySQL/MariaDB cannot hold. */
  'INVALID_IDENTIFIER',
  /** A mysql:// connection URL that cannot be parsed. */
  'INVALID_CONNECTION_URL',
  /** Opening a pool would exceed the per-server connection budget. */
  'CONNECTION_BUDGET_EXCEEDED',
  /** A pool for the same server, user and database exists with other settings. */
  'POOL_CONFLICT',
  /** The pools were ended. */
  'POOLS_CLOSED',
  /** Pool settings are invalid. */
  'INVALID_POOL_CONFIG',
  /** information_schema could not be read (privileges, server gone). */
  'CATALOG_READ_FAILED',
  /** An existing target table differs from the source definition. */
  'TARGET_TABLE_DIFFERS',
  /** A server cannot feed binlog change capture (binlog off, not ROW, missing privilege…). */
  'CAPTURE_UNAVAILABLE',
  /** A capture stream's checkpoint names a binlog the server no longer has. */
  'CAPTURE_POSITION_PURGED',
  /** DDL on a moved table reached a capture stream, which stopped rather than apply keys of an unknown shape. */
  'CAPTURE_DDL',
  /** The placement guard refused a cleave writer whose view of the migration is stale (a switch moved the primary). */
  'GUARD_REFUSED',
] as const;

/** One of {@link CLEAVE_ERROR_CODES}. */
export type CleaveErrorCode = (typeof CLEAVE_ERROR_CODES)[number];

/** Whether `value` is one of {@link CLEAVE_ERROR_CODES}. */
export function isCleaveErrorCode(value: unknown): value is CleaveErrorCode {
  return typeof value === 'string' && (CLEAVE_ERROR_CODES as readonly string[]).includes(value);
}

/** Optional parts of a {@link CleaveError}. */
export interface CleaveErrorOptions {
  /** The underlying error. Kept for logs; never serialised by `toJSON()`. */
  readonly cause?: unknown;
  /** One sentence telling the user how to fix the problem. */
  readonly hint?: string;
}

/** What {@link CleaveError.toJSON} returns: safe to log, print or send over the wire. */
export interface CleaveErrorJson {
  readonly name: string;
  readonly code: CleaveErrorCode;
  readonly message: string;
  readonly hint?: string;
}

/** Brand that survives duplicated module instances (where `instanceof` does not). */
const BRAND = Symbol.for('cleave.CleaveError');

/**
 * The one base class of cleave's errors: a typed `code` to branch on, the `cause`, and a
 * `hint` for the user.
 *
 * @example
 * throw new CleaveError('NOT_FOUND', 'migration "split-mail" does not exist', {
 *   hint: 'Run `cleave status` to list migrations.',
 * });
 */
export class CleaveError<C extends CleaveErrorCode = CleaveErrorCode> extends Error {
  /** What went wrong, as a stable machine-readable code. */
  readonly code: C;
  /** One sentence telling the user how to fix it, when there is one. */
  readonly hint: string | undefined;

  constructor(code: C, message: string, options: CleaveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Name, code, message and hint only — never the cause or stack, which may carry connection
   * strings or row data; credentials that slipped into the message are redacted.
   */
  toJSON(): CleaveErrorJson {
    return {
      name: this.name,
      code: this.code,
      message: redactCredentials(this.message),
      ...(this.hint === undefined ? {} : { hint: redactCredentials(this.hint) }),
    };
  }
}

/**
 * Whether `error` is a {@link CleaveError}, optionally with the given code. Works across
 * duplicated copies of this package.
 *
 * @example
 * try { parsePlan(json) } catch (e) { if (isCleaveError(e, 'PLAN_INVALID')) console.error(e.message) }
 */
export function isCleaveError<C extends CleaveErrorCode>(error: unknown, code?: C): error is CleaveError<C> {
  if (typeof error !== 'object' || error === null) return false;
  if (!(error instanceof CleaveError) && (error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as { code: unknown }).code === code;
}

/** One problem found in a plan: where (`moves[1].ranges[2].to`) and what. */
export interface PlanIssue {
  /** Dot for object keys, brackets for array indexes; `''` for the plan itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * One line per issue, `path: message` (`plan: message` for the plan as a whole).
 *
 * @example
 * formatPlanIssues([{ path: 'moves[0].to', message: 'unknown target "mial"' }]);
 * // 'moves[0].to: unknown target "mial"'
 */
export function formatPlanIssues(issues: readonly PlanIssue[]): string {
  return issues.map((i) => `${i.path === '' ? 'plan' : i.path}: ${i.message}`).join('\n');
}

/**
 * A plan file was refused. `issues` lists every problem found (validation never stops at the
 * first); the message has a header line and then one `path: message` line per issue.
 */
export class PlanValidationError extends CleaveError<'PLAN_INVALID'> {
  /** Every problem, in the order found. */
  readonly issues: readonly PlanIssue[];

  constructor(issues: readonly PlanIssue[], options: Omit<CleaveErrorOptions, 'hint'> = {}) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super('PLAN_INVALID', `invalid plan (${count}):\n${formatPlanIssues(issues)}`, {
      ...options,
      hint: 'Fix each listed field of the plan file (or run `cleave plan` again), then retry.',
    });
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}
