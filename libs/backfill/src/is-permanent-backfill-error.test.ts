import { describe, expect, it } from 'vitest';
import { CleaveError } from '@cleave/core';
import { isPermanentBackfillError } from './is-permanent-backfill-error.js';

describe('isPermanentBackfillError', () => {
  it('tells errors a retry cannot fix from transient ones', () => {
    expect(isPermanentBackfillError(new CleaveError('NO_USABLE_KEY', 'x'))).toBe(true);
    expect(isPermanentBackfillError(new CleaveError('CONFIG_INVALID', 'target table differs'))).toBe(true);
    expect(isPermanentBackfillError(new CleaveError('ABORTED', 'shutdown'))).toBe(false);
    expect(isPermanentBackfillError(new CleaveError('PRECONDITION_FAILED', 'phase planned'))).toBe(false);
    expect(isPermanentBackfillError(Object.assign(new Error('Deadlock found'), { errno: 1213 }))).toBe(false);
    expect(isPermanentBackfillError('nope')).toBe(false);
  });
});
