import { CleaveError, type MigrationPhase } from '@cleave/core';

/** Construction settings of the cutover (all durations in milliseconds). */
export interface CutoverSettings {
  /**
   * How long a fence lives in Redis when no coordinator lifts it (a crashed coordinator cannot
   * hold writes longer than this).
   * @defaultValue 10000
   */
  readonly fenceTtlMs: number;
  /**
   * Deadline for every live router to ack a fence (in-flight writes finished). A miss aborts the
   * switch: unfence, keep the old epoch.
   * @defaultValue 2000
   */
  readonly fenceAckTimeoutMs: number;
  /**
   * Deadline for every live router to ack a new epoch.
   * @defaultValue 5000
   */
  readonly epochAckTimeoutMs: number;
  /**
   * Minimum time a migration must have spent in a phase before it may move forward out of it
   * (`soak-time-elapsed`). Phases not listed need no soak.
   * @defaultValue {}
   */
  readonly soakMs: Readonly<Partial<Record<MigrationPhase, number>>>;
  /**
   * Most replication lag, in seconds, a target server may report (`target-lag-ok`).
   * @defaultValue 5
   */
  readonly maxTargetLagSeconds: number;
  /**
   * After the unfence, how long to wait for the routers that acked the fence to report how long
   * they held writes (recorded with the switch as `heldWrites`; a router that misses it is listed).
   * @defaultValue 2000
   */
  readonly heldWritesReportMs: number;
  /**
   * When a switch moves the write primary, how long raising a moved table's auto-increment
   * counter on the new primary may wait for transactions that hold the table (its metadata lock),
   * in seconds, before the switch is aborted (writes released, old epoch kept).
   * @defaultValue 1
   */
  readonly counterLockWaitSeconds: number;
  /**
   * With writes held, how long a switch waits for each binlog capture stream to apply what its
   * server committed before the fence, before it aborts (writes released, old epoch kept).
   * @defaultValue 2000
   */
  readonly captureCatchUpMs: number;
}

export const DEFAULT_CUTOVER_SETTINGS: CutoverSettings = Object.freeze({
  fenceTtlMs: 10_000,
  fenceAckTimeoutMs: 2_000,
  epochAckTimeoutMs: 5_000,
  soakMs: Object.freeze({}),
  maxTargetLagSeconds: 5,
  heldWritesReportMs: 2_000,
  counterLockWaitSeconds: 1,
  captureCatchUpMs: 2_000,
});

/** Defaults filled in, validated, frozen. Throws `CONFIG_INVALID` naming the bad setting. */
export function resolveCutoverSettings(partial: Partial<CutoverSettings> = {}): CutoverSettings {
  const s = { ...DEFAULT_CUTOVER_SETTINGS, ...partial, soakMs: Object.freeze({ ...(partial.soakMs ?? {}) }) };
  for (const key of ['fenceTtlMs', 'fenceAckTimeoutMs', 'epochAckTimeoutMs', 'maxTargetLagSeconds', 'heldWritesReportMs', 'counterLockWaitSeconds', 'captureCatchUpMs'] as const) {
    if (!Number.isFinite(s[key]) || s[key] < 0) throw new CleaveError('CONFIG_INVALID', `cutover setting ${key} must be a number >= 0, got ${String(s[key])}`);
  }
  for (const [phase, ms] of Object.entries(s.soakMs)) {
    if (!Number.isFinite(ms) || (ms ?? 0) < 0) throw new CleaveError('CONFIG_INVALID', `cutover setting soakMs.${phase} must be a number >= 0`);
  }
  if (s.fenceTtlMs <= s.fenceAckTimeoutMs) {
    throw new CleaveError('CONFIG_INVALID', `fenceTtlMs (${s.fenceTtlMs}) must exceed fenceAckTimeoutMs (${s.fenceAckTimeoutMs}): the fence would expire before the routers ack it`);
  }
  return Object.freeze(s);
}
