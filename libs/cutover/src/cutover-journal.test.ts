import { describe, expect, it } from 'vitest';
import type { MigrationEvent } from '@cleave/control';
import { interruptedChange } from './cutover-journal.js';

let n = 0;
const ev = (kind: MigrationEvent['kind'], details: Record<string, unknown>): MigrationEvent => ({
  id: ++n,
  at: new Date(0),
  actor: 'a',
  kind,
  from: null,
  to: null,
  reason: null,
  details,
});
const begin = ev('note', { cutover: 'begin', changeId: 'c1', from: 'reads_switched', to: 'writes_switched', fromEpoch: 5, token: 3, holder: 'h1' });

describe('interruptedChange', () => {
  it('none when every begun change is done or aborted', () => {
    expect(interruptedChange([])).toBeNull();
    expect(interruptedChange([begin, ev('note', { cutover: 'done', changeId: 'c1' })])).toBeNull();
    expect(interruptedChange([begin, ev('aborted', { changeId: 'c1' })])).toBeNull();
  });

  it('between fence and flip: not flipped, with the fence to lift', () => {
    const fenced = ev('note', { cutover: 'fenced', changeId: 'c1', fenceId: 'f1', fencedAt: 7 });
    expect(interruptedChange([begin, fenced])).toMatchObject({ changeId: 'c1', fromEpoch: 5, token: 3, holder: 'h1', fenceId: 'f1', flipped: false });
  });

  it('between flip and unfence: flipped (must be finished, not undone)', () => {
    const flip = ev('phase_change', { changeId: 'c1' });
    expect(interruptedChange([begin, ev('note', { cutover: 'fenced', changeId: 'c1', fenceId: 'f1' }), flip])).toMatchObject({ flipped: true, fenceId: 'f1' });
  });
});
