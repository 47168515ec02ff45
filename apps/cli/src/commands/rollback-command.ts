import type { CutoverResult } from '@cleave/cutover';
import type { CliContext } from '../cli-context.js';
import { openCutover } from './cutover-command.js';

/** `cleave rollback <id>`: one phase back (reversible phases only). */
export async function rollbackCommand(ctx: CliContext, id: string, options: { dryRun: boolean; reason?: string }): Promise<CutoverResult> {
  const { cutover, close } = await openCutover(ctx);
  try {
    return await cutover.rollback(id, { dryRun: options.dryRun, reason: options.reason ?? 'cleave rollback' });
  } finally {
    await close();
  }
}
