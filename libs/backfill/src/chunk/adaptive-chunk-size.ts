import { CleaveError } from '@cleave/core';

/** Construction settings of {@link AdaptiveChunkSize}. */
export interface AdaptiveChunkSizeConfig {
  /** Milliseconds one chunk should take. @defaultValue 500 */
  readonly targetMs?: number;
  /** Fewest rows per chunk. @defaultValue 100 */
  readonly minRows?: number;
  /** Most rows per chunk. @defaultValue 20000 */
  readonly maxRows?: number;
  /** Rows of the first chunk (clamped to the bounds). @defaultValue 1000 */
  readonly initialRows?: number;
  /**
   * Weight (0..1] of a new measurement: the next size is `size^(1-s) * ideal^s`, so one slow
   * chunk (a lock wait, a checkpoint flush) moves the size only part of the way. @defaultValue 0.5
   */
  readonly smoothing?: number;
  /** The most the size changes in one step, as a factor (up or down). @defaultValue 4 */
  readonly maxStep?: number;
}

/** The defaults of {@link AdaptiveChunkSizeConfig}. */
export const CHUNK_SIZE_DEFAULTS = Object.freeze({
  targetMs: 500,
  minRows: 100,
  maxRows: 20_000,
  initialRows: 1000,
  smoothing: 0.5,
  maxStep: 4,
});

function invalid(message: string): CleaveError<'CONFIG_INVALID'> {
  return new CleaveError('CONFIG_INVALID', message);
}

/**
 * Chooses the rows of the next chunk so that a chunk takes about `targetMs` (spirit's chunker
 * feedback): after each chunk, the measured rate gives an ideal size, and the size moves toward it
 * multiplicatively, smoothed, bounded per step and by `minRows`/`maxRows`. Pure: no clock, no I/O.
 *
 * @example
 * const size = new AdaptiveChunkSize({ targetMs: 500 });
 * size.rows; // 1000
 * size.feedback(1000, 125); // 4x too fast: ideal 4000, smoothed to 2000
 * size.rows; // 2000
 */
export class AdaptiveChunkSize {
  readonly config: Readonly<Required<AdaptiveChunkSizeConfig>>;
  #rows: number;

  constructor(config: AdaptiveChunkSizeConfig = {}) {
    const c = { ...CHUNK_SIZE_DEFAULTS, ...config };
    if (!(c.targetMs > 0)) throw invalid(`targetMs must be positive, got ${String(c.targetMs)}`);
    if (!Number.isInteger(c.minRows) || c.minRows < 1) throw invalid(`minRows must be a positive integer, got ${String(c.minRows)}`);
    if (!Number.isInteger(c.maxRows) || c.maxRows < c.minRows) {
      throw invalid(`maxRows must be an integer >= minRows (${c.minRows}), got ${String(c.maxRows)}`);
    }
    if (!(c.smoothing > 0 && c.smoothing <= 1)) throw invalid(`smoothing must be in (0, 1], got ${String(c.smoothing)}`);
    if (!(c.maxStep > 1)) throw invalid(`maxStep must be greater than 1, got ${String(c.maxStep)}`);
    this.config = Object.freeze(c);
    this.#rows = this.#clamp(c.initialRows);
  }

  /** Rows to ask for in the next chunk. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Learns from one chunk: `rows` it covered and `ms` it took. A chunk of no rows teaches nothing
   * (the end of a segment). Returns the new size.
   */
  feedback(rows: number, ms: number): number {
    if (!(rows > 0) || !Number.isFinite(ms)) return this.#rows;
    const ideal = (rows / Math.max(ms, 1)) * this.config.targetMs;
    const smoothed = this.#rows ** (1 - this.config.smoothing) * ideal ** this.config.smoothing;
    const step = Math.min(Math.max(smoothed, this.#rows / this.config.maxStep), this.#rows * this.config.maxStep);
    this.#rows = this.#clamp(step);
    return this.#rows;
  }

  #clamp(rows: number): number {
    return Math.min(this.config.maxRows, Math.max(this.config.minRows, Math.round(rows)));
  }
}
