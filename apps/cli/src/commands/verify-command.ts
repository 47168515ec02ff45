import { verifyMigration } from '@cleave/verify';
import type { CliContext } from '../cli-context.js';
import { fmtDuration, fmtInt } from '../output.js';
import { actor } from './start-command.js';

export interface VerifyCommandOptions {
  readonly repair: boolean;
  readonly maxPasses: number;
}

/** Verifies (and with --repair, repairs) a migration now, in this process. */
export async function verifyCommand(ctx: CliContext, idOrName: string, options: VerifyCommandOptions, progress: (line: string) => void) {
  const store = await ctx.store();
  const migration = await store.getMigration(idOrName);
  let lastUnit = '';
  return verifyMigration(
    { migrationId: migration.id, repair: options.repair, maxPasses: options.maxPasses },
    {
      store,
      servers: (name) => ctx.pool(name).promise,
      actor: actor(),
      onProgress: (p) => {
        if (p.unit !== lastUnit) progress(`verifying ${p.unit}…`);
        lastUnit = p.unit;
      },
    },
  );
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
