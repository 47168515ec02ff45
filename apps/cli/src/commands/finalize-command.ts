import type { CutoverResult } from '@cleave/cutover';
import type { CliContext } from '../cli-context.js';
import { openCutover } from './cutover-command.js';

/** `cleave finalize <id> --approve`: the one irreversible step. */
export async function finalizeCommand(ctx: CliContext, id: string, options: { approve: boolean; dryRun: boolean; acceptUncapturedWrites?: boolean; reason?: string }): Promise<CutoverResult> {
  const { cutover, close } = await openCutover(ctx);
  try {
    return await cutover.finalize(id, { approve: options.approve, dryRun: options.dryRun, acceptUncapturedWrites: options.acceptUncapturedWrites === true, reason: options.reason ?? 'cleave finalize --approve' });
  } finally {
    await close();
  }
}
