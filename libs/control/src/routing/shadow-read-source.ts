import type { RoutingChannel } from './routing-channel.js';
import type { ShadowReadMismatch } from './router-reports.js';

/** Shadow reads of a migration as a precondition reads them: one epoch's, or all. */
export interface EpochShadowReads {
  readonly compared: number;
  readonly mismatched: number;
  readonly errors: number;
  /** The epoch counted, or null for the totals over every epoch. */
  readonly epoch: number | null;
  /** Tables of the recent mismatches counted (newest first, distinct). */
  readonly mismatchedTables: readonly string[];
  /** The recent mismatches counted (newest first; the routers keep the last few). */
  readonly recentMismatches: readonly ShadowReadMismatch[];
}

/**
 * The routers' shadow-read reports (summed from the routing channel) as a cutover
 * `ShadowReadSource`: `null` when no router ever reported for the migration; with `epoch`, only
 * the reads routed under that epoch (since the migration entered its current phase).
 *
 * @example
 * new Cutover({ store, fleet: channel, leases, actor, shadowReads: shadowReadSource(channel) });
 */
export function shadowReadSource(channel: Pick<RoutingChannel, 'shadowReadStats'>): {
  shadowReads(migrationId: string, options?: { readonly epoch?: number }): Promise<EpochShadowReads | null>;
} {
  return {
    async shadowReads(migrationId, options = {}) {
      const stats = await channel.shadowReadStats(migrationId);
      if (stats.routers.length === 0) return null;
      const { epoch } = options;
      const counted = epoch === undefined ? stats : (stats.byEpoch.find((e) => e.epoch === epoch) ?? { compared: 0, mismatched: 0, errors: 0 });
      const recent = stats.recentMismatches.filter((m) => epoch === undefined || m.epoch === epoch);
      const tables = recent.map((m) => m.table);
      return { compared: counted.compared, mismatched: counted.mismatched, errors: counted.errors, epoch: epoch ?? null, mismatchedTables: [...new Set(tables)], recentMismatches: recent };
    },
  };
}
