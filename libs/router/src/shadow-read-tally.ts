import type { ShadowReadEpochCounters, ShadowReadMismatch } from '@cleave/control';

/** The migration a shadow read was routed under. */
export interface TalliedMigration {
  readonly id: string;
  readonly epoch: number;
  readonly phase: string;
}

/** What a mismatch records (no row values: only where, and how many rows differed). */
export type MismatchNote = Pick<ShadowReadMismatch, 'table' | 'sql' | 'servedOnly' | 'otherOnly'>;

/** What {@link ShadowReadTally.take} hands to the publisher, per migration. */
export interface TallyReport {
  readonly migrationId: string;
  readonly epochs: readonly ShadowReadEpochCounters[];
  readonly mismatches: ReadonlyArray<Omit<ShadowReadMismatch, 'routerId'>>;
}

/** Mismatches kept between two publishes, per migration (the rest are only counted). */
const MAX_PENDING_MISMATCHES = 20;

/**
 * This router's shadow-read counters since it started, per migration and routing epoch, and the
 * mismatches not yet published. The router control publishes what changed with its heartbeat.
 */
export class ShadowReadTally {
  readonly #counters = new Map<string, Map<number, { epoch: number; phase: string; compared: number; mismatched: number; errors: number }>>();
  readonly #pending = new Map<string, Array<Omit<ShadowReadMismatch, 'routerId'>>>();
  readonly #dirty = new Set<string>();

  /** Counts one shadow read: compared (`match` / `mismatch`) or failed (`error`). */
  record(migration: TalliedMigration, result: 'match' | 'mismatch' | 'error', mismatch?: MismatchNote): void {
    let epochs = this.#counters.get(migration.id);
    if (epochs === undefined) this.#counters.set(migration.id, (epochs = new Map()));
    let c = epochs.get(migration.epoch);
    if (c === undefined) epochs.set(migration.epoch, (c = { epoch: migration.epoch, phase: migration.phase, compared: 0, mismatched: 0, errors: 0 }));
    if (result === 'error') c.errors += 1;
    else c.compared += 1;
    if (result === 'mismatch') {
      c.mismatched += 1;
      const pending = this.#pending.get(migration.id) ?? [];
      if (mismatch !== undefined && pending.length < MAX_PENDING_MISMATCHES) pending.push({ ...mismatch, epoch: migration.epoch, at: Date.now() });
      this.#pending.set(migration.id, pending);
    }
    this.#dirty.add(migration.id);
  }

  /** Counters of a migration (all epochs), ascending by epoch. */
  counters(migrationId: string): ShadowReadEpochCounters[] {
    return [...(this.#counters.get(migrationId)?.values() ?? [])].map((c) => ({ ...c })).sort((a, b) => a.epoch - b.epoch);
  }

  /** The migrations that changed since the last take: their full counters and new mismatches. */
  take(): TallyReport[] {
    const out = [...this.#dirty].map((migrationId) => ({ migrationId, epochs: this.counters(migrationId), mismatches: this.#pending.get(migrationId) ?? [] }));
    this.#dirty.clear();
    this.#pending.clear();
    return out;
  }

  /** Puts back a report that could not be published (it is sent again with the next one). */
  giveBack(report: TallyReport): void {
    this.#dirty.add(report.migrationId);
    const pending = this.#pending.get(report.migrationId) ?? [];
    this.#pending.set(report.migrationId, [...report.mismatches, ...pending].slice(0, MAX_PENDING_MISMATCHES));
  }
}
