import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CleaveError, backfillUnits, parsePlan, type Plan } from '@cleave/core';
import { MigrationOverlapError, currentCoordinate, newMigrationId, preflightPlan, type MigrationRecord } from '@cleave/control';
import { DEFAULT_CUTOVER_SETTINGS, GUARD_LOCK_WAIT_SECONDS, guardSides } from '@cleave/cutover';
import { denyWrites, ensureTargetTable, readCatalog, removeGuard, requireAccountGrants } from '@cleave/mysql';
import { requireCaptureSupport } from '@cleave/capture';
import type { CliContext } from '../cli-context.js';
import { requireServers } from '../reachability.js';
import { requireDatabase } from '../databases.js';

/** How long `cleave start` (without capture) waits for every live router to acknowledge `dual_write`. */
export const DUAL_WRITE_ACK_TIMEOUT_MS = DEFAULT_CUTOVER_SETTINGS.epochAckTimeoutMs;

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

/** ER_TABLEACCESS_DENIED (TRIGGER), ER_SPECIFIC_ACCESS_DENIED, ER_BINLOG_CREATE_ROUTINE_NEED_SUPER. */
const GUARD_PRIVILEGE_ERRNOS = new Set([1142, 1227, 1419]);

/** A refused guard installation, named with its server and the grant that fixes it. */
function guardRefused(error: unknown, server: string, database: string): unknown {
  if (!GUARD_PRIVILEGE_ERRNOS.has(Number((error as { errno?: number }).errno))) return error;
  return new CleaveError('PRECONDITION_FAILED', `server ${server} refused the placement guard's triggers in ${database}: ${(error as Error).message}`, {
    cause: error,
    hint: `Grant cleave's account TRIGGER on ${database} (and on the source database); where the server writes a binary log, also set log_bin_trust_function_creators=1 (safe with binlog_format=ROW), or grant it SUPER.`,
  });
}

/**
 * Registers a migration and enqueues its backfill: validates the plan, checks it against the
 * live source catalog and creates (or checks) the target tables (nothing is registered when that
 * fails), records it in the control store, moves it to dual_write and enqueues one split job per
 * table (deterministic ids, so running the same step twice enqueues nothing new).
 */
/** What `cleave start` did: the migration, and the routers that did not acknowledge dual writes in time. */
export interface StartedMigration {
  readonly migration: MigrationRecord;
  /** Live routers that had not loaded `dual_write` when the copy was queued (only without capture). */
  readonly lateRouters: readonly string[];
  /** An earlier `cleave start` of this plan stopped before queuing the copy; this run queued it. */
  readonly resumed: boolean;
}

export async function startMigration(ctx: CliContext, planFile: string, options: { capture?: boolean } = {}): Promise<StartedMigration> {
  const capture = options.capture ?? true;
  const plan = readPlanFile(planFile);
  const serverNames = [...new Set([plan.source.server, ...Object.values(plan.targets).map((t) => t.server)])];
  // Everything it will need is reachable before it changes anything (nothing is left half-applied).
  await requireServers(serverNames.map((name) => ({ name, pool: ctx.pool(name) })));
  await ctx.requireRedis();
  // The driver's "Unknown database 'accounts'" names no server; cleave start creates tables, not databases.
  await requireDatabase(ctx.pool(plan.source.server), { server: plan.source.server, address: ctx.address(plan.source.server), database: plan.source.database }, `Fix the plan's source, or plan again with -d; nothing was changed.`);
  for (const [name, t] of Object.entries(plan.targets)) {
    const create = `Create it (CREATE DATABASE \`${t.database}\` on ${t.server}; cleave start creates the moved tables, not databases), or plan target ${name} on another database (--target ${name}=${t.server}/DATABASE); nothing was changed.`;
    await requireDatabase(ctx.pool(t.server), { server: t.server, address: ctx.address(t.server), database: t.database }, create);
  }
  // Every grant is checked before anything changes: a missing one is named, not met halfway through.
  await requireAccountGrants(plan, ctx.config.control, (server) => ctx.pool(server).promise, { capture });
  const source = ctx.pool(plan.source.server, plan.source.database);
  // Binlog capture is checked before anything is created; it is what carries writes made outside the routers.
  if (capture) await requireCaptureSupport(source.promise, plan.source.server);
  // The whole catalog: foreign keys of tables that stay can point at tables that move.
  const catalog = await readCatalog(source.promise, plan.source.database);
  preflightPlan(plan, catalog);
  const store = await ctx.store();
  const resumable = await unqueuedStart(store, plan);
  if (resumable !== null) {
    await queueBackfill(ctx, resumable, { actor: actor(), reason: `cleave start ${planFile} (resumed: the copy was not queued)` });
    return { migration: resumable, lateRouters: [], resumed: true };
  }
  // Routers follow one migration per table: a second one over the same table would fight the first.
  const overlap = await store.overlappingMigrations(plan);
  if (overlap.length > 0) throw new MigrationOverlapError(plan, overlap);
  const units = backfillUnits(plan);
  // The target tables exist before dual writes begin (their first shadow applies land instead of
  // being recorded as failures), and a target table that differs is refused before anything is
  // registered. Idempotent: the split jobs ensure them again.
  const targetTables: Array<{ server: string; database: string; table: string; created: boolean }> = [];
  for (const unit of units) {
    const outcome = await ensureTargetTable({
      source: source.promise,
      target: ctx.pool(unit.target.server).promise,
      sourceTable: { database: plan.source.database, table: unit.table },
      targetTable: { database: unit.target.database, table: unit.table },
      dropForeignKeys: unit.droppedForeignKeys,
    });
    targetTables.push({ server: unit.target.server, database: unit.target.database, table: unit.table, created: outcome === 'created' });
  }
  const by = { actor: actor(), reason: `cleave start ${planFile}` };
  // The capture starts at the binlog end taken before the migration exists, so before any chunk is
  // copied: every change a chunk could miss is after it.
  const captureFrom = capture ? await currentCoordinate(source.promise, plan.source.server) : null;
  // The targets refuse every write but cleave's own (guard epoch 1) before the migration exists;
  // if registering it fails, the guards go again (nothing is left half-applied).
  const id = newMigrationId();
  const targets = guardSides(plan, id, 'planned').filter((side) => !side.primary);
  const guarded: typeof targets = [];
  let migration: MigrationRecord;
  try {
    for (const side of targets) {
      guarded.push(side);
      await denyWrites(ctx.pool(side.server).promise, side.tables, 1, { lockWaitSeconds: GUARD_LOCK_WAIT_SECONDS }).catch((error: unknown) => {
        throw guardRefused(error, side.server, side.tables.database);
      });
    }
    migration = await store.createMigration(plan, by, {
      id,
      routingPrefix: ctx.routingChannel().prefix,
      ...(captureFrom === null ? {} : { capture: { server: plan.source.server, from: captureFrom } }),
    });
  } catch (error) {
    for (const side of guarded) await removeGuard(ctx.pool(side.server).promise, side.tables, { lockWaitSeconds: GUARD_LOCK_WAIT_SECONDS }).catch(() => undefined);
    throw error;
  }
  if (captureFrom === null) await store.appendEvent(migration.id, 'note', { actor: by.actor, reason: 'started with --no-capture' }, { capture: 'off' });
  // Which target tables this start created: `cleave cancel` drops those, never a table that was there before.
  await store.appendEvent(migration.id, 'note', { actor: by.actor, reason: 'target tables' }, { targetTables });
  for (const unit of units) {
    const table = catalog.tables.find((t) => t.name === unit.table);
    await store.registerBackfillTable(migration.id, unit.id, unit.targetName, table?.rowEstimate ?? 0);
  }
  const started = await store.changePhase(migration.id, { from: 'planned', to: 'dual_write' }, by);
  // Without capture only the routers carry writes to the targets: the copy waits until every live
  // router writes both sides, or a chunk could copy a row that a router not yet dual-writing then
  // changes on the source alone. With capture the stream carries every write since before the copy.
  const lateRouters = captureFrom === null ? await awaitDualWrites(ctx, started) : [];
  if (lateRouters.length > 0) {
    await store.appendEvent(migration.id, 'note', { actor: by.actor, reason: 'routers did not acknowledge dual_write in time' }, { lateRouters });
  }
  await queueBackfill(ctx, started, by);
  return { migration: started, lateRouters, resumed: false };
}

/** One split job per table (deterministic job ids: queuing twice adds nothing), then the event. */
async function queueBackfill(ctx: CliContext, migration: MigrationRecord, by: { actor: string; reason: string }): Promise<void> {
  const units = backfillUnits(migration.plan);
  await ctx.producer().splitTables(migration.id, units.map((u) => u.id));
  await (await ctx.store()).appendEvent(migration.id, 'backfill_started', by, { units: units.map((u) => u.id) });
}

/**
 * The migration of this very plan that an earlier `cleave start` moved to dual_write but stopped
 * before queuing its copy (Redis went away, the process was killed), or null.
 */
async function unqueuedStart(store: Awaited<ReturnType<CliContext['store']>>, plan: Plan): Promise<MigrationRecord | null> {
  const existing = (await store.listMigrations()).find((m) => m.name === plan.name);
  if (existing === undefined || existing.phase !== 'dual_write' || JSON.stringify(existing.plan) !== JSON.stringify(plan)) return null;
  return (await store.events(existing.id)).some((e) => e.kind === 'backfill_started') ? null : existing;
}

/** Announces the dual_write epoch and waits (the cutover's epoch-ack deadline) for every live router; returns those that missed it. */
async function awaitDualWrites(ctx: CliContext, migration: MigrationRecord): Promise<readonly string[]> {
  const channel = ctx.routingChannel();
  await channel.announceEpoch(migration.id, migration.epoch);
  const acks = await channel.waitForAcks(migration.id, { epoch: migration.epoch }, { timeoutMs: DUAL_WRITE_ACK_TIMEOUT_MS });
  return acks.missing;
}
