import { compareCoordinates, currentCoordinate, formatCoordinate, streamsForPhase } from './capture-coordinates.js';
import type { CaptureStreams } from './capture-streams.js';
import type { MigrationRecord } from './records.js';
import type { Queryable } from './queryable.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every capture stream of the migration's phase has checkpointed past its server's
 * binlog end taken now (asking each to checkpoint as soon as it read that far, not at its idle
 * pace): then the shadow has every change committed on the primary before the call, the routers'
 * and everyone else's. A switch calls it with writes held; a verification before it calls a
 * difference real (one still in the capture's pipeline is not). `ok: false` with the reason when a
 * stream is not active or did not get there within `timeoutMs`.
 */
export async function awaitCaptureCaughtUp(
  migration: MigrationRecord,
  streams: CaptureStreams,
  servers: (server: string) => Queryable,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const records = (await streams.list(migration.id)).filter((r) => streamsForPhase(migration.plan, migration.phase).includes(r.stream));
  if (records.length === 0) return { ok: true, detail: 'no binlog capture (started with --no-capture): writes made outside the routers reach the shadow only through verification' };
  const done: string[] = [];
  for (const record of records) {
    if (record.state !== 'active') return { ok: false, detail: `capture stream ${record.stream} is ${record.state}${record.error ? `: ${record.error}` : ''}` };
    const goal = await currentCoordinate(servers(record.server), record.server);
    // The request lands after the goal: the stream checkpoints once it read it.
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
