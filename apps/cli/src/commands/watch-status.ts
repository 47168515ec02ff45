import type { CliContext } from '../cli-context.js';
import { migrationStatus, type CliMigrationStatus } from './status-command.js';
import { watchFinished, type WatchOutcome } from './watch-frame.js';
import { lineView, terminalView } from './watch-view.js';

export { watchFinished } from './watch-frame.js';

export interface WatchOptions {
  readonly intervalMs: number;
  /** Stop after this long even if not done (0: until done or interrupted). */
  readonly timeoutMs: number;
}

/**
 * `cleave status <id> --watch`: live progress per table (percent, rows, rows/s, ETA) and the
 * throttle state with its reason, until the backfill is copied and verified or `timeoutMs` runs
 * out. The last screen says which of the two ended it.
 */
export async function watchStatus(ctx: CliContext, idOrName: string, options: WatchOptions, out: NodeJS.WriteStream = process.stdout): Promise<CliMigrationStatus> {
  const view = out.isTTY ? terminalView(out, options.intervalMs) : lineView(out);
  const deadline = options.timeoutMs > 0 ? Date.now() + options.timeoutMs : Infinity;
  try {
    let status = await migrationStatus(ctx, idOrName);
    for (;;) {
      const outcome: WatchOutcome = watchFinished(status) ? 'done' : Date.now() > deadline ? 'timeout' : null;
      view.show(status, outcome);
      if (outcome !== null) return status;
      await new Promise((r) => setTimeout(r, Math.min(options.intervalMs, Math.max(0, deadline - Date.now()) + 1)));
      status = await migrationStatus(ctx, idOrName);
    }
  } finally {
    view.close();
  }
}
