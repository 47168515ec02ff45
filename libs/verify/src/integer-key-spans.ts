import { CleaveError } from '@cleave/core';
import type { KeyBounds } from '@cleave/mysql';

/** Most a span may widen over the last one taken (a run of empty spans widens x4 each). */
export const MAX_SPAN_GROWTH = 4n;

/** The smallest and largest key of a table, read at the start of a pass. */
export interface IntegerKeyExtent {
  readonly min: bigint;
  readonly max: bigint;
}

/** A chunk of an integer key as key values `[from, to)`. */
export interface IntegerSpan {
  /** `null` for a pass's first span, which also takes any key below the minimum (inserted since). */
  readonly from: bigint | null;
  /** `null` when the span reaches past the maximum: open-ended, so rows inserted past it are checked too. */
  readonly to: bigint | null;
  /** Key values the span was planned over (from the minimum for the first span), for the density. */
  readonly width: bigint;
}

/**
 * Plans one pass over a single integer key as consecutive spans of key VALUES, chosen by
 * arithmetic instead of walking the index for the N-th key: each span is as wide as the rows
 * wanted divided by the key density seen in the last chunk checked (rows found / width), widening
 * at most {@link MAX_SPAN_GROWTH} times per span, so a gap of 2^62 ids is crossed in a few dozen
 * spans and narrowing at once on a dense run. Bigints throughout: keys may be signed or unsigned
 * 64-bit. No I/O: the caller reads the extent and reports what each chunk held.
 *
 * @example
 * ```ts
 * const spans = new IntegerKeySpans({ min: 1n, max: 1_000_000n });
 * const span = spans.take(spans.nextWidth(10_000)); // { from: null, to: 10_001n, width: 10_000n }
 * spans.observe(span, 5_000); // half the ids are taken: the next span is 20_000 wide
 * ```
 */
export class IntegerKeySpans {
  readonly #extent: IntegerKeyExtent | null;
  /** Where the next span starts; `null` once the open-ended span is taken. */
  #start: bigint | null;
  #first = true;
  #lastWidth: bigint | null = null;
  #seen: { readonly width: bigint; readonly rows: bigint } | null = null;

  /** `extent`: `null` for an empty table (one open span, the whole table). */
  constructor(extent: IntegerKeyExtent | null) {
    if (extent !== null && extent.min > extent.max) {
      throw new CleaveError('INVALID_ARGUMENT', `A key extent's minimum ${extent.min} is above its maximum ${extent.max}.`);
    }
    this.#extent = extent;
    this.#start = extent?.min ?? 0n;
  }

  /** Whether the open-ended span was taken. */
  get done(): boolean {
    return this.#start === null;
  }

  /** The width of the next span for about `rows` rows (at least 1). */
  nextWidth(rows: number): bigint {
    const wanted = BigInt(Math.max(1, Math.round(rows)));
    // Nothing checked yet: as if every key value were taken, which cannot overshoot.
    if (this.#lastWidth === null) return wanted;
    const cap = this.#lastWidth * MAX_SPAN_GROWTH;
    if (this.#seen === null) return wanted < cap ? wanted : cap;
    if (this.#seen.rows === 0n) return cap;
    const width = (wanted * this.#seen.width) / this.#seen.rows;
    return width < 1n ? 1n : width > cap ? cap : width;
  }

  /** The next span if it were `width` wide, without taking it. */
  peek(width: bigint): IntegerSpan {
    if (this.#start === null) throw new CleaveError('INTERNAL', 'The spans of this pass are all taken.');
    if (width < 1n) throw new CleaveError('INVALID_ARGUMENT', `A span must be at least 1 wide, got ${width}.`);
    if (this.#extent === null) return { from: null, to: null, width };
    const to = this.#start + width;
    return { from: this.#first ? null : this.#start, to: to > this.#extent.max ? null : to, width };
  }

  /**
   * The bounds of `span` up to the maximum read at the pass start: what its width was chosen for.
   * Rows inserted past the maximum since are in the open span whatever its width, so they must not
   * make it narrower (else each open span would be cut short of the maximum, again and again).
   */
  extentBounds(span: IntegerSpan): KeyBounds {
    if (this.#extent === null || span.to !== null) return spanBounds(span);
    return spanBounds({ ...span, to: this.#extent.max + 1n });
  }

  /**
   * `width` cut to end `rows` key values past `firstKey`, the first key at or after the next span's
   * start: that span holds at most `rows` rows however dense the keys are (they are distinct), and
   * still crosses the gap before `firstKey` at once.
   */
  widthThrough(firstKey: bigint, rows: number, width: bigint): bigint {
    if (this.#start === null) throw new CleaveError('INTERNAL', 'The spans of this pass are all taken.');
    const through = firstKey - this.#start + BigInt(Math.max(1, Math.round(rows)));
    return through < 1n ? 1n : through < width ? through : width;
  }

  /** Takes the next span, `width` wide (the last one is open-ended). */
  take(width: bigint): IntegerSpan {
    const span = this.peek(width);
    this.#start = span.to;
    this.#first = false;
    this.#lastWidth = width;
    return span;
  }

  /** Feedback: the rows a checked span held. Spans are reported in the order taken. */
  observe(span: IntegerSpan, rows: number): void {
    this.#seen = { width: span.width, rows: BigInt(Math.max(0, Math.round(rows))) };
  }
}

/** A span as key bounds of its single integer column: `(from - 1, to - 1]`, i.e. `[from, to)`. */
export function spanBounds(span: IntegerSpan): KeyBounds {
  return {
    lower: span.from === null ? null : [String(span.from - 1n)],
    upper: span.to === null ? null : [String(span.to - 1n)],
  };
}
