import { CleaveError } from '@cleave/core';
import { chunkChecksum, sameChecksum, type ChunkChecksum } from './chunk-checksum.js';
import { chunkHashForm } from './row-hash.js';
import { diffRows } from './row-diff.js';
import { MAX_SAMPLE_DIFFERENCES, type SampleDifference, type TableVerification } from './verification-report.js';
import type { ChunkPlanner, PlannedChunk } from './chunk-planner.js';
import { hasIntegerKey, IntegerSpanChunkPlanner } from './integer-span-chunk-planner.js';
import { KeyWalkChunkPlanner } from './key-walk-chunk-planner.js';
import {
  encodeKey,
  keyRangeWhere,
  syncKeys,
  type RowFilter,
  type SyncGuard,
  type SyncQueryable,
  type TableName,
  type TableShape,
  type TransactionalPool,
} from '@cleave/mysql';

/** Progress after each chunk. */
export interface VerifyProgress {
  readonly table: string;
  /** 1-based. */
  readonly pass: number;
  readonly chunks: number;
  readonly rowsChecked: number;
  readonly rowsDiffering: number;
  readonly rowsRepaired: number;
  /** Upper key of the chunk just checked, encoded; `null` at the end of the table. */
  readonly lastKey: string | null;
}

/** Chunk sizing of verification: sized to take about `targetChunkMs` on the slower server. */
export interface VerifyChunkOptions {
  /** @defaultValue 500 (what pt-table-checksum aims for) */
  readonly targetChunkMs?: number;
  /** First chunk's rows. @defaultValue 10_000 */
  readonly initialChunkRows?: number;
  /** @defaultValue 200 */
  readonly minChunkRows?: number;
  /**
   * Also bounds the rows a chunk of a single integer key reads when a shard filter is on another
   * column (the rows it drops are read too). @defaultValue 200_000
   */
  readonly maxChunkRows?: number;
  /**
   * Chunks checksummed at once, each on both servers at once: 2 keeps a server busy while the other
   * chunk's result is compared or the other server finishes, and uses a second core of each server;
   * 1 is pt-table-checksum's one chunk at a time. @defaultValue 2
   */
  readonly parallelChunks?: number;
}

/** Arguments of {@link verifyTable}. */
export interface VerifyTableArgs extends VerifyChunkOptions {
  /** The primary (the truth). */
  readonly source: SyncQueryable;
  /** The copy; a pool, since repairs run transactions on it. */
  readonly target: TransactionalPool;
  readonly sourceShape: TableShape;
  readonly targetTable: TableName;
  /** Only rows whose column lies in [from, to) (shard moves), on both sides. */
  readonly filter?: RowFilter;
  /** Repair differences from the source (`false`: only report). */
  readonly repair: boolean;
  /** Most full passes; stops earlier at the first clean pass. @defaultValue 5 */
  readonly maxPasses?: number;
  readonly onProgress?: (progress: VerifyProgress) => void;
  readonly signal?: AbortSignal;
  /** The placement guard repairs act under (see `SyncOptions.guard`). */
  readonly guard?: SyncGuard;
  /**
   * Waits until every change the primary committed before the call has reached the shadow (the
   * binlog capture caught up). Given, a difference counts (and is repaired) only if it is still
   * there after it: one still in the capture's pipeline is not a difference. Without it, a
   * report-only pass re-diffs a few times 100-300 ms apart instead.
   */
  readonly settle?: () => Promise<void>;
}

/** Re-diffs (after the capture caught up, else 100, 200, 300 ms apart) before a difference is real. */
const SETTLE_RECHECKS = 3;

/** How often a chunk is diffed, repaired and re-checked before it is left for the next pass. */
const MAX_CHUNK_REPAIRS = 3;

/** `value` bounded to [min, max], as a whole number of rows (the bounds may be fractions). */
function clamp(value: number, min: number, max: number): number {
  return Math.round(Math.min(max, Math.max(min, value)));
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) throw new CleaveError('INVALID_ARGUMENT', `${what} must be positive, got ${String(value)}.`);
  return result;
}

function throwIfAborted(signal: AbortSignal | undefined, table: string): void {
  if (signal?.aborted === true) throw new CleaveError('ABORTED', `Verification of ${table} was cancelled.`, { cause: signal.reason });
}

interface PassResult {
  chunks: number;
  rowsChecked: number;
  rowsDiffering: number;
  rowsRepaired: number;
  unresolvedChunks: number;
}

/**
 * Verifies one moved table: walks the primary's key space in chunks (sized to a target time; a
 * single integer key is cut by key value, any other key by walking its index), checksums each
 * chunk on both servers at once (and `parallelChunks` chunks at once), diffs the rows of a
 * mismatching chunk by (key, row hash), repairs the differing keys from the primary with `syncKeys` (which re-reads each
 * under the target row lock, so a difference left by an in-flight dual write counts as repaired
 * only if the target really changed) and re-checks the chunk. Full passes repeat until one
 * finds nothing to repair, or `maxPasses`. With `repair: false`, one pass that only reports.
 *
 * @example
 * ```ts
 * const report = await verifyTable({ source, target, sourceShape: shape,
 *   targetTable: { database: 'accounts', table: 'users' }, repair: true });
 * report.clean; // true
 * ```
 */
export async function verifyTable(args: VerifyTableArgs): Promise<TableVerification> {
  const started = performance.now();
  const { source, target, sourceShape: shape, targetTable, filter, signal } = args;
  const name = `${shape.database}.${shape.table}`;
  const maxPasses = args.repair ? Math.floor(positive(args.maxPasses, 5, 'maxPasses')) : 1;
  const targetChunkMs = positive(args.targetChunkMs, 500, 'targetChunkMs');
  const minRows = Math.floor(positive(args.minChunkRows, 200, 'minChunkRows'));
  const maxRows = Math.max(minRows, Math.floor(positive(args.maxChunkRows, 200_000, 'maxChunkRows')));
  let chunkRows = clamp(positive(args.initialChunkRows, 10_000, 'initialChunkRows'), minRows, maxRows);
  const parallelChunks = Math.floor(positive(args.parallelChunks, 2, 'parallelChunks'));
  const samples: SampleDifference[] = [];
  const totals = { chunks: 0, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0 };
  let clean = false;
  let passes = 0;
  const form = await chunkHashForm([source, target]);
  const checksums = (where: string): Promise<[ChunkChecksum, ChunkChecksum]> =>
    Promise.all([chunkChecksum(source, shape, shape, where, form), chunkChecksum(target, shape, targetTable, where, form)]);

  // A single integer key is chunked by key value (one read of its extent per pass); any other key
  // by walking the primary's index for each chunk's end.
  const startPass = (): ChunkPlanner =>
    hasIntegerKey(shape)
      ? new IntegerSpanChunkPlanner({ source, shape, ...(filter === undefined ? {} : { filter }), maxChunkRows: maxRows })
      : new KeyWalkChunkPlanner(source, shape, filter);

  /** Diff, repair and re-check one chunk; true when it ends up matching. */
  const repairChunk = async (where: string, pass: PassResult): Promise<boolean> => {
    for (let round = 1; ; round += 1) {
      let differences = await diffRows(source, target, shape, targetTable, where);
      // Count only differences that persist: a change in flight (the primary committed, the
      // capture or a dual write a few ms behind) settles within these re-checks. With a capture
      // to wait for, repairs wait too (else a pass under load keeps "repairing" what the capture
      // was about to apply and never ends clean). A key counts only if it differs in every
      // re-check (other keys may be in flight each time).
      const settles = args.settle !== undefined || !args.repair;
      for (let settle = 1; settles && differences.length > 0 && settle <= SETTLE_RECHECKS; settle += 1) {
        if (args.settle !== undefined) await args.settle();
        else await new Promise((resolve) => setTimeout(resolve, 100 * settle));
        const still = new Set((await diffRows(source, target, shape, targetTable, where)).map((d) => encodeKey(d.key)));
        differences = differences.filter((d) => still.has(encodeKey(d.key)));
      }
      if (differences.length === 0) return true; // the checksums differed transiently
      pass.rowsDiffering += differences.length;
      for (const difference of differences) {
        if (samples.length >= MAX_SAMPLE_DIFFERENCES) break;
        samples.push({ table: name, key: encodeKey(difference.key), kind: difference.kind });
      }
      if (!args.repair) return false;
      const result = await syncKeys({
        source,
        target,
        sourceShape: shape,
        targetTable,
        keys: differences.map((difference) => difference.key),
        ...(args.guard === undefined ? {} : { options: { guard: args.guard } }),
      });
      pass.rowsRepaired += result.inserted + result.updated + result.deleted;
      const [again, targetAgain] = await checksums(where);
      if (sameChecksum(again, targetAgain)) return true;
      if (round >= MAX_CHUNK_REPAIRS) return false;
    }
  };

  interface InFlight {
    readonly planned: PlannedChunk;
    readonly where: string;
    readonly startedAt: number;
    readonly sums: Promise<[ChunkChecksum, ChunkChecksum]>;
  }

  while (passes < maxPasses) {
    passes += 1;
    const pass: PassResult = { chunks: 0, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, unresolvedChunks: 0 };
    const planner = startPass();
    let planning = true;
    // Up to `parallelChunks` chunks are checksummed at once (each on both servers at once), and the
    // planner looks up what it needs on the primary meanwhile; results are taken in key order.
    const inFlight: InFlight[] = [];
    try {
      for (;;) {
        while (planning && inFlight.length < parallelChunks) {
          throwIfAborted(signal, name);
          const planned = await planner.next(chunkRows);
          if (planned === null) {
            planning = false;
            break;
          }
          const where = keyRangeWhere(shape, planned, filter).sql;
          const sums = checksums(where);
          sums.catch(() => undefined);
          inFlight.push({ planned, where, startedAt: performance.now(), sums });
        }
        const chunk = inFlight.shift();
        if (chunk === undefined) break;
        const [sourceSum, targetSum] = await chunk.sums;
        const elapsed = performance.now() - chunk.startedAt;
        pass.chunks += 1;
        pass.rowsChecked += sourceSum.rows;
        chunk.planned.checked(sourceSum.rows);
        if (!sameChecksum(sourceSum, targetSum) && !(await repairChunk(chunk.where, pass))) pass.unresolvedChunks += 1;
        // Adapt the size of the chunks still to start toward the target time (bounded growth: x4 up,
        // /2 down). A chunk's time includes the chunks checksummed alongside it, as it should: the
        // target time is per chunk as the servers see it.
        chunkRows = clamp((chunkRows * targetChunkMs) / Math.max(elapsed, 1), Math.max(minRows, chunkRows / 2), Math.min(maxRows, chunkRows * 4));
        args.onProgress?.({
          table: name,
          pass: passes,
          chunks: totals.chunks + pass.chunks,
          rowsChecked: totals.rowsChecked + pass.rowsChecked,
          rowsDiffering: totals.rowsDiffering + pass.rowsDiffering,
          rowsRepaired: totals.rowsRepaired + pass.rowsRepaired,
          lastKey: chunk.planned.upper === null ? null : encodeKey(chunk.planned.upper),
        });
      }
    } finally {
      // On an error or abort: let the queries still running finish before the pools are reused.
      await Promise.allSettled([...inFlight.map((chunk) => chunk.sums), planner.settle()]);
    }
    totals.chunks += pass.chunks;
    totals.rowsChecked += pass.rowsChecked;
    totals.rowsDiffering += pass.rowsDiffering;
    totals.rowsRepaired += pass.rowsRepaired;
    clean = pass.unresolvedChunks === 0 && (args.repair ? pass.rowsRepaired === 0 : pass.rowsDiffering === 0);
    if (clean || !args.repair) break;
  }
  return { table: name, passes, ...totals, clean, durationMs: Math.round(performance.now() - started), sampleDifferences: samples };
}
