import { CleaveError } from '@cleave/core';
import type { CheckResult } from './precondition.js';

/** A phase change was refused: `checks` holds every result, the failed ones named in the message. */
export class PreconditionFailedError extends CleaveError<'PRECONDITION_FAILED'> {
  readonly checks: readonly CheckResult[];

  constructor(message: string, checks: readonly CheckResult[]) {
    super('PRECONDITION_FAILED', message, { hint: 'Fix the failing checks (see `cleave cutover <id> --dry-run`), then retry.' });
    this.checks = checks;
  }

  /** The names of the failed checks, sorted. */
  get failed(): string[] {
    return this.checks.filter((c) => c.status === 'fail').map((c) => c.name).sort();
  }
}
