import { CleaveError, backfillUnits, type BackfillUnit, type MigrationPhase, type Plan, type PlanEndpoint } from '@cleave/core';
import type { SegmentRecord } from '@cleave/control';
import { decodeKey, encodeKey, nextChunkUpper, syncKeyRange, type BulkInsertMethod, type KeyTuple, type SyncGuard } from '@cleave/mysql';
import type { BackfillDeps } from './backfill-deps.js';
import { unitsFor } from './units-for.js';
import { AdaptiveChunkSize, type AdaptiveChunkSizeConfig } from './chunk/adaptive-chunk-size.js';
import { readSourceShape } from './read-source-shape.js';

/** The payload of a `copy-segment` job (as `@cleave/jobs` defines it). */
export interface CopySegmentPayload {
  readonly migrationId: string;
  /** The backfill unit name (what {@link splitTable} returned). */
  readonly table: string;
  readonly segmentNo: number;
}

/** Progress after each committed chunk. */
export interface CopyProgress {
  readonly migrationId: string;
  readonly unit: string;
  readonly segmentNo: number;
  /** Source rows of the chunk just committed. */
  readonly chunkRows: number;
  readonly chunkMs: number;
  /** Rows and chunks this call copied so far. */
  readonly rows: number;
  readonly chunks: number;
  /** This call's average so far. */
  readonly rowsPerSecond: number;
  /** Rows the next chunk asks for. */
  readonly nextChunkRows: number;
  /** The committed resume point (encoded key), or null at the segment's end when unbounded. */
  readonly checkpoint: string | null;
  readonly done: boolean;
}

/** What {@link copySegment} needs beyond {@link BackfillDeps}. */
export interface CopySegmentDeps extends BackfillDeps {
  /** Adaptive chunk size settings (target time per chunk, bounds). */
  readonly chunkSize?: AdaptiveChunkSizeConfig;
  /**
   * gh-ost's nice ratio: after each chunk, sleep this many times the chunk's duration (0.5:
   * a chunk of 400 ms is followed by 200 ms of rest), so the copy leaves the servers idle for
   * that share of the time whatever the throttlers see. @defaultValue 0
   */
  readonly niceRatio?: number;
  /**
   * Most bytes of source rows per chunk (measured as the rows' SQL literals, about what a chunk
   * holds in memory several times over), so that wide rows get fewer rows per chunk and the
   * worker's memory stays bounded whatever the table. @defaultValue 4 MiB
   */
  readonly maxChunkBytes?: number;
  /** How rows are inserted (`SyncOptions.bulkInsert`). @defaultValue 'load-data' */
  readonly bulkInsert?: BulkInsertMethod;
  readonly onProgress?: (progress: CopyProgress) => void;
}

export interface CopySegmentResult {
  readonly migrationId: string;
  readonly unit: string;
  readonly segmentNo: number;
  /** The segment was already done before this call (a retried job): nothing copied. */
  readonly alreadyDone: boolean;
  /** Source rows and chunks this call copied, and what the syncs did on the target. */
  readonly rows: number;
  readonly chunks: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly unchanged: number;
  /**
   * Of the rows inserted, those LOAD DATA wrote. Fewer than `inserted`: the target refuses LOCAL
   * INFILE (`local_infile=OFF`), or batches held a row a dual write had inserted first.
   */
  readonly loaded: number;
  readonly ms: number;
  /** Every segment of the unit is done (its state is now `copied`). */
  readonly unitCopied: boolean;
  /** Every unit of the migration is copied. */
  readonly migrationCopied: boolean;
}

/** Default of {@link CopySegmentDeps.maxChunkBytes}. */
const DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Rows of the first chunk before any row width is known (a table of wide rows starts small). */
const FIRST_CHUNK_MAX_ROWS = 1000;

/**
 * Phases in which rows may be copied: the source is the primary and dual writes are on (DESIGN:
 * no chunk is copied before the routers acknowledged `dual_write`; once writes switched, the
 * target is the truth and a copy from the source would overwrite it).
 */
const COPY_PHASES: ReadonlySet<MigrationPhase> = new Set<MigrationPhase>(['dual_write', 'verified']);

function aborted(unit: string, segmentNo: number, checkpoint: string | null): CleaveError<'ABORTED'> {
  return new CleaveError('ABORTED', `copy of ${unit} segment ${segmentNo} stopped at checkpoint ${checkpoint ?? '(start)'}; another worker resumes it from there`);
}

/**
 * The `copy-segment` processor: copies one segment chunk by chunk, from its last checkpoint.
 * For each chunk: wait for the throttle gate, find the chunk's upper key (adaptive size, within the
 * segment), make the target's key range equal to the source's (`syncKeyRange`: locks the target
 * range, reads the source, so a dual write is never overwritten by an older image nor a deleted row
 * resurrected), then checkpoint after the target commit. A crash loses at most the chunk in flight,
 * which the next attempt syncs again (idempotently). The signal stops it between chunks with
 * `ABORTED`, after the checkpoint. When the last segment of a unit is done, the unit becomes
 * `copied`.
 *
 * Connections: borrows from the pools `deps.servers` returns, opens none.
 *
 * @example
 * await copySegment({ migrationId, table: 'users', segmentNo: 3 }, { store, servers, owner: 'w1', gate, signal });
 */
export async function copySegment(payload: CopySegmentPayload, deps: CopySegmentDeps): Promise<CopySegmentResult> {
  const { store } = deps;
  const migration = await store.getMigration(payload.migrationId);
  const [unit] = unitsFor(migration.plan, payload.table).filter((u) => u.id === payload.table);
  if (unit === undefined) {
    throw new CleaveError('NOT_FOUND', `"${payload.table}" is not a backfill unit of migration ${migration.id}`, {
      hint: 'copy-segment jobs name a unit as split-table returned it (a table, or table@target for a shard range).',
    });
  }
  const segment = (await store.segments(migration.id, unit.id)).find((s) => s.segmentNo === payload.segmentNo);
  if (segment === undefined) {
    throw new CleaveError('NOT_FOUND', `${unit.id} has no segment ${payload.segmentNo} in migration ${migration.id}`, {
      hint: 'Run the split-table job of the table first.',
    });
  }
  const totals: Totals = { rows: 0, chunks: 0, inserted: 0, updated: 0, deleted: 0, unchanged: 0, loaded: 0 };
  const started = performance.now();
  const alreadyDone = segment.state === 'done';
  if (!alreadyDone) {
    if (!COPY_PHASES.has(migration.phase)) {
      throw new CleaveError(
        'PRECONDITION_FAILED',
        `migration ${migration.id} is in phase ${migration.phase}: rows are copied only in dual_write (after every router acknowledged it) or verified`,
        { hint: 'The job is retried; start the migration (phase dual_write) to let it run.' },
      );
    }
    await copyChunks(migration.id, migration.plan.source, unit, segment, deps, totals, started, { migrationId: migration.id, epoch: migration.guardEpoch });
  }
  const finished = await finishUnit(migration.id, unit, migration.plan, deps);
  return {
    migrationId: migration.id,
    unit: unit.id,
    segmentNo: segment.segmentNo,
    alreadyDone,
    ...totals,
    ms: Math.round(performance.now() - started),
    ...finished,
  };
}

type Totals = { rows: number; chunks: number; inserted: number; updated: number; deleted: number; unchanged: number; loaded: number };

/** Copies the chunks of one segment from its checkpoint to its end (see {@link copySegment}). */
async function copyChunks(
  migrationId: string,
  sourceEndpoint: PlanEndpoint,
  u: BackfillUnit,
  seg: SegmentRecord,
  d: CopySegmentDeps,
  t: Totals,
  t0: number,
  /** The target refuses writes without the migration's guard epoch (it is not the primary while rows are copied). */
  guard: SyncGuard,
): Promise<void> {
  const source = d.servers(sourceEndpoint.server);
  const target = d.servers(u.target.server);
  const { shape } = await readSourceShape(source, sourceEndpoint, u.table);
  const size = new AdaptiveChunkSize({ ...d.chunkSize, ...(seg.chunkSize > 0 && d.chunkSize?.initialRows === undefined ? { initialRows: seg.chunkSize } : {}) });
  const maxChunkBytes = d.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  if (!(maxChunkBytes >= 1)) throw new CleaveError('CONFIG_INVALID', `maxChunkBytes must be >= 1, got ${String(d.maxChunkBytes)}`);
  /** Average bytes per row of the chunks so far (leaning to the widest); 0 before the first. */
  let bytesPerRow = 0;
  const niceRatio = d.niceRatio ?? 0;
  if (!(niceRatio >= 0) || !Number.isFinite(niceRatio)) throw new CleaveError('CONFIG_INVALID', `niceRatio must be a number >= 0, got ${String(d.niceRatio)}`);
  const segmentUpper: KeyTuple | null = seg.upper === null ? null : decodeKey(seg.upper);
  let checkpoint: string | null = seg.checkpoint ?? seg.lower;
  let lower: KeyTuple | null = checkpoint === null ? null : decodeKey(checkpoint);
  for (;;) {
    if (d.signal?.aborted) throw aborted(u.id, seg.segmentNo, checkpoint);
    await d.gate?.waitUntilOpen(d.signal).catch((error: unknown) => {
      throw d.signal?.aborted ? aborted(u.id, seg.segmentNo, checkpoint) : error;
    });
    const chunkStarted = performance.now();
    const rows = bytesPerRow > 0 ? Math.max(1, Math.min(size.rows, Math.floor(maxChunkBytes / bytesPerRow))) : Math.min(size.rows, FIRST_CHUNK_MAX_ROWS);
    const next = await nextChunkUpper(source, shape, lower, rows, segmentUpper, u.filter ?? undefined);
    const upperKey = next === null ? null : encodeKey(next);
    const done = next === null || (seg.upper !== null && upperKey === seg.upper);
    const upper = done ? segmentUpper : next;
    const result = await syncKeyRange({
      source,
      target,
      sourceShape: shape,
      targetTable: { database: u.target.database, table: u.table },
      bounds: { lower, upper },
      ...(u.filter === null ? {} : { filter: u.filter }),
      options: { guard, ...(d.bulkInsert === undefined ? {} : { bulkInsert: d.bulkInsert }) },
    });
    const chunkMs = performance.now() - chunkStarted;
    checkpoint = done ? seg.upper : upperKey;
    await d.store.checkpointSegment(migrationId, u.id, seg.segmentNo, {
      checkpoint,
      rows: result.sourceRows,
      ms: chunkMs,
      chunkSize: rows,
      owner: d.owner,
      done,
    });
    t.rows += result.sourceRows;
    t.chunks += 1;
    t.inserted += result.inserted;
    t.updated += result.updated;
    t.deleted += result.deleted;
    t.unchanged += result.unchanged;
    t.loaded += result.loaded;
    size.feedback(done ? result.sourceRows : rows, chunkMs);
    if (result.sourceRows > 0) {
      const measured = result.sourceBytes / result.sourceRows;
      bytesPerRow = bytesPerRow > 0 ? Math.max(measured, (bytesPerRow + measured) / 2) : measured;
    }
    const elapsed = performance.now() - t0;
    d.onProgress?.({
      migrationId,
      unit: u.id,
      segmentNo: seg.segmentNo,
      chunkRows: result.sourceRows,
      chunkMs,
      rows: t.rows,
      chunks: t.chunks,
      rowsPerSecond: elapsed > 0 ? (t.rows * 1000) / elapsed : 0,
      nextChunkRows: size.rows,
      checkpoint,
      done,
    });
    if (done) break;
    lower = next;
    if (niceRatio > 0) await rest(chunkMs * niceRatio, d.signal);
  }
  d.log?.({
    level: 'debug',
    message: `copied ${u.id} segment ${seg.segmentNo}: ${t.rows} rows in ${t.chunks} chunk(s)`,
    migrationId,
    unit: u.id,
    segmentNo: seg.segmentNo,
    details: { ...t, ms: Math.round(performance.now() - t0) },
  });
}

/** Sleeps `ms`, or less when `signal` fires (the loop then stops at its next check). */
function rest(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Marks the unit `copied` (with a `backfill_table_done` event) when all its segments are done,
 * and logs `backfill_done` when that made every unit of the migration copied. Whether all are
 * copied is read after this unit's mark: two units finishing at once each read the other's state
 * after writing their own, so at least one of them sees every unit copied (both may, and both then
 * log the event and enqueue the verification, whose job id is the same: one runs). Read before the
 * mark, each could see the other not yet copied, and nothing would start the verification.
 */
async function finishUnit(
  migrationId: string,
  unit: BackfillUnit,
  plan: Plan,
  deps: BackfillDeps,
): Promise<{ unitCopied: boolean; migrationCopied: boolean }> {
  const { store } = deps;
  const segments = await store.segments(migrationId, unit.id);
  if (segments.length === 0 || segments.some((s) => s.state !== 'done')) return { unitCopied: false, migrationCopied: false };
  const before = await store.backfillTables(migrationId);
  const record = before.find((t) => t.table === unit.id);
  const names = backfillUnits(plan).map((u) => u.id);
  const copiedBefore = new Set(before.filter((t) => t.state === 'copied').map((t) => t.table));
  if (record?.state !== 'copied') {
    await store.setBackfillTableState(migrationId, unit.id, 'copied');
    const rows = segments.reduce((sum, s) => sum + s.rowsCopied, 0);
    const copyMs = segments.reduce((sum, s) => sum + s.copyMs, 0);
    await store.appendEvent(migrationId, 'backfill_table_done', { actor: deps.owner }, {
      unit: unit.id,
      table: unit.table,
      target: unit.targetName,
      segments: segments.length,
      rows,
      copyMs,
    });
    deps.log?.({ level: 'info', message: `${unit.id} copied: ${rows} rows in ${segments.length} segment(s)`, migrationId, unit: unit.id });
    const after = new Set((await store.backfillTables(migrationId)).filter((t) => t.state === 'copied').map((t) => t.table));
    const allNow = names.every((n) => n === unit.id || after.has(n));
    if (allNow) {
      await store.appendEvent(migrationId, 'backfill_done', { actor: deps.owner }, { units: names });
      deps.log?.({ level: 'info', message: 'backfill done: every unit copied', migrationId });
    }
    return { unitCopied: true, migrationCopied: allNow };
  }
  return { unitCopied: true, migrationCopied: names.every((n) => copiedBefore.has(n)) };
}
