import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CleaveError, backfillUnits, parsePlan, type Plan } from '@cleave/core';
import { currentCoordinate, preflightPlan, type MigrationRecord } from '@cleave/control';
import { ensureTargetTable, readCatalog } from '@cleave/mysql';
import { requireCaptureSupport } from '@cleave/capture';
import type { CliContext } from '../cli-context.js';

export function readPlanFile(file: string): Plan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CleaveError('INVALID_ARGUMENT', `cannot read plan file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'Pass the path of a plan written by `cleave plan`.',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CleaveError('PLAN_INVALID', `plan file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePlan(json);
}

export const actor = () => `cli:${userInfo().username}`;

/**
 * Registers a migration and enqueues its backfill: validates the plan, checks it against the
 * live source catalog and creates (or checks) the target tables (nothing is registered when that
 * fails), records it in the control store, moves it to dual_write and enqueues one split job per
 * table (deterministic ids, so running the same step twice enqueues nothing new).
 */
export async function startMigration(ctx: CliContext, planFile: string, options: { capture?: boolean } = {}): Promise<MigrationRecord> {
  const capture = options.capture ?? true;
  const plan = readPlanFile(planFile);
  for (const server of new Set([plan.source.server, ...Object.values(plan.targets).map((t) => t.server)])) ctx.pool(server);
  const source = ctx.pool(plan.source.server, plan.source.database);
  // Binlog capture is checked before anything is created; it is what carries writes made outside the routers.
  if (capture) await requireCaptureSupport(source.promise, plan.source.server);
  // The whole catalog: foreign keys of tables that stay can point at tables that move.
  const catalog = await readCatalog(source.promise, plan.source.database);
  preflightPlan(plan, catalog);
  const units = backfillUnits(plan);
  // The target tables exist before dual writes begin (their first shadow applies land instead of
  // being recorded as failures), and a target table that differs is refused before anything is
  // registered. Idempotent: the split jobs ensure them again.
  for (const unit of units) {
    await ensureTargetTable({
      source: source.promise,
      target: ctx.pool(unit.target.server).promise,
      sourceTable: { database: plan.source.database, table: unit.table },
      targetTable: { database: unit.target.database, table: unit.table },
      dropForeignKeys: unit.droppedForeignKeys,
    });
  }
  const store = await ctx.store();
  const by = { actor: actor(), reason: `cleave start ${planFile}` };
  // The capture starts at the binlog end taken before the migration exists, so before any chunk is
  // copied: every change a chunk could miss is after it.
  const captureFrom = capture ? await currentCoordinate(source.promise, plan.source.server) : null;
  const migration = await store.createMigration(plan, by, captureFrom === null ? {} : { capture: { server: plan.source.server, from: captureFrom } });
  if (captureFrom === null) await store.appendEvent(migration.id, 'note', { actor: by.actor, reason: 'started with --no-capture' }, { capture: 'off' });
  for (const unit of units) {
    const table = catalog.tables.find((t) => t.name === unit.table);
    await store.registerBackfillTable(migration.id, unit.id, unit.targetName, table?.rowEstimate ?? 0);
  }
  const started = await store.changePhase(migration.id, { from: 'planned', to: 'dual_write' }, by);
  await ctx.producer().splitTables(migration.id, units.map((u) => u.id));
  await store.appendEvent(migration.id, 'backfill_started', by, { units: units.map((u) => u.id) });
  return started;
}
