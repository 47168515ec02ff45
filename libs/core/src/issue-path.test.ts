import { describe, expect, it } from 'vitest';
import { formatIssuePath } from './issue-path.js';

describe('formatIssuePath', () => {
  it('uses dots for keys and brackets for indexes', () => {
    expect(formatIssuePath(['moves', 1, 'ranges', 2, 'to'])).toBe('moves[1].ranges[2].to');
    expect(formatIssuePath(['targets', 'mail-2', 'server'])).toBe('targets.mail-2.server');
    expect(formatIssuePath([])).toBe('');
    expect(formatIssuePath([0])).toBe('[0]');
  });

  it('brackets keys that are not plain words', () => {
    expect(formatIssuePath(['targets', 'a b'])).toBe('targets["a b"]');
    expect(formatIssuePath(['x', 'a.b'])).toBe('x["a.b"]');
  });
});
