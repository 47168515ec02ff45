import { isCleaveError } from '@cleave/core';
import { ArchiveDropApprovalRequiredError, describeArchive, type DropArchiveResult } from '@cleave/cutover';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { openCutover } from './cutover-command.js';

/** What `cleave drop-archive` reports: the library's result, or a refusal for want of --approve. */
export type DropArchiveOutput = DropArchiveResult | { readonly outcome: 'refused'; readonly name: string; readonly code: 'APPROVAL_REQUIRED'; readonly message: string; readonly tables: DropArchiveResult['tables'] };

/** `cleave drop-archive <id> --approve`: drops the `_cleave_archived_*` tables of a finalized migration. */
export async function dropArchiveCommand(ctx: CliContext, id: string, options: { approve: boolean; dryRun: boolean; reason?: string }): Promise<{ output: DropArchiveOutput; exitCode: number }> {
  const { cutover, close } = await openCutover(ctx);
  try {
    const result = await cutover.dropArchive(id, { approve: options.approve, dryRun: options.dryRun, reason: options.reason ?? 'cleave drop-archive --approve' });
    return { output: result, exitCode: EXIT.ok };
  } catch (error) {
    if (error instanceof ArchiveDropApprovalRequiredError || (isCleaveError(error, 'APPROVAL_REQUIRED') && 'tables' in error)) {
      const e = error as ArchiveDropApprovalRequiredError;
      return { output: { outcome: 'refused', name: e.migrationName, code: 'APPROVAL_REQUIRED', message: e.message, tables: e.tables }, exitCode: EXIT.refused };
    }
    throw error;
  } finally {
    await close();
  }
}

const line = (a: DropArchiveResult['tables'][number]) => `${describeArchive(a)}  (archive of ${a.database}.${a.table})`;

export function formatDropArchive(o: DropArchiveOutput): string {
  if (o.outcome === 'refused') {
    return [`migration ${o.name}: drop-archive would drop ${o.tables.length} archived tables:`, ...o.tables.map((a) => `  ${line(a)}`), `REFUSED: dropping them is IRREVERSIBLE; pass --approve to drop them`].join('\n');
  }
  const lines: string[] = [];
  if (o.outcome === 'dry-run') {
    lines.push(o.tables.length === 0 ? `dry run: migration ${o.name}: nothing left to drop` : `dry run: migration ${o.name}: would drop ${o.tables.length} archived tables (needs --approve):`);
    lines.push(...o.tables.map((a) => `  ${line(a)}`));
  } else if (o.outcome === 'dropped') {
    lines.push(`migration ${o.name}: dropped ${o.tables.length} archived tables (recorded in its event log):`, ...o.tables.map((a) => `  dropped ${line(a)}`));
  } else {
    lines.push(`migration ${o.name}: nothing left to drop`);
  }
  if (o.gone.length > 0) lines.push(`already dropped: ${o.gone.map(describeArchive).join(', ')}`);
  for (const s of o.skipped) lines.push(`never dropped: ${describeArchive(s)} (${s.why})`);
  return lines.join('\n');
}
