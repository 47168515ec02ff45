import { CleaveError, PHASE_ROUTING, backfillUnits, isCleaveError, movedTables } from '@cleave/core';
import { awaitCaptureCaughtUp, streamsForPhase, type ControlStore } from '@cleave/control';
import type { Pool } from 'mysql2/promise';
import { readCatalog, tableShape } from '@cleave/mysql';
import { aggregateReport, type TableVerification, type VerificationReport } from './verification-report.js';
import { verifyTable, type VerifyChunkOptions, type VerifyProgress } from './table-verifier.js';
import { watchPrimary } from './primary-watch.js';

/** What {@link verifyMigration} needs: the control store and the pool of each named server. */
export interface VerifyMigrationDeps extends VerifyChunkOptions {
  readonly store: ControlStore;
  /** A mysql2 promise pool per server name (the worker's budgeted pools). */
  readonly servers: (serverName: string) => Pool;
  /** Recorded as the event's actor. */
  readonly actor: string;
  readonly onProgress?: (progress: VerifyProgress & { readonly unit: string }) => void;
  readonly signal?: AbortSignal;
}

export interface VerifyMigrationOptions {
  readonly migrationId: string;
  /** Repair differences from the primary (`false`: only report). */
  readonly repair: boolean;
  /** @defaultValue 5 */
  readonly maxPasses?: number;
}

/** How long a verification waits for the capture to pass a difference before it counts it. */
const CAPTURE_SETTLE_TIMEOUT_MS = 10_000;

/**
 * Verifies every unit of a migration (each moved table, each shard range): the shadow against the
 * primary of the phase (the source before the writes switch, the target after it), repairing from
 * the primary until a full pass is clean when `repair` is set, and records the run and an event in
 * the control store. A switch that moves the primary meanwhile stops the run (nothing is repaired
 * in the old direction after it).
 */
export async function verifyMigration(options: VerifyMigrationOptions, deps: VerifyMigrationDeps): Promise<VerificationReport & { readonly runId: number }> {
  const migration = await deps.store.getMigration(options.migrationId);
  if (migration.phase === 'planned') {
    throw new CleaveError('PRECONDITION_FAILED', `migration ${migration.name} has not started: nothing to verify yet`, { hint: 'Run `cleave start` first.' });
  }
  if (migration.phase === 'finalized') {
    throw new CleaveError('PRECONDITION_FAILED', `migration ${migration.name} is finalized: its source tables are archived, there is nothing left to compare`, {
      hint: 'Look at the last verification runs with `cleave status`.',
    });
  }
  const { plan } = migration;
  const { store: _store, servers: _servers, actor: _actor, onProgress: _onProgress, signal: _signal, ...chunkOptions } = deps;
  const primarySide = PHASE_ROUTING[migration.phase].primary;
  const source = deps.servers(plan.source.server);
  const catalog = await readCatalog(source, plan.source.database, { tables: movedTables(plan) });
  const runId = await deps.store.startVerificationRun(migration.id);
  const watch = watchPrimary(deps.store, migration.id, primarySide, deps.signal);
  // With a binlog capture, a difference is real only once the capture has passed it (see verifyTable's `settle`).
  const streams = deps.store.captureStreams();
  const captured = (await streams.list(migration.id)).some((r) => streamsForPhase(plan, migration.phase).includes(r.stream));
  const settle = captured
    ? async (): Promise<void> => {
        // Not caught up within the bound (a stopped stream, a worker gone): the difference counts, as without capture.
        await awaitCaptureCaughtUp(migration, streams, deps.servers, CAPTURE_SETTLE_TIMEOUT_MS);
      }
    : undefined;
  const started = performance.now();
  const results: TableVerification[] = [];
  try {
    for (const unit of backfillUnits(plan)) {
      const table = catalog.tables.find((t) => t.name === unit.table);
      if (!table) throw new CleaveError('NOT_FOUND', `table ${unit.table} no longer exists in ${plan.source.database}`);
      const sides = [
        { pool: source, database: plan.source.database },
        { pool: deps.servers(unit.target.server), database: unit.target.database },
      ] as const;
      const [primary, shadow] = primarySide === 'source' ? sides : [sides[1], sides[0]];
      results.push(
        await verifyTable({
          ...chunkOptions,
          signal: watch.signal,
          source: primary.pool,
          target: shadow.pool,
          sourceShape: tableShape(table, primary.database),
          targetTable: { database: shadow.database, table: unit.table },
          ...(unit.filter ? { filter: unit.filter } : {}),
          repair: options.repair,
          guard: { migrationId: migration.id, epoch: migration.guardEpoch },
          maxPasses: options.maxPasses ?? 5,
          ...(settle === undefined ? {} : { settle }),
          ...(deps.onProgress ? { onProgress: (p: VerifyProgress) => deps.onProgress!({ ...p, unit: unit.id }) } : {}),
        }),
      );
    }
  } catch (error) {
    // Aborted by the watch: its reason names the switch.
    const reason: unknown = watch.signal.aborted && isCleaveError(error, 'ABORTED') && watch.signal.reason instanceof Error ? watch.signal.reason : error;
    await deps.store.finishVerificationRun(runId, { passes: 0, chunks: 0, rowsChecked: 0, rowsDiffering: 0, rowsRepaired: 0, clean: false, details: { error: (reason as Error).message } });
    throw reason;
  } finally {
    watch.stop();
  }
  const report = aggregateReport(results, Math.round(performance.now() - started));
  await deps.store.finishVerificationRun(runId, { ...report, details: { tables: report.tables.map(({ sampleDifferences: _s, ...t }) => t), sampleDifferences: report.sampleDifferences } });
  await deps.store.appendEvent(migration.id, 'verification', { actor: deps.actor, reason: options.repair ? 'verify and repair' : 'verify only' }, {
    runId,
    clean: report.clean,
    passes: report.passes,
    rowsChecked: report.rowsChecked,
    rowsDiffering: report.rowsDiffering,
    rowsRepaired: report.rowsRepaired,
    durationMs: report.durationMs,
  });
  return { ...report, runId };
}
