/**
 * What routers report to the control plane besides their lease and acks: shadow-read counters
 * (per migration, per routing epoch) and, per fence, how long they held writes.
 */

/** Shadow-read counters of one router for one routing epoch of a migration. */
export interface ShadowReadCounters {
  /** Reads compared with the other side. */
  readonly compared: number;
  /** Comparisons that found a difference. */
  readonly mismatched: number;
  /** Shadow reads that failed to run (the other side unreachable, …): not compared. */
  readonly errors: number;
}

/** A router's counters for one epoch (an epoch is one stay in one phase). */
export interface ShadowReadEpochCounters extends ShadowReadCounters {
  readonly epoch: number;
  readonly phase: string;
}

/** One router's cumulative shadow-read report for a migration (`shadow-reads:<migrationId>` hash field). */
export interface ShadowReadReport {
  readonly routerId: string;
  readonly epochs: readonly ShadowReadEpochCounters[];
  /** When it was published (router clock, ms since the epoch). */
  readonly at: number;
}

/** A recent mismatch, as routers publish it: where, never the row values. */
export interface ShadowReadMismatch {
  readonly routerId: string;
  readonly table: string;
  readonly epoch: number;
  /** The compiled statement with placeholders (no parameter values). */
  readonly sql: string;
  /** Rows only on the side served to the caller / only on the other side. */
  readonly servedOnly: number;
  readonly otherOnly: number;
  readonly at: number;
}

/** Every router's shadow reads of a migration, summed (see `RoutingChannel.shadowReadStats`). */
export interface ShadowReadStats extends ShadowReadCounters {
  /** Routers that reported (live or not: totals survive a router's restart). */
  readonly routers: readonly string[];
  /** Totals per epoch, ascending. */
  readonly byEpoch: readonly ShadowReadEpochCounters[];
  /** Newest first, at most {@link MAX_RECENT_MISMATCHES}. */
  readonly recentMismatches: readonly ShadowReadMismatch[];
}

/** How long a router held writes for one fence. */
export interface HeldWriteReport {
  /** Writes held (0 when none was). */
  readonly count: number;
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly at: number;
}

/** The held-write reports of the routers that acked one fence, combined (recorded with the switch). */
export interface HeldWritesSummary {
  /** Routers that reported. */
  readonly routers: number;
  readonly count: number;
  readonly maxMs: number;
  /**
   * The largest of the routers' p99s: an upper bound of the fleet's p99 (at most 1% of each
   * router's held writes, hence of all, took longer).
   */
  readonly p99Ms: number;
  /** Routers that acked the fence and had not reported by the deadline. */
  readonly unreported: readonly string[];
}

/** Most recent mismatches kept per migration. */
export const MAX_RECENT_MISMATCHES = 50;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** `{ count, maxMs, p99Ms }` of held times in ms (nearest-rank p99). */
export function heldWriteStats(samplesMs: readonly number[]): Omit<HeldWriteReport, 'at'> {
  if (samplesMs.length === 0) return { count: 0, maxMs: 0, p99Ms: 0 };
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p99 = sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)]!;
  return { count: sorted.length, maxMs: round(sorted.at(-1)!), p99Ms: round(p99) };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Combines per-router held-write reports. */
export function summariseHeldWrites(reports: ReadonlyMap<string, HeldWriteReport>, unreported: readonly string[]): HeldWritesSummary {
  const all = [...reports.values()];
  return {
    routers: all.length,
    count: all.reduce((n, r) => n + r.count, 0),
    maxMs: Math.max(0, ...all.map((r) => r.maxMs)),
    p99Ms: Math.max(0, ...all.map((r) => r.p99Ms)),
    unreported: [...unreported].sort(),
  };
}

/** Sums router reports (and attaches the recent mismatches). */
export function sumShadowReads(reports: readonly ShadowReadReport[], recentMismatches: readonly ShadowReadMismatch[]): ShadowReadStats {
  const byEpoch = new Map<number, { epoch: number; phase: string; compared: number; mismatched: number; errors: number }>();
  for (const report of reports) {
    for (const e of report.epochs) {
      const sum = byEpoch.get(e.epoch) ?? { epoch: e.epoch, phase: e.phase, compared: 0, mismatched: 0, errors: 0 };
      sum.compared += e.compared;
      sum.mismatched += e.mismatched;
      sum.errors += e.errors;
      byEpoch.set(e.epoch, sum);
    }
  }
  const epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  return {
    compared: epochs.reduce((n, e) => n + e.compared, 0),
    mismatched: epochs.reduce((n, e) => n + e.mismatched, 0),
    errors: epochs.reduce((n, e) => n + e.errors, 0),
    routers: reports.map((r) => r.routerId).sort(),
    byEpoch: epochs,
    recentMismatches,
  };
}

/** Parses a {@link ShadowReadReport}; `null` when malformed. */
export function parseShadowReadReport(routerId: string, value: unknown): ShadowReadReport | null {
  if (!isObject(value) || !Array.isArray(value['epochs'])) return null;
  const epochs: ShadowReadEpochCounters[] = [];
  for (const e of value['epochs'] as unknown[]) {
    if (!isObject(e) || typeof e['epoch'] !== 'number' || !Number.isSafeInteger(e['epoch'])) continue;
    epochs.push({ epoch: e['epoch'], phase: typeof e['phase'] === 'string' ? e['phase'] : '', compared: count(e['compared']), mismatched: count(e['mismatched']), errors: count(e['errors']) });
  }
  return { routerId, epochs, at: count(value['at']) };
}

/** Parses a {@link ShadowReadMismatch}; `null` when malformed. */
export function parseShadowReadMismatch(value: unknown): ShadowReadMismatch | null {
  if (!isObject(value) || typeof value['table'] !== 'string' || typeof value['routerId'] !== 'string') return null;
  return {
    routerId: value['routerId'],
    table: value['table'],
    epoch: count(value['epoch']),
    sql: typeof value['sql'] === 'string' ? value['sql'] : '',
    servedOnly: count(value['servedOnly']),
    otherOnly: count(value['otherOnly']),
    at: count(value['at']),
  };
}

/** Parses a {@link HeldWriteReport}; `null` when malformed. */
export function parseHeldWriteReport(value: unknown): HeldWriteReport | null {
  if (!isObject(value) || typeof value['count'] !== 'number') return null;
  return { count: count(value['count']), maxMs: count(value['maxMs']), p99Ms: count(value['p99Ms']), at: count(value['at']) };
}
