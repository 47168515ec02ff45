import { createLogUpdate } from 'log-update';
import { fmtInt } from '../output.js';
import { stalledWithoutWorkers, type CliMigrationStatus } from './status-command.js';
import { eta, renderWatchFrame, throttleLine, verificationWord, type WatchOutcome } from './watch-frame.js';

/** Where a watch draws: redraws one screen in place on a terminal, appends lines elsewhere. */
export interface WatchView {
  show(status: CliMigrationStatus, outcome: WatchOutcome): void;
  close(): void;
}

/**
 * On a terminal: one frame redrawn in place (log-update erases the previous frame's lines and
 * writes the new one), fitted to the terminal's width, redrawn at once when the terminal is resized.
 */
export function terminalView(out: NodeJS.WriteStream, intervalMs: number): WatchView {
  const draw = createLogUpdate(out);
  let last: { status: CliMigrationStatus; outcome: WatchOutcome } | undefined;
  const render = () => {
    if (last) draw(renderWatchFrame(last.status, { columns: out.columns ?? 80, intervalMs, outcome: last.outcome }).join('\n'));
  };
  out.on('resize', render);
  return {
    show(status, outcome) {
      last = { status, outcome };
      render();
    },
    close() {
      out.off('resize', render);
      draw.done(); // the final frame stays on screen; the cursor comes back
    },
  };
}

/** Elsewhere (logs, CI, a pipe): one line per table and a summary line per refresh, appended. */
export function lineView(out: NodeJS.WritableStream): WatchView {
  let headed = false;
  return {
    show(status) {
      if (!headed) out.write(`migration ${status.migration.name} (id ${status.migration.id})\n`);
      headed = true;
      for (const t of status.backfill.tables) {
        out.write(`${t.table}: ${t.percent.toFixed(1)}% ${fmtInt(t.rowsCopied)}/${fmtInt(t.rowsEstimate)} rows, ${fmtInt(t.rowsPerSecond)} rows/s, ETA ${eta(t)}, ${t.state}\n`);
      }
      const stalled = stalledWithoutWorkers(status) ? '; NO WORKER ALIVE: nothing copies until one starts (cleave worker)' : '';
      out.write(`phase ${status.migration.phase}; ${throttleLine(status)}; verification ${verificationWord(status)}${stalled}\n`);
    },
    close: () => undefined, // nothing to restore: lines were only appended
  };
}
