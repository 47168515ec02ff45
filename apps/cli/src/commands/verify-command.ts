import { verifyMigration, type VerifyProgress } from '@cleave/verify';
import { migrationStatus } from './status-command.js';
import { VerifyProgressView } from './verify-progress.js';
import type { CliContext } from '../cli-context.js';
import { fmtDuration, fmtInt } from '../output.js';
import { actor } from './start-command.js';

export interface VerifyCommandOptions {
  readonly repair: boolean;
  readonly maxPasses: number;
}

/**
 * Verifies (and with --repair, repairs) a migration now, in this process. `progress` (none with
 * --json) shows live progress per unit on that stream.
 */
export async function verifyCommand(ctx: CliContext, idOrName: string, options: VerifyCommandOptions, progress?: NodeJS.WriteStream) {
  const store = await ctx.store();
  const migration = await store.getMigration(idOrName);
  let view: VerifyProgressView | undefined;
  if (progress !== undefined) {
    const status = await migrationStatus(ctx, migration.id);
    view = new VerifyProgressView(new Map(status.backfill.tables.map((t) => [t.table, t.rowsEstimate])), progress);
  }
  try {
    return await verifyMigration(
      { migrationId: migration.id, repair: options.repair, maxPasses: options.maxPasses },
      {
        store,
        servers: (name) => ctx.pool(name).promise,
        actor: actor(),
        ...(view === undefined ? {} : { onProgress: (p: VerifyProgress & { readonly unit: string }) => view.update(p) }),
      },
    );
  } finally {
    view?.stop();
  }
}

export function formatVerification(report: Awaited<ReturnType<typeof verifyCommand>>): string {
  const lines = report.tables.map(
    (t) =>
      `  ${t.table.padEnd(24)} ${t.clean ? 'clean' : 'DIFFERENT'}  ${fmtInt(t.rowsChecked)} rows checked, ${fmtInt(t.rowsDiffering)} differing, ${fmtInt(t.rowsRepaired)} repaired, ${t.passes} passes`,
  );
  const head = `verification run ${report.runId}: ${report.clean ? 'clean' : 'DIFFERENCES REMAIN'} — ${fmtInt(report.chunks)} chunks, ${fmtInt(report.rowsChecked)} rows checked, ${fmtInt(report.rowsDiffering)} differing, ${fmtInt(report.rowsRepaired)} repaired in ${fmtDuration(report.durationMs)}`;
  const samples = report.sampleDifferences.slice(0, 5).map((d) => `  e.g. ${d.table} ${d.kind} key ${d.key}`);
  return [head, ...lines, ...samples].join('\n');
}
