import { formatCoordinate, readMigrationStatus, type ControlStore, type RouterStatus, type ShadowReadStats } from '@cleave/control';
import { formatBytes } from '@cleave/core';
import { backfillTableView, type BackfillTableView } from './backfill-view.js';
import type { CaptureRates } from './capture-rates.js';
import { dashboardWarnings, type DashboardWarning } from './dashboard-warnings.js';
import { phaseStepper, possibleSteps, type StepperView } from './phase-stepper.js';
import type { PreconditionWatch } from './precondition-watch.js';
import type { ProgressHistory } from './progress-history.js';
import { shadowReadView, type ShadowReadView } from './shadow-read-view.js';
import { throttleView, type ThrottleView } from './throttle-view.js';
import { timelineEntry, type TimelineEntry } from './timeline-entry.js';
import type { GateThrottling } from './worker-metrics.js';

/** Where the dashboard's facts come from: the control store, and the worker's own live state. */
export interface MigrationViewSources {
  readonly store: ControlStore;
  readonly history: ProgressHistory;
  /** Changes/s of the capture streams, sampled by this worker. */
  readonly captureRates: Pick<CaptureRates, 'perSecond'>;
  /** The same preconditions as `cleave cutover --dry-run`; absent: the stepper shows no checks. */
  readonly preconditions?: PreconditionWatch;
  readonly routers?: (migrationId: string) => Promise<RouterStatus[]>;
  readonly shadowReads?: (migrationId: string) => Promise<ShadowReadStats>;
  readonly workersAlive?: () => Promise<number>;
  /** This worker's throttle gates now. */
  readonly throttling?: () => readonly GateThrottling[];
  /** The worker has an action token: the page may offer actions. */
  readonly tokenSet: boolean;
}

export interface CaptureView {
  readonly stream: string;
  readonly server: string;
  readonly state: string;
  readonly error: string | null;
  readonly position: string;
  readonly lagMs: number | null;
  /** Bytes of the server's binlog after the checkpoint, as the stream last measured them; null: not measured. */
  readonly behindBytes: number | null;
  /** The same in words (`3.2 KiB`), or `-`. */
  readonly behind: string;
  readonly changesApplied: number;
  /** Over the worker's last samples (about 10 s); null until it has two. */
  readonly changesPerSecond: number | null;
  readonly checkpointedAt: string | null;
  /** The worker running it (its lease is live), or null. */
  readonly runBy: string | null;
}

/** Everything the dashboard shows of one migration (the JSON of `/api/migrations/:id`). No credential. */
export interface MigrationView {
  readonly migration: { readonly id: string; readonly name: string; readonly phase: string; readonly epoch: number; readonly capture: boolean; readonly cancelledAt: string | null; readonly createdAt: string };
  readonly stepper: StepperView;
  readonly warnings: readonly DashboardWarning[];
  readonly backfill: { readonly tables: readonly BackfillTableView[]; readonly rowsCopied: number; readonly complete: boolean };
  /** Rows/s of the whole migration over its copy, sampled by this worker. */
  readonly rates: ReadonlyArray<{ readonly at: number; readonly rowsPerSecond: number }>;
  readonly throttle: ThrottleView;
  readonly capture: readonly CaptureView[];
  readonly routers: readonly RouterStatus[];
  readonly shadowReads: ShadowReadView | null;
  readonly workersAlive: number | null;
  readonly verification: ReadonlyArray<{ readonly id: number; readonly clean: boolean | null; readonly rowsChecked: number; readonly rowsDiffering: number; readonly rowsRepaired: number; readonly passes: number; readonly finishedAt: string | null }>;
  readonly timeline: readonly TimelineEntry[];
}

export async function migrationView(src: MigrationViewSources, idOrName: string): Promise<MigrationView> {
  const status = await readMigrationStatus(src.store, idOrName);
  const m = status.migration;
  const [routers, shadowStats, workersAlive, checks] = await Promise.all([
    src.routers ? src.routers(m.id) : [],
    src.shadowReads ? src.shadowReads(m.id) : null,
    src.workersAlive ? src.workersAlive() : null,
    src.preconditions ? src.preconditions.checks(m, possibleSteps(m)) : null,
  ]);
  const shadowReads = shadowStats === null ? null : shadowReadView(shadowStats, m.epoch);
  const now = Date.now();
  return {
    migration: { id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, capture: m.capture, cancelledAt: m.cancelledAt?.toISOString() ?? null, createdAt: m.createdAt.toISOString() },
    stepper: phaseStepper(m, checks, src.tokenSet),
    warnings: dashboardWarnings({ migration: m, tables: status.backfill.tables, verification: status.verification, capture: status.capture, routers, workersAlive, shadowReads, now }),
    backfill: { tables: status.backfill.tables.map(backfillTableView), rowsCopied: status.backfill.rowsCopied, complete: status.backfill.complete },
    rates: src.history.rates(m.id).map((r) => ({ at: r.at, rowsPerSecond: Object.values(r.rowsPerSecond).reduce((a, b) => a + b, 0) })),
    throttle: throttleView(m.id, src.throttling?.() ?? [], status.throttling, now),
    capture: status.capture.map((c) => ({
      stream: c.stream,
      server: c.server,
      state: c.state,
      error: c.error,
      position: formatCoordinate(c.checkpoint) + (c.checkpoint.gtid ? ` (GTID ${c.checkpoint.gtid})` : ''),
      lagMs: c.lagMs,
      behindBytes: c.behindBytes,
      behind: c.behindBytes === null ? '-' : formatBytes(c.behindBytes),
      changesApplied: c.changesApplied,
      changesPerSecond: src.captureRates.perSecond(m.id, c.stream),
      checkpointedAt: c.checkpointedAt?.toISOString() ?? null,
      runBy: c.owner !== null && c.leaseUntil !== null && c.leaseUntil.getTime() >= now ? c.owner : null,
    })),
    routers,
    shadowReads,
    workersAlive,
    verification: status.verification.map((v) => ({ id: v.id, clean: v.clean, rowsChecked: v.rowsChecked, rowsDiffering: v.rowsDiffering, rowsRepaired: v.rowsRepaired, passes: v.passes, finishedAt: v.finishedAt?.toISOString() ?? null })),
    timeline: status.events.map(timelineEntry),
  };
}
