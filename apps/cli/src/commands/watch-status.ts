import cliProgress from 'cli-progress';
import type { CliContext } from '../cli-context.js';
import { fmtDuration, fmtInt } from '../output.js';
import { migrationStatus, stalledWithoutWorkers, type CliMigrationStatus } from './status-command.js';

export interface WatchOptions {
  readonly intervalMs: number;
  /** Stop after this long even if not done (0: until done or interrupted). */
  readonly timeoutMs: number;
}

/** Done watching: every unit copied and the latest verification run finished. */
export function watchFinished(s: CliMigrationStatus): boolean {
  const last = s.verification.at(-1);
  return s.backfill.complete && last !== undefined && last.finishedAt !== null;
}

function eta(t: CliMigrationStatus['backfill']['tables'][number]): string {
  if (t.state === 'copied') return 'done';
  if (t.rowsPerSecond <= 0 || t.rowsEstimate <= t.rowsCopied) return '-';
  return fmtDuration(((t.rowsEstimate - t.rowsCopied) / t.rowsPerSecond) * 1000);
}

function throttleLine(s: CliMigrationStatus): string {
  const latest = [...s.throttling].sort((a, b) => b.lastAt.getTime() - a.lastAt.getTime())[0];
  if (!latest) return 'never throttled';
  const recent = Date.now() - latest.lastAt.getTime() < 5_000;
  return `${recent ? 'THROTTLED' : 'last throttled'}: ${latest.reason} (${fmtDuration(s.throttling.reduce((n, t) => n + t.throttledMs, 0))} in all)`;
}

/**
 * `cleave status <id> --watch`: live progress per table (percent, rows, rows/s, ETA) and the
 * throttle state with its reason, until the backfill is copied and verified. On a terminal it
 * redraws progress bars; otherwise it prints one line per table per interval (logs, CI).
 */
export async function watchStatus(ctx: CliContext, idOrName: string, options: WatchOptions, out: NodeJS.WriteStream = process.stdout): Promise<CliMigrationStatus> {
  const tty = Boolean(out.isTTY);
  const bars = tty
    ? new cliProgress.MultiBar(
        { format: ' {unit} |{bar}| {percentage}% {rows} rows {rate} rows/s ETA {remaining} {state}', hideCursor: true, clearOnComplete: false, stream: out },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const byUnit = new Map<string, cliProgress.SingleBar>();
  const deadline = options.timeoutMs > 0 ? Date.now() + options.timeoutMs : Infinity;
  let status = await migrationStatus(ctx, idOrName);
  const header = `migration ${status.migration.name} (id ${status.migration.id})`;
  if (!tty) out.write(`${header}\n`);
  for (;;) {
    for (const t of status.backfill.tables) {
      const payload = { unit: t.table.padEnd(20), rows: `${fmtInt(t.rowsCopied)}/${fmtInt(t.rowsEstimate)}`, rate: fmtInt(t.rowsPerSecond), remaining: eta(t), state: t.state };
      if (bars) {
        const bar = byUnit.get(t.table) ?? bars.create(100, 0, payload);
        byUnit.set(t.table, bar);
        bar.update(Math.floor(t.percent), payload);
      } else {
        out.write(`${t.table}: ${t.percent.toFixed(1)}% ${payload.rows} rows, ${payload.rate} rows/s, ETA ${payload.remaining}, ${t.state}\n`);
      }
    }
    const verification = status.verification.at(-1);
    const stalled = stalledWithoutWorkers(status) ? '; NO WORKER ALIVE: nothing copies until one starts (cleave worker)' : '';
    const summary = `phase ${status.migration.phase}; ${throttleLine(status)}; verification ${verification ? (verification.clean === null ? 'running' : verification.clean ? 'clean' : 'differences remain') : 'not run'}${stalled}`;
    if (bars) bars.log(`${summary}\n`);
    else out.write(`${summary}\n`);
    if (watchFinished(status) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, options.intervalMs));
    status = await migrationStatus(ctx, idOrName);
  }
  bars?.stop();
  return status;
}
