import type { BackfillUnitStatus } from '@cleave/control';
import { formatDuration } from '@cleave/core';

/** A backfill unit as the dashboard shows it: its state in words, rate and ETA from its copy's start. */
export interface BackfillTableView {
  readonly table: string;
  readonly target: string;
  readonly state: BackfillUnitStatus['state'];
  /** `queued` (waiting for a worker), `splitting`, `copying`, `copied`, `failed: …`. */
  readonly stateText: string;
  readonly percent: number;
  readonly rowsCopied: number;
  readonly rowsEstimate: number;
  /** Since its first chunk began (0 while queued). */
  readonly rowsPerSecond: number;
  /** Milliseconds left at its rate, or null (queued, done, no rate yet). */
  readonly etaMs: number | null;
  /** `done`, `queued`, `-` (no rate yet) or the time left (`3 min 5 s`, `2 h 10 min`, `1 d 4 h`). */
  readonly eta: string;
  readonly segments: number;
  readonly segmentsDone: number;
}

export function backfillTableView(t: BackfillUnitStatus): BackfillTableView {
  const queued = t.state === 'pending' || t.copyStartedAt === null;
  const etaMs = t.state === 'copying' && t.rowsPerSecond > 0 && t.rowsEstimate > t.rowsCopied ? ((t.rowsEstimate - t.rowsCopied) / t.rowsPerSecond) * 1000 : null;
  const stateText = t.state === 'failed' ? `failed${t.error ? `: ${t.error}` : ''}` : t.state === 'pending' ? 'queued' : t.state;
  return {
    table: t.table,
    target: t.target,
    state: t.state,
    stateText,
    percent: t.percent,
    rowsCopied: t.rowsCopied,
    rowsEstimate: t.rowsEstimate,
    rowsPerSecond: queued && t.state !== 'copied' ? 0 : t.rowsPerSecond,
    etaMs,
    eta: t.state === 'copied' ? 'done' : t.state === 'failed' ? '-' : queued ? 'queued' : etaMs === null ? '-' : formatDuration(etaMs),
    segments: t.segments,
    segmentsDone: t.segmentsDone,
  };
}
