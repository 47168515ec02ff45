import { fmtDuration, fmtInt, fmtTime } from '../output.js';
import { stalledWithoutWorkers, type CliMigrationStatus } from './status-command.js';

/** How a watch ended; null while it is still watching. */
export type WatchOutcome = 'done' | 'timeout' | null;

type Unit = CliMigrationStatus['backfill']['tables'][number];

/** Done watching: every unit copied and the latest verification run finished. */
export function watchFinished(s: CliMigrationStatus): boolean {
  const last = s.verification.at(-1);
  return s.backfill.complete && last !== undefined && last.finishedAt !== null;
}

export function eta(t: Unit): string {
  if (t.state === 'copied') return 'done';
  if (t.rowsPerSecond <= 0 || t.rowsEstimate <= t.rowsCopied) return '-';
  return fmtDuration(((t.rowsEstimate - t.rowsCopied) / t.rowsPerSecond) * 1000);
}

export function throttleLine(s: CliMigrationStatus): string {
  const latest = [...s.throttling].sort((a, b) => b.lastAt.getTime() - a.lastAt.getTime())[0];
  if (!latest) return 'never throttled';
  const recent = Date.now() - latest.lastAt.getTime() < 5_000;
  return `${recent ? 'THROTTLED' : 'last throttled'}: ${latest.reason} (${fmtDuration(s.throttling.reduce((n, t) => n + t.throttledMs, 0))} in all)`;
}

export function verificationWord(s: CliMigrationStatus): string {
  const v = s.verification.at(-1);
  if (v === undefined) return 'not run';
  return v.clean === null ? 'running' : v.clean ? 'clean' : 'differences remain';
}

/**
 * Cuts a line to `columns - 1` characters: the frame is plain ASCII (table names are identifiers),
 * so characters are columns, and the last column stays free (some terminals wrap on writing it).
 * A line that never wraps keeps the block's height, so each redraw lands where the last one was.
 */
function fit(line: string, columns: number): string {
  return line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}~`;
}

function bar(percent: number, width: number): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** Two lines per backfill unit: name, bar and percent; then rows, rate, ETA and state. */
function unitBlock(t: Unit, nameWidth: number, columns: number): string[] {
  const name = t.table.length > nameWidth ? `${t.table.slice(0, nameWidth - 1)}~` : t.table.padEnd(nameWidth);
  const percent = `${t.percent.toFixed(1).padStart(5)}%`;
  // What is left after " name [", "] 100.0%" and a spare last column: the bar takes it, 10 to 60 cells.
  const barWidth = Math.min(60, Math.max(10, columns - nameWidth - percent.length - 6));
  const state = t.state === 'failed' ? `FAILED${t.error ? `: ${t.error}` : ''}` : t.state;
  return [
    ` ${name} ${bar(t.percent, barWidth)} ${percent}`,
    `   -> ${t.target}  ${fmtInt(t.rowsCopied)}/${fmtInt(t.rowsEstimate)} rows  ${fmtInt(t.rowsPerSecond)} rows/s  ETA ${eta(t)}  ${state}`,
  ];
}

function queueLine(s: CliMigrationStatus): string {
  const q = (name: string) => Object.entries(s.queues[name] ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'empty';
  return `workers alive ${s.workersAlive}; backfill jobs ${q('backfill')}; verify jobs ${q('verify')}`;
}

/** The last lines: still watching, or how the watch ended, said plainly. */
function outcomeLines(s: CliMigrationStatus, outcome: WatchOutcome, intervalMs: number, now: Date): string[] {
  const name = s.migration.name;
  if (outcome === null) return [`updated ${fmtTime(now).slice(11)}, every ${fmtDuration(intervalMs)}; Ctrl-C stops watching (the migration goes on)`];
  if (outcome === 'timeout') {
    const copied = s.backfill.tables.filter((t) => t.state === 'copied').length;
    return [`STOPPED WATCHING: --timeout ran out; ${copied} of ${s.backfill.tables.length} tables copied, verification ${verificationWord(s)}`, `the migration goes on: cleave status ${name}`];
  }
  const v = s.verification.at(-1);
  return v?.clean
    ? [`DONE: every table copied; verification run ${v.id} clean`]
    : [`DONE COPYING, NOT CLEAN: verification run ${v?.id ?? '-'} left ${fmtInt(v?.rowsDiffering ?? 0)} rows differing`, `repair them: cleave verify ${name} --repair`];
}

/**
 * One screen of `cleave status <id> --watch` on a terminal: the header, a block per table in the
 * plan's order (so each stays put between redraws), the throttle, verification and queue lines,
 * and how the watch stands. Every line fits in `columns`; every frame has the same height.
 */
export function renderWatchFrame(s: CliMigrationStatus, options: { columns: number; intervalMs: number; outcome: WatchOutcome; now?: Date }): string[] {
  const columns = Math.max(20, options.columns);
  const m = s.migration;
  const nameWidth = Math.min(24, Math.max(8, ...s.backfill.tables.map((t) => t.table.length)));
  const copied = s.backfill.tables.filter((t) => t.state === 'copied').length;
  const lines = [
    `migration ${m.name}  phase ${m.phase}  id ${m.id}`,
    `copy: ${copied} of ${s.backfill.tables.length} tables copied, ${fmtInt(s.backfill.rowsCopied)} rows`,
    ...s.backfill.tables.flatMap((t) => unitBlock(t, nameWidth, columns)),
    `throttle: ${throttleLine(s)}`,
    `verification: ${verificationWord(s)}`,
    queueLine(s),
    stalledWithoutWorkers(s) ? 'NO WORKER ALIVE: nothing copies until one starts (cleave worker)' : '', // the warning's slot
    ...outcomeLines(s, options.outcome, options.intervalMs, options.now ?? new Date()),
  ];
  // Every frame of a migration has the same height (a slot for the warning, two for the outcome),
  // and an empty slot holds a space: log-update rewrites only the lines that changed, and a frame
  // that grew or shrank, or a changed run of lines ending in an empty one, leaves its cursor a line
  // off, so the next frames would land shifted (a stale line left behind, the header overwritten).
  while (lines.length < 2 + 2 * s.backfill.tables.length + 6) lines.push('');
  return lines.map((line) => (line === '' ? ' ' : fit(line, columns)));
}
