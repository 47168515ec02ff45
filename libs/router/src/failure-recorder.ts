import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { RouterLog, ShadowFailureStore } from './router-config.js';
import type { RouterMetrics } from './router-metrics.js';

/** One failed shadow write. */
export interface ShadowFailure {
  readonly migrationId: string;
  readonly table: string;
  /** `encodeShadowKeys` text. */
  readonly keyValues: string;
  readonly error: string;
  /** The placement (guard epoch) the write was routed under, when the migration has one. */
  readonly guardEpoch?: number;
  readonly at: number;
}

const STORE_TIMEOUT_MS = 2_000;

/**
 * Records failed shadow writes durably: in the failure store (the control store, which the worker
 * repairs from); when that fails too, appended to a local journal file (fsync'd) and drained into
 * the store later; without a journal, kept in memory and retried (lost if the process dies, and
 * logged as such).
 */
export class FailureRecorder {
  readonly #store: ShadowFailureStore | undefined;
  readonly #journal: string | undefined;
  readonly #log: RouterLog;
  readonly #metrics: RouterMetrics;
  #memory: ShadowFailure[] = [];
  /** The journal's lines as last read (this process is its only writer); dropped on every change. */
  #journalCache: ShadowFailure[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;

  constructor(config: { store: ShadowFailureStore | undefined; journalPath: string | undefined; log: RouterLog; metrics: RouterMetrics }) {
    this.#store = config.store;
    this.#journal = config.journalPath;
    this.#log = config.log;
    this.#metrics = config.metrics;
  }

  /** Failures not yet in the store (journal lines + memory). */
  pending(): number {
    return this.#memory.length + this.#journalLines().length;
  }

  /** Failures of one migration not yet in the store: a switch must not flip while any exist. */
  pendingFor(migrationId: string): number {
    this.#journalCache ??= this.#journalLines();
    return [...this.#memory, ...this.#journalCache].filter((f) => f.migrationId === migrationId).length;
  }

  start(): void {
    void this.drain();
    this.#timer = setInterval(() => void this.drain(), 3_000);
    this.#timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.drain();
  }

  /** Records one failure; never throws. */
  async record(failure: ShadowFailure): Promise<void> {
    if (await this.#toStore(failure)) {
      this.#metrics.increment('cleave_router_shadow_failures_recorded_total', { where: 'store' });
      return;
    }
    if (this.#journal !== undefined) {
      try {
        this.#append([failure]);
        this.#metrics.increment('cleave_router_shadow_failures_recorded_total', { where: 'journal' });
        return;
      } catch (error) {
        this.#log({ level: 'error', message: 'cannot append to the shadow failure journal', path: this.#journal, error: (error as Error).message });
      }
    }
    this.#memory.push(failure);
    this.#metrics.increment('cleave_router_shadow_failures_recorded_total', { where: 'memory' });
    this.#log({ level: 'error', message: 'shadow failure kept in memory only (store and journal unavailable): verification will find the row', migrationId: failure.migrationId, table: failure.table });
  }

  /** Moves journal lines and memory entries into the store. */
  drain(): Promise<void> {
    // Cleared in a callback, never inside the run: a run with nothing to do completes before the
    // assignment, and clearing it there would leave a settled promise that no later drain replaces.
    this.#draining ??= this.#drainOnce().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  async #drainOnce(): Promise<void> {
    // Each entry stays counted as pending (a fence ack reports it) until the store has it.
    for (const failure of [...this.#memory]) {
      if (!(await this.#toStore(failure))) return;
      this.#memory = this.#memory.filter((f) => f !== failure);
    }
    const lines = this.#journalLines();
    if (lines.length === 0) return;
    let done = 0;
    for (const line of lines) {
      if (!(await this.#toStore(line))) break;
      done += 1;
    }
    if (done > 0) {
      this.#dropFirst(done);
      this.#log({ level: 'info', message: 'shadow failure journal drained into the store', records: done });
    }
  }

  async #toStore(failure: ShadowFailure): Promise<boolean> {
    if (this.#store === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#store.recordShadowFailure(failure.migrationId, failure.table, failure.keyValues, failure.error, failure.guardEpoch === undefined ? {} : { guardEpoch: failure.guardEpoch }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), STORE_TIMEOUT_MS))),
      ]);
      return true;
    } catch (error) {
      this.#log({ level: 'warn', message: 'cannot record a shadow failure in the store', error: (error as Error).message });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #journalLines(): ShadowFailure[] {
    if (this.#journal === undefined || !existsSync(this.#journal)) return [];
    return readFileSync(this.#journal, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as ShadowFailure];
        } catch {
          return []; // a torn last line from a crash mid-append
        }
      });
  }

  #append(failures: readonly ShadowFailure[]): void {
    this.#journalCache = undefined;
    const fd = openSync(this.#journal!, 'a');
    try {
      writeSync(fd, failures.map((f) => `${JSON.stringify(f)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Drops the first `count` journal lines (re-read now: lines appended meanwhile are kept). One process per journal file. */
  #dropFirst(count: number): void {
    this.#journalCache = undefined;
    const rest = this.#journalLines().slice(count);
    const tmp = `${this.#journal!}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, rest.map((f) => `${JSON.stringify(f)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#journal!);
  }
}
