import { CleaveError, type MigrationPhase } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import type { MigrationRecord } from '@cleave/control';
import type { CliContext } from '../cli-context.js';
import { openCutover } from './cutover-command.js';
import { actor } from './start-command.js';

/** A target table as `cleave start` recorded it. */
interface TargetTable {
  readonly server: string;
  readonly database: string;
  readonly table: string;
}

/** What `cleave cancel` does (or, without `--approve`, would do). */
export interface CancelOutcome {
  readonly migrationId: string;
  readonly name: string;
  readonly outcome: 'cancelled' | 'approval-required' | 'already-cancelled';
  /** The phases it rolls back through to reach planned. */
  readonly rollbacks: readonly MigrationPhase[];
  /** Target tables `cleave start` created: dropped. */
  readonly dropTables: readonly TargetTable[];
  /** Target tables that existed before `cleave start` (or are the source's own): left in place. */
  readonly keptTables: readonly TargetTable[];
  /** Queued jobs removed. */
  readonly jobsRemoved: number;
}

const CANCELLABLE: readonly MigrationPhase[] = ['planned', 'dual_write', 'verified', 'reads_switched'];
const label = (t: TargetTable) => `${t.server}:${t.database}.${t.table}`;

/** The target tables `cleave start` recorded for the migration: created by it, or there before. */
async function recordedTargetTables(ctx: CliContext, m: MigrationRecord): Promise<{ drop: TargetTable[]; keep: TargetTable[] }> {
  const events = await (await ctx.store()).events(m.id);
  const recorded = events.flatMap((e) => ((e.details?.['targetTables'] as Array<TargetTable & { created: boolean }> | undefined) ?? []));
  const key = (t: TargetTable) => `${t.server}\u0000${t.database}\u0000${t.table}`;
  const created = new Set(recorded.filter((t) => t.created).map(key));
  const isSource = (t: TargetTable) => t.server === m.plan.source.server && t.database === m.plan.source.database;
  const unique = [...new Map(recorded.map((t) => [key(t), { server: t.server, database: t.database, table: t.table }])).values()];
  return {
    drop: unique.filter((t) => created.has(key(t)) && !isSource(t)),
    keep: unique.filter((t) => !created.has(key(t)) || isSource(t)),
  };
}

/**
 * `cleave cancel <id>` (Vitess's `MoveTables cancel`): before the writes switch, ends a migration
 * for good. Rolls it back to planned (the real switches, fenced where the primary's readers move),
 * marks it cancelled (workers skip its jobs, routers ignore it, its tables may be planned again),
 * removes its queued jobs and drops the target tables its `cleave start` created; tables that were
 * there before are left. Without `approve` it only lists that and changes nothing.
 */
export async function cancelCommand(ctx: CliContext, idOrName: string, options: { approve: boolean; reason?: string }): Promise<CancelOutcome> {
  const store = await ctx.store();
  let m = await store.getMigration(idOrName);
  const base = { migrationId: m.id, name: m.name, rollbacks: [] as MigrationPhase[], dropTables: [] as TargetTable[], keptTables: [] as TargetTable[], jobsRemoved: 0 };
  if (m.cancelledAt !== null) return { ...base, outcome: 'already-cancelled' };
  if (!CANCELLABLE.includes(m.phase)) {
    throw new CleaveError('PHASE_TRANSITION_INVALID', `migration ${m.name} is in phase ${m.phase}: the target is the primary${m.phase === 'finalized' ? ' for good' : ''}, so it cannot be cancelled`, {
      hint: m.phase === 'finalized' ? 'A finalized migration is permanent.' : `Roll back first (\`cleave rollback ${m.name}\`), then cancel.`,
    });
  }
  const rollbacks = CANCELLABLE.slice(0, CANCELLABLE.indexOf(m.phase)).reverse();
  const tables = await recordedTargetTables(ctx, m);
  const plan = { ...base, rollbacks, dropTables: tables.drop, keptTables: tables.keep };
  if (!options.approve) return { ...plan, outcome: 'approval-required' };

  const reason = options.reason ?? 'cleave cancel';
  if (rollbacks.length > 0) {
    const { cutover, close } = await openCutover(ctx);
    try {
      while (m.phase !== 'planned') {
        const result = await cutover.rollback(m.id, { reason });
        if (result.outcome !== 'done') throw new CleaveError('ABORTED', `cancel stopped: the rollback from ${result.from} to ${result.to} was ${result.outcome}: ${result.reason ?? ''}`);
        m = await store.getMigration(m.id);
      }
    } finally {
      await close();
    }
  }
  // Cancelled first: a job a worker takes from here on is skipped, so none copies into a table being dropped.
  await store.cancelMigration(m.id, { actor: actor(), reason }, { droppedTables: tables.drop.map(label), keptTables: tables.keep.map(label) });
  const jobsRemoved = await ctx.producer().removeMigrationJobs(m.id);
  for (const t of tables.drop) {
    await ctx.pool(t.server).promise.query(`DROP TABLE IF EXISTS ${quoteIdentifier(t.database)}.${quoteIdentifier(t.table)}`);
  }
  return { ...plan, outcome: 'cancelled', jobsRemoved };
}

/** The human-readable report of {@link cancelCommand}. */
export function formatCancel(o: CancelOutcome): string {
  if (o.outcome === 'already-cancelled') return `migration ${o.name} (id ${o.migrationId}) is already cancelled`;
  const lines = [
    o.outcome === 'cancelled' ? `cancelled migration ${o.name} (id ${o.migrationId})` : `cancelling migration ${o.name} (id ${o.migrationId}) would:`,
    ...(o.rollbacks.length > 0 ? [`  roll back through ${o.rollbacks.join(' -> ')}`] : []),
    `  mark it cancelled and remove its queued jobs${o.outcome === 'cancelled' ? ` (${o.jobsRemoved} removed)` : ''}`,
    ...o.dropTables.map((t) => `  ${o.outcome === 'cancelled' ? 'dropped' : 'drop'} ${label(t)} (created by cleave start)`),
    ...o.keptTables.map((t) => `  keep ${label(t)} (it existed before cleave start)`),
  ];
  if (o.outcome === 'approval-required') lines.push(`nothing was changed: run \`cleave cancel ${o.name} --approve\` to do it`);
  return lines.join('\n');
}
