import type { CaptureStreamRecord } from './capture-streams.js';
import type { ControlStore } from './control-store.js';
import type { BackfillTableRecord, MigrationEvent, MigrationRecord, ThrottleStat, VerificationRunRecord } from './records.js';

/** A backfill unit with its derived progress. */
export interface BackfillUnitStatus extends BackfillTableRecord {
  /** Wall-clock rate since its first chunk began (segments copy in parallel); 0 before that. */
  readonly rowsPerSecond: number;
  /** 0-100; estimates come from the catalog, so 100 only once the unit is copied. */
  readonly percent: number;
}

/** Everything the control store knows about one migration, for status, the UI and scripts. */
export interface MigrationStatus {
  readonly migration: MigrationRecord;
  readonly backfill: { readonly tables: readonly BackfillUnitStatus[]; readonly rowsCopied: number; readonly complete: boolean };
  readonly throttling: readonly ThrottleStat[];
  readonly verification: readonly VerificationRunRecord[];
  readonly events: readonly MigrationEvent[];
  /** The binlog capture streams (empty: started with --no-capture). */
  readonly capture: readonly CaptureStreamRecord[];
}

export async function readMigrationStatus(store: ControlStore, idOrName: string, now = new Date()): Promise<MigrationStatus> {
  const migration = await store.getMigration(idOrName);
  const [tables, throttling, verification, events, capture] = await Promise.all([
    store.backfillTables(migration.id),
    store.throttleStats(migration.id),
    store.verificationRuns(migration.id),
    store.events(migration.id),
    store.captureStreams().list(migration.id),
  ]);
  const units = tables.map((t) => ({
    ...t,
    rowsPerSecond: t.copyStartedAt ? (t.rowsCopied * 1000) / Math.max(1, (t.finishedAt ?? now).getTime() - t.copyStartedAt.getTime()) : 0,
    percent: t.state === 'copied' ? 100 : t.rowsEstimate > 0 ? Math.min(99.9, (100 * t.rowsCopied) / t.rowsEstimate) : 0,
  }));
  return {
    migration,
    backfill: { tables: units, rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0), complete: tables.length > 0 && tables.every((t) => t.state === 'copied') },
    throttling,
    verification,
    capture,
    events,
  };
}
