import { CleaveError } from '@cleave/core';
import { currentCoordinate, formatCoordinate, streamServer, streamsForPhase } from '@cleave/control';
import type { CliContext } from '../cli-context.js';
import { actor } from './start-command.js';

/** What `cleave capture-reset` did. */
export interface CaptureResetResult {
  readonly id: string;
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly server: string; readonly from: string }>;
}

/**
 * Re-aims the capture streams of a migration's current phase at their servers' binlog ends: the
 * recovery from a purged checkpoint or from DDL on a moved table. Changes between the old
 * checkpoint and the new position are not captured, so a full verification with repair must
 * follow (the command says so, and the next switch requires a clean one).
 */
export async function captureResetCommand(ctx: CliContext, idOrName: string): Promise<CaptureResetResult> {
  const store = await ctx.store();
  const migration = await store.getMigration(idOrName);
  const wanted = streamsForPhase(migration.plan, migration.phase);
  if (wanted.length === 0) {
    throw new CleaveError('PHASE_TRANSITION_INVALID', `migration ${migration.name} is ${migration.phase}: no capture stream runs in that phase`);
  }
  const streams = store.captureStreams();
  const existing = await streams.list(migration.id);
  if (existing.length === 0) {
    throw new CleaveError('NOT_FOUND', `migration ${migration.name} was started with --no-capture: it has no capture stream to reset`);
  }
  const done: Array<{ stream: string; server: string; from: string }> = [];
  for (const stream of wanted) {
    const server = streamServer(migration.plan, stream);
    const at = await currentCoordinate(ctx.pool(server).promise, server);
    await streams.aim(migration.id, stream, server, at, migration.epoch);
    done.push({ stream, server, from: formatCoordinate(at) });
  }
  await store.appendEvent(migration.id, 'note', { actor: actor(), reason: 'cleave capture-reset' }, { capture: 'reset', streams: done });
  return { id: migration.id, streams: done };
}
