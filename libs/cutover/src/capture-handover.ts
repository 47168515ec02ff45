import { currentCoordinate, formatCoordinate, streamServer, streamsForPhase, type CaptureStreams, type MigrationRecord } from '@cleave/control';
import type { MigrationPhase } from '@cleave/core';
import type { ServerQueryable } from './cutover-store.js';

/** The name of the in-fence check that every capture stream applied what the primary committed. */
export const CAPTURE_CHECK = 'capture-caught-up';

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
