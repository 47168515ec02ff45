import type { BinlogCoordinate } from '@cleave/control';
import { binlogBytesAfter, binlogFileSizes, type BinlogFileSize, type SqlQueryable } from './server-binlog.js';

/**
 * The binlog files and sizes of a stream's server, re-read at most once per interval and never
 * on the stream's path: a checkpoint says how many bytes of binlog follow it from the latest
 * listing. The figure is a lower bound, short by at most one interval of writes; a listing older
 * than the checkpoint gives 0.
 */
export class BinlogEnd {
  readonly #db: SqlQueryable;
  readonly #intervalMs: number;
  /** The latest listing; null when the last read failed (the figure is unknown then). */
  #files: readonly BinlogFileSize[] | null;
  #readAt: number;
  #reading: Promise<void> | undefined;

  constructor(db: SqlQueryable, listing: readonly BinlogFileSize[], intervalMs = 1_000) {
    this.#db = db;
    this.#files = listing;
    this.#readAt = Date.now();
    this.#intervalMs = intervalMs;
  }

  /** Starts a new listing when the last is older than the interval and none is under way; does not wait for it. */
  refresh(now = Date.now()): void {
    if (this.#reading !== undefined || now - this.#readAt < this.#intervalMs) return;
    this.#readAt = now;
    this.#reading = binlogFileSizes(this.#db)
      .then(
        (files) => {
          this.#files = files;
        },
        () => {
          this.#files = null; // the server did not answer: unknown, not a stale figure
        },
      )
      .finally(() => {
        this.#reading = undefined;
      });
  }

  /** Bytes of binlog after `at` by the latest listing; null when unknown or `at`'s file is not listed. */
  behind(at: BinlogCoordinate): number | null {
    return this.#files === null ? null : binlogBytesAfter(this.#files, at);
  }

  /** Waits for a listing under way (before the stream's pools may close). */
  async settle(): Promise<void> {
    await this.#reading;
  }
}
