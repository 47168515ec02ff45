import {
  compareCoordinates,
  currentCoordinate,
  formatCoordinate,
  streamServer,
  streamsForPhase,
  type CaptureStreams,
  type MigrationRecord,
} from '@cleave/control';
import type { MigrationPhase } from '@cleave/core';
import type { ServerQueryable } from './cutover-store.js';

/** The name of the in-fence check that every capture stream applied what the primary committed. */
export const CAPTURE_CHECK = 'capture-caught-up';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * With writes held: waits until every capture stream of the phase being left has checkpointed
 * past its server's binlog end taken now (asking it to checkpoint as soon as it read that far), so the shadow has every committed change (the routers'
 * and everyone else's). Returns the reason to abort, or `null`.
 */
export async function awaitCaptureCaughtUp(
  migration: MigrationRecord,
  streams: CaptureStreams,
  servers: (server: string) => ServerQueryable,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const records = (await streams.list(migration.id)).filter((r) => streamsForPhase(migration.plan, migration.phase).includes(r.stream));
  if (records.length === 0) return { ok: true, detail: 'no binlog capture (started with --no-capture): writes made outside the routers reach the shadow only through verification' };
  const done: string[] = [];
  for (const record of records) {
    if (record.state !== 'active') return { ok: false, detail: `capture stream ${record.stream} is ${record.state}${record.error ? `: ${record.error}` : ''}` };
    const goal = await currentCoordinate(servers(record.server), record.server);
    // The request lands after the goal: the stream checkpoints once it read it, not at its idle pace.
    await streams.requestCatchUp(migration.id, record.stream);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const now = await streams.get(migration.id, record.stream);
      if (now !== null && now.state !== 'active') return { ok: false, detail: `capture stream ${record.stream} is ${now.state}${now.error ? `: ${now.error}` : ''}` };
      if (now !== null && compareCoordinates(now.checkpoint, goal) >= 0) break;
      if (performance.now() > deadline) {
        return {
          ok: false,
          detail: `capture stream ${record.stream} did not apply up to ${record.server}'s ${formatCoordinate(goal)} within ${timeoutMs} ms (checkpoint ${now ? formatCoordinate(now.checkpoint) : 'none'}): is a worker running?`,
        };
      }
      await sleep(10);
    }
    done.push(`${record.stream} past ${formatCoordinate(goal)}`);
  }
  return { ok: true, detail: done.join(', ') };
}

/**
 * Just before the flip, with writes held: aims the streams that the phase `to` adds at their
 * servers' binlog ends now, with the epoch the flip will give (workers run a stream only in a
 * phase that wants it, so none starts before the flip). Before, not after: a router that reads the
 * new epoch from the control store lifts its fence by itself, so the new primary may take writes
 * as soon as the phase changed, before the coordinator unfences; a stream aimed after that would
 * start past them. Any start before the flip is safe (a sync reads the primary's current rows).
 * Aims afresh on every attempt (an aborted switch leaves its aim unused).
 */
export async function aimCaptureBeforeFlip(migration: MigrationRecord, to: MigrationPhase, streams: CaptureStreams, servers: (server: string) => ServerQueryable): Promise<string[]> {
  const existing = await streams.list(migration.id);
  if (existing.length === 0) return []; // a migration without capture
  const before = streamsForPhase(migration.plan, migration.phase);
  const aimed: string[] = [];
  for (const stream of streamsForPhase(migration.plan, to)) {
    if (before.includes(stream)) continue;
    const server = streamServer(migration.plan, stream);
    const at = await currentCoordinate(servers(server), server);
    await streams.aim(migration.id, stream, server, at, migration.epoch + 1);
    aimed.push(`${stream} from ${server} ${formatCoordinate(at)}`);
  }
  return aimed;
}

/**
 * After the flip, with writes still held: the streams of the new phase start at their servers'
 * binlog ends now (nothing the new primary accepts is before them), and streams whose direction
 * ended are retired. Idempotent, for a coordinator that resumes the change.
 */
export async function handOverCapture(
  migration: MigrationRecord,
  from: MigrationPhase,
  streams: CaptureStreams,
  servers: (server: string) => ServerQueryable,
): Promise<string[]> {
  const existing = await streams.list(migration.id);
  if (existing.length === 0) return []; // a migration without capture
  const before = streamsForPhase(migration.plan, from);
  const after = streamsForPhase(migration.plan, migration.phase);
  const changes: string[] = [];
  for (const stream of after) {
    const record = existing.find((r) => r.stream === stream);
    if (before.includes(stream) && record?.state === 'active') continue;
    if (record?.state === 'active' && record.epoch === migration.epoch) continue; // done by a coordinator before us
    const server = streamServer(migration.plan, stream);
    const at = await currentCoordinate(servers(server), server);
    await streams.aim(migration.id, stream, server, at, migration.epoch);
    changes.push(`${stream} from ${server} ${formatCoordinate(at)}`);
  }
  const ended = existing.filter((r) => !after.includes(r.stream) && r.state !== 'retired').map((r) => r.stream);
  await streams.retire(migration.id, ended);
  if (ended.length > 0) changes.push(`retired ${ended.join(', ')}`);
  return changes;
}
