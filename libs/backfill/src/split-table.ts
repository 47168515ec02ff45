import { CleaveError, type BackfillUnit } from '@cleave/core';
import { encodeKey, ensureTargetTable, splitKeySpace, type KeyTuple } from '@cleave/mysql';
import type { BackfillDeps } from './backfill-deps.js';
import { unitsFor } from './units-for.js';
import { isPermanentBackfillError } from './is-permanent-backfill-error.js';
import { readSourceShape } from './read-source-shape.js';

/** The payload of a `split-table` job (as `@cleave/jobs` defines it). */
export interface SplitTablePayload {
  readonly migrationId: string;
  /** A source table (all of its units) or one unit name. */
  readonly table: string;
}

/** What {@link splitTable} needs beyond {@link BackfillDeps}. */
export interface SplitTableDeps extends BackfillDeps {
  /** Rows per segment (one copy job each). @defaultValue 100000 */
  readonly segmentRows?: number;
}

/** One unit as split. */
export interface SplitUnitResult {
  /** The unit name: the `table` of its `copy-segment` jobs. */
  readonly unit: string;
  readonly target: string;
  /** Whether the target table was created now or existed (identical). */
  readonly targetTable: 'created' | 'exists';
  readonly segments: number;
  /** Segments not done yet: enqueue one `copy-segment` job for each. */
  readonly segmentNos: readonly number[];
}

export interface SplitTableResult {
  readonly migrationId: string;
  readonly units: readonly SplitUnitResult[];
}

/** Phases in which a split may run: it creates target tables and segments, copies nothing. */
const SPLIT_PHASES = new Set(['planned', 'dual_write', 'verified']);

export const DEFAULT_SEGMENT_ROWS = 100_000;

/** Segments between consecutive boundary keys: (null, b0], (b0, b1], ..., (bn, null). */
function segmentsOf(boundaries: readonly KeyTuple[]): Array<{ lower: string | null; upper: string | null }> {
  const keys = boundaries.map((k) => encodeKey(k));
  return [null, ...keys].map((lower, i) => ({ lower, upper: keys[i] ?? null }));
}

/**
 * The `split-table` processor: for each backfill unit of the table, makes sure the target table
 * exists (created from the source definition, or identical), cuts the source key space into
 * segments of about `segmentRows` rows and stores them once. Idempotent: a retried split keeps the
 * stored segments and their checkpoints. Returns the segments to enqueue; the worker enqueues them.
 *
 * @example
 * const { units } = await splitTable({ migrationId, table: 'users' }, deps);
 * for (const u of units) await producer.copySegments(migrationId, u.unit, u.segmentNos);
 */
export async function splitTable(payload: SplitTablePayload, deps: SplitTableDeps): Promise<SplitTableResult> {
  const segmentRows = deps.segmentRows ?? DEFAULT_SEGMENT_ROWS;
  if (!Number.isInteger(segmentRows) || segmentRows < 1) {
    throw new CleaveError('CONFIG_INVALID', `segmentRows must be a positive integer, got ${String(segmentRows)}`);
  }
  const { store } = deps;
  const migration = await store.getMigration(payload.migrationId);
  if (!SPLIT_PHASES.has(migration.phase)) {
    throw new CleaveError('PRECONDITION_FAILED', `migration ${migration.id} is in phase ${migration.phase}: the backfill only runs before the switch`);
  }
  const units = unitsFor(migration.plan, payload.table);
  const tableName = units[0]?.table ?? payload.table;
  const { plan } = migration;
  const source = deps.servers(plan.source.server);
  const actor = { actor: deps.owner };
  try {
    const { table, shape } = await readSourceShape(source, plan.source, tableName);
    const results: SplitUnitResult[] = [];
    for (const unit of units) {
      await store.registerBackfillTable(migration.id, unit.id, unit.targetName, table.rowEstimate);
      const targetTable = await ensureTargetTable({
        source,
        target: deps.servers(unit.target.server),
        sourceTable: { database: plan.source.database, table: unit.table },
        targetTable: { database: unit.target.database, table: unit.table },
        dropForeignKeys: unit.droppedForeignKeys,
      });
      let stored = await store.segments(migration.id, unit.id);
      if (stored.length === 0) {
        await store.setBackfillTableState(migration.id, unit.id, 'splitting');
        const started = performance.now();
        // The walk reads the whole key index of the table on the source: throttled like the copy.
        const boundaries = await splitKeySpace(source, shape, segmentRows, unit.filter ?? undefined, deps.gate === undefined ? undefined : () => deps.gate!.waitUntilOpen(deps.signal));
        await store.saveSegments(migration.id, unit.id, segmentsOf(boundaries));
        stored = await store.segments(migration.id, unit.id);
        await store.appendEvent(migration.id, 'backfill_started', actor, {
          unit: unit.id,
          table: unit.table,
          target: unit.targetName,
          segments: stored.length,
          rowsEstimate: table.rowEstimate,
          targetTable,
          ...(unit.filter === null ? {} : { range: { from: unit.filter.from, to: unit.filter.to } }),
        });
        deps.log?.({
          level: 'info',
          message: `split ${unit.id} into ${stored.length} segment(s) in ${Math.round(performance.now() - started)} ms`,
          migrationId: migration.id,
          unit: unit.id,
          details: { targetTable, rowsEstimate: table.rowEstimate },
        });
      }
      results.push({
        unit: unit.id,
        target: unit.targetName,
        targetTable,
        segments: stored.length,
        segmentNos: stored.filter((s) => s.state !== 'done').map((s) => s.segmentNo),
      });
    }
    return { migrationId: migration.id, units: results };
  } catch (error) {
    if (isPermanentBackfillError(error)) await refuse(deps, migration.id, units, error);
    throw error;
  }
}

/** Marks the units failed with the error, and logs a `refused` event, so that status says why. */
async function refuse(deps: SplitTableDeps, migrationId: string, units: readonly BackfillUnit[], error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  try {
    for (const unit of units) {
      await deps.store.registerBackfillTable(migrationId, unit.id, unit.targetName, 0);
      await deps.store.setBackfillTableState(migrationId, unit.id, 'failed', message);
    }
    await deps.store.appendEvent(migrationId, 'refused', { actor: deps.owner, reason: message }, { units: units.map((u) => u.id) });
  } catch {
    // The original error matters more than the bookkeeping.
  }
}
