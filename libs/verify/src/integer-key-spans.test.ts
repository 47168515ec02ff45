import { describe, expect, it } from 'vitest';
import { IntegerKeySpans, MAX_SPAN_GROWTH, spanBounds, type IntegerSpan } from './integer-key-spans.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Takes every span of a pass, feeding back `rowsIn(span)`; at most `limit` spans. */
function walk(spans: IntegerKeySpans, rows: number, rowsIn: (span: IntegerSpan) => number, limit = 10_000): IntegerSpan[] {
  const taken: IntegerSpan[] = [];
  while (!spans.done && taken.length < limit) {
    const span = spans.take(spans.nextWidth(rows));
    spans.observe(span, rowsIn(span));
    taken.push(span);
  }
  return taken;
}

describe('IntegerKeySpans', () => {
  it('plans an empty table as one open span', () => {
    const spans = new IntegerKeySpans(null);
    const span = spans.take(spans.nextWidth(100));
    expect(span).toEqual({ from: null, to: null, width: 100n });
    expect(spanBounds(span)).toEqual({ lower: null, upper: null });
    expect(spans.done).toBe(true);
    expect(() => spans.take(1n)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('starts unbounded below, continues where the last span ended, and ends open past the maximum', () => {
    const spans = new IntegerKeySpans({ min: 10n, max: 35n });
    const first = spans.take(10n);
    expect(first).toEqual({ from: null, to: 20n, width: 10n });
    expect(spanBounds(first)).toEqual({ lower: null, upper: ['19'] }); // keys <= 19, i.e. < 20
    const second = spans.take(16n); // [20, 36) holds 35, the maximum: open-ended
    expect(second).toEqual({ from: 20n, to: null, width: 16n });
    expect(spanBounds(second)).toEqual({ lower: ['19'], upper: null }); // keys > 19, i.e. >= 20
    expect(spans.done).toBe(true);
  });

  it('closes a span that ends exactly at the maximum and opens the next one', () => {
    const spans = new IntegerKeySpans({ min: 0n, max: 9n });
    expect(spanBounds(spans.take(9n))).toEqual({ lower: null, upper: ['8'] });
    expect(spans.done).toBe(false);
    expect(spanBounds(spans.take(1n))).toEqual({ lower: ['8'], upper: null });
    expect(spans.done).toBe(true);
  });

  it('plans a one-key table as one open span', () => {
    const spans = new IntegerKeySpans({ min: 5n, max: 5n });
    expect(spans.take(spans.nextWidth(1))).toEqual({ from: null, to: null, width: 1n });
  });

  it('peeks without taking', () => {
    const spans = new IntegerKeySpans({ min: 0n, max: 100n });
    expect(spans.peek(7n)).toEqual({ from: null, to: 7n, width: 7n });
    expect(spans.peek(101n).to).toBeNull();
    expect(spans.take(3n)).toEqual({ from: null, to: 3n, width: 3n });
    expect(spans.peek(7n)).toEqual({ from: 3n, to: 10n, width: 7n });
    expect(() => spans.peek(0n)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('sizes by the density of the last chunk checked, widening at most x4 per span, never below 1', () => {
    const spans = new IntegerKeySpans({ min: 0n, max: 10n ** 12n });
    // Nothing seen: one key value per row wanted.
    expect(spans.nextWidth(1000)).toBe(1000n);
    const first = spans.take(1000n);
    // Two chunks in flight before any feedback: still the rows wanted.
    expect(spans.nextWidth(1000)).toBe(1000n);
    spans.take(1000n);
    spans.observe(first, 100); // one key in 10 taken: 10_000 wanted, but x4 at most
    expect(spans.nextWidth(1000)).toBe(4000n);
    spans.observe(first, 500); // one in 2: 2000
    expect(spans.nextWidth(1000)).toBe(2000n);
    spans.observe(first, 0); // empty: x4
    expect(spans.nextWidth(1000)).toBe(4000n);
    const dense = spans.take(4000n);
    spans.observe(dense, 4000); // every key taken: shrinks at once to the rows wanted
    expect(spans.nextWidth(250)).toBe(250n);
    spans.take(250n);
    spans.observe(dense, 4000);
    expect(spans.nextWidth(0.2)).toBe(1n); // at least one row, at least 1 wide
  });

  it('crosses a huge gap in a few spans and comes back to dense-sized spans after it', () => {
    // Keys 0..999 and 2^62..2^62+999: the gap is crossed by widening x4 per span.
    const rows = (span: IntegerSpan): number => {
      const from = span.from ?? 0n;
      const to = span.to ?? 2n ** 63n;
      const count = (lo: bigint, hi: bigint): bigint => (to <= lo || from >= hi ? 0n : (to < hi ? to : hi) - (from > lo ? from : lo));
      return Number(count(0n, 1000n) + count(2n ** 62n, 2n ** 62n + 1000n));
    };
    const spans = walk(new IntegerKeySpans({ min: 0n, max: 2n ** 62n + 999n }), 100, rows);
    expect(spans.length).toBeLessThan(60);
    expect(spans.at(-1)?.to).toBeNull();
    for (let i = 1; i < spans.length; i += 1) {
      expect(spans[i]?.from).toBe(spans[i - 1]?.to); // contiguous
      expect((spans[i]?.width ?? 0n) <= (spans[i - 1]?.width ?? 0n) * MAX_SPAN_GROWTH).toBe(true);
    }
    expect(spans.slice(0, 10).every((span) => span.width === 100n)).toBe(true); // the dense start
  });

  it('keeps exact bigints at the ends of signed and unsigned 64-bit keys', () => {
    const signed = new IntegerKeySpans({ min: I64_MIN, max: I64_MAX });
    expect(spanBounds(signed.take(2n))).toEqual({ lower: null, upper: ['-9223372036854775807'] });
    expect(spanBounds(signed.take(2n))).toEqual({ lower: ['-9223372036854775807'], upper: ['-9223372036854775805'] });
    expect(spanBounds(signed.take(2n ** 64n - 6n))).toEqual({ lower: ['-9223372036854775805'], upper: ['9223372036854775805'] });
    expect(spanBounds(signed.take(2n))).toEqual({ lower: ['9223372036854775805'], upper: null }); // [2^63-2, 2^63) holds the max
    expect(signed.done).toBe(true);

    const unsigned = new IntegerKeySpans({ min: U64_MAX - 10n, max: U64_MAX });
    expect(spanBounds(unsigned.take(10n))).toEqual({ lower: null, upper: ['18446744073709551614'] });
    // The last span reaches past 2^64: no bound beyond the type's range is ever written.
    expect(spanBounds(unsigned.take(1000n))).toEqual({ lower: ['18446744073709551614'], upper: null });
  });

  it('bounds the open span at the maximum read at the start for sizing', () => {
    const spans = new IntegerKeySpans({ min: 0n, max: 99n });
    spans.take(50n);
    const open = spans.peek(1000n);
    expect(spanBounds(open)).toEqual({ lower: ['49'], upper: null });
    expect(spans.extentBounds(open)).toEqual({ lower: ['49'], upper: ['99'] });
    expect(spans.extentBounds(spans.peek(10n))).toEqual({ lower: ['49'], upper: ['59'] });
    expect(new IntegerKeySpans(null).extentBounds({ from: null, to: null, width: 5n })).toEqual({ lower: null, upper: null });
  });

  it('cuts a span to end a number of rows past the first key after its start', () => {
    const spans = new IntegerKeySpans({ min: 0n, max: 2n ** 62n });
    spans.take(100n);
    // A dense run starts at 2^40 within a span 2^60 wide: the cut span crosses the gap and takes
    // at most 500 keys of the run.
    expect(spans.widthThrough(2n ** 40n, 500, 2n ** 60n)).toBe(2n ** 40n - 100n + 500n);
    expect(spans.widthThrough(100n, 500, 2n ** 60n)).toBe(500n); // the run starts right here
    expect(spans.widthThrough(2n ** 40n, 500, 1000n)).toBe(1000n); // never wider than proposed
    expect(spans.widthThrough(5n, 0, 1000n)).toBe(1n); // a key before the start (inserted since): at least 1
  });

  it('rejects an extent whose minimum is above its maximum', () => {
    expect(() => new IntegerKeySpans({ min: 2n, max: 1n })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

