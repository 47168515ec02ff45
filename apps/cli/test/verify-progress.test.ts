import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VerifyProgressView } from '../src/commands/verify-progress.js';

function capture() {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { out, lines };
}

const event = (unit: string, pass: number, rowsChecked: number, last: boolean, differing = 0, repaired = 0) => ({
  unit,
  table: unit,
  pass,
  chunks: 1,
  rowsChecked,
  rowsDiffering: differing,
  rowsRepaired: repaired,
  lastKey: last ? null : 'k',
});

describe('cleave verify progress (off a terminal: lines)', () => {
  it('shows percent of the estimate, rows/s, ETA and differences per unit and pass, at most every two seconds', () => {
    const { out, lines } = capture();
    let now = 0;
    const view = new VerifyProgressView(new Map([['users', 1_000]]), out, () => now);
    now = 500;
    view.update(event('users', 1, 100, false)); // first report: printed
    now = 1_000;
    view.update(event('users', 1, 300, false)); // within 2 s of the last line: not printed
    now = 2_500;
    view.update(event('users', 1, 500, false, 2));
    now = 4_000;
    view.update(event('users', 1, 1_000, true, 2, 2)); // end of the pass: always printed
    now = 5_000;
    view.update(event('users', 2, 1_400, false, 2, 2)); // pass 2 counts from the end of pass 1
    view.stop();
    expect(lines).toEqual([
      'users pass 1: 10.0% 100/1,000 rows, 200 rows/s, ETA 4.5 s, 0 differing, 0 repaired',
      'users pass 1: 50.0% 500/1,000 rows, 200 rows/s, ETA 2.5 s, 2 differing, 0 repaired',
      'users pass 1: 100.0% 1,000/1,000 rows, 250 rows/s, ETA done, 2 differing, 2 repaired',
      'users pass 2: 40.0% 400/1,000 rows, 400 rows/s, ETA 1.5 s, 2 differing, 2 repaired',
    ]);
  });

  it('without an estimate shows the rows checked, not a percent it cannot know', () => {
    const { out, lines } = capture();
    let now = 0;
    const view = new VerifyProgressView(new Map(), out, () => now);
    now = 500;
    view.update(event('invoices#1', 1, 250, true));
    expect(lines).toEqual(['invoices#1 pass 1: 100.0% 250 rows, 500 rows/s, ETA done, 0 differing, 0 repaired']);
  });
});
