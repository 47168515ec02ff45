import type { BackfillTableRecord, CaptureStreamRecord, MigrationRecord, RouterStatus, VerificationRunRecord } from '@cleave/control';
import type { ShadowReadView } from './shadow-read-view.js';

/** A condition the operator should act on, shown at the top of the migration. */
export interface DashboardWarning {
  /** Stable name (tests and scripts match it). */
  readonly id:
    | 'no-router'
    | 'no-worker'
    | 'capture-off'
    | 'capture-unowned'
    | 'capture-failed'
    | 'backfill-failed'
    | 'verification-differences'
    | 'shadow-read-mismatches'
    | 'finalized-unclean';
  readonly text: string;
}

export interface WarningFacts {
  readonly migration: MigrationRecord;
  readonly tables: readonly BackfillTableRecord[];
  readonly verification: readonly VerificationRunRecord[];
  readonly capture: readonly CaptureStreamRecord[];
  readonly routers: readonly RouterStatus[];
  /** Worker processes connected to the job queues (null: not known). */
  readonly workersAlive: number | null;
  readonly shadowReads: ShadowReadView | null;
  readonly now?: number;
}

const verificationFigures = (v: VerificationRunRecord) =>
  `run ${v.id}: ${v.rowsDiffering.toLocaleString('en-US')} rows differing, ${v.rowsRepaired.toLocaleString('en-US')} repaired in ${v.passes} passes`;

/** What is wrong with a migration now, most urgent first. */
export function dashboardWarnings(f: WarningFacts): DashboardWarning[] {
  const m = f.migration;
  const now = f.now ?? Date.now();
  const out: DashboardWarning[] = [];
  if (m.cancelledAt !== null) return out;
  // Routers carry writes to the other side (or the capture does) from dual_write until finalize.
  const moving = m.phase !== 'planned' && m.phase !== 'finalized';
  const lastRun = [...f.verification].reverse().find((v) => v.finishedAt !== null);

  if (m.phase === 'finalized' && lastRun?.clean !== true) {
    out.push({
      id: 'finalized-unclean',
      text:
        lastRun === undefined
          ? 'finalized without a finished verification run: nothing compared the two sides before the source was archived'
          : `finalized although its last verification was not clean (${verificationFigures(lastRun)}): compare the archived source tables with the target`,
    });
  }
  if (f.workersAlive === 0 && moving) {
    out.push({ id: 'no-worker', text: 'no worker alive: nothing copies, verifies, repairs or runs the binlog capture until one starts (cleave worker)' });
  }
  for (const c of f.capture) {
    if (c.state === 'failed') out.push({ id: 'capture-failed', text: `capture stream ${c.stream} (${c.server}) failed${c.error ? `: ${c.error}` : ''}` });
    else if (c.state === 'active' && (c.owner === null || c.leaseUntil === null || c.leaseUntil.getTime() < now)) {
      out.push({ id: 'capture-unowned', text: `capture stream ${c.stream} (${c.server}) is active but no worker runs it: changes pile up in the binlog until one does` });
    }
  }
  for (const t of f.tables) {
    if (t.state === 'failed') out.push({ id: 'backfill-failed', text: `backfill of ${t.table} failed${t.error ? `: ${t.error}` : ''}` });
  }
  if (lastRun !== undefined && lastRun.clean === false && m.phase !== 'finalized') {
    out.push({ id: 'verification-differences', text: `verification found differences that remain (${verificationFigures(lastRun)}): \`cleave verify ${m.name} --repair\`` });
  }
  const phaseMismatches = f.shadowReads?.currentPhase?.mismatched ?? 0;
  if (phaseMismatches > 0) {
    out.push({ id: 'shadow-read-mismatches', text: `${phaseMismatches} shadow reads differed between the sides in this phase (see Shadow reads)` });
  }
  if (moving && f.routers.length === 0) {
    out.push({
      id: 'no-router',
      text: m.capture
        ? 'no router registered: only the binlog capture carries writes to the other side, and no service reads through @cleave/router'
        : 'no router registered and capture off: writes reach only the primary and are caught only by verification',
    });
  }
  if (moving && !m.capture) {
    out.push({ id: 'capture-off', text: 'binlog capture is off (started with --no-capture): writes made outside @cleave/router reach the other side only through verification passes' });
  }
  return out;
}
