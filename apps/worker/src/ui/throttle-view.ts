import type { ThrottleStat } from '@cleave/control';
import type { GateThrottling } from './worker-metrics.js';

/** A throttler holding the copy now. */
export interface ThrottledNow {
  readonly throttler: string;
  /** With the value against its threshold when this worker's gate says it (`source probe latency 5.70 ms > 0.80 ms …`). */
  readonly reason: string;
  readonly seenBy: 'this worker' | 'another worker';
}

export interface ThrottleView {
  /** This worker's throttle gate of the migration polls now (it has copy work of it). */
  readonly watching: boolean;
  readonly now: readonly ThrottledNow[];
  /** Time copies waited, per throttler, over the migration's life (every worker). */
  readonly totals: ReadonlyArray<{ readonly throttler: string; readonly throttledMs: number; readonly lastAt: string }>;
}

/** How recent a throttled-time record of another worker must be to count as throttled now. */
const RECENT_MS = 3000;

/**
 * Throttled now, from this worker's gate (it polls the servers and knows each value and
 * threshold); when this worker copies nothing of the migration, from the throttled time other
 * workers recorded in the last seconds (their reason's name only).
 */
export function throttleView(migrationId: string, gates: readonly GateThrottling[], stats: readonly ThrottleStat[], now = Date.now()): ThrottleView {
  const gate = gates.find((g) => g.migrationId === migrationId);
  const current: ThrottledNow[] =
    gate !== undefined
      ? gate.reasons.map((r) => ({ throttler: r.name, reason: r.reason, seenBy: 'this worker' }))
      : stats.filter((s) => now - s.lastAt.getTime() < RECENT_MS).map((s) => ({ throttler: s.reason, reason: s.reason, seenBy: 'another worker' }));
  return {
    watching: gate !== undefined,
    now: current,
    totals: stats.map((s) => ({ throttler: s.reason, throttledMs: s.throttledMs, lastAt: s.lastAt.toISOString() })),
  };
}
