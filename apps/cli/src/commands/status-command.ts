import type { BackfillTableRecord, MigrationEvent, MigrationRecord, ThrottleStat, VerificationRunRecord } from '@cleave/control';
import type { CliContext } from '../cli-context.js';
import { fmtDuration, fmtInt, fmtTime } from '../output.js';

export interface MigrationStatus {
  readonly migration: Omit<MigrationRecord, 'plan'> & { readonly plan: MigrationRecord['plan'] };
  readonly backfill: {
    readonly tables: readonly (BackfillTableRecord & { readonly rowsPerSecond: number; readonly percent: number })[];
    readonly rowsCopied: number;
    readonly complete: boolean;
  };
  readonly throttling: readonly ThrottleStat[];
  readonly verification: readonly VerificationRunRecord[];
  readonly routers: { readonly registered: number; readonly note: string };
  readonly queues: Record<string, Record<string, number>>;
  readonly events: readonly MigrationEvent[];
}

/** Everything the control store knows about one migration. */
export async function migrationStatus(ctx: CliContext, idOrName: string): Promise<MigrationStatus> {
  const store = await ctx.store();
  const migration = await store.getMigration(idOrName);
  const [tables, throttling, verification, events, queues] = await Promise.all([
    store.backfillTables(migration.id),
    store.throttleStats(migration.id),
    store.verificationRuns(migration.id),
    store.events(migration.id),
    ctx.producer().counts(),
  ]);
  const withRates = tables.map((t) => ({
    ...t,
    // Wall-clock rate: segments copy in parallel, so summed copy time would understate it.
    rowsPerSecond: t.startedAt ? (t.rowsCopied * 1000) / Math.max(1, (t.finishedAt ?? new Date()).getTime() - t.startedAt.getTime()) : 0,
    percent: t.state === 'copied' ? 100 : t.rowsEstimate > 0 ? Math.min(99.9, (100 * t.rowsCopied) / t.rowsEstimate) : 0,
  }));
  return {
    migration,
    backfill: { tables: withRates, rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0), complete: tables.length > 0 && tables.every((t) => t.state === 'copied') },
    throttling,
    verification,
    routers: {
      registered: 0,
      note: 'no router has registered: writes that do not go through @cleave/router reach only the source and are caught only by verification',
    },
    queues,
    events,
  };
}

export function formatStatus(s: MigrationStatus): string {
  const m = s.migration;
  const lines = [`migration ${m.name} (id ${m.id})  phase ${m.phase}  epoch ${m.epoch}`, `  source ${m.plan.source.server}/${m.plan.source.database}`, '', 'backfill:'];
  for (const t of s.backfill.tables) {
    const target = m.plan.targets[t.target];
    lines.push(
      `  ${t.table.padEnd(24)} -> ${t.target} (${target?.server}/${target?.database})  ${t.state.padEnd(8)} ${t.percent.toFixed(1).padStart(5)}%  ` +
        `${fmtInt(t.rowsCopied)}/${fmtInt(t.rowsEstimate)} rows  ${t.segmentsDone}/${t.segments} segments` +
        (t.rowsPerSecond > 0 ? `  ${fmtInt(t.rowsPerSecond)} rows/s` : '') +
        (t.error ? `  error: ${t.error}` : ''),
    );
  }
  if (s.backfill.tables.length === 0) lines.push('  (no tables)');
  lines.push('', 'throttling:');
  if (s.throttling.length === 0) lines.push('  never throttled');
  for (const t of s.throttling) lines.push(`  ${fmtDuration(t.throttledMs).padStart(10)}  ${t.reason}`);
  lines.push('', 'verification:');
  if (s.verification.length === 0) lines.push('  not run yet');
  for (const v of s.verification.slice(-3)) {
    lines.push(
      `  run ${v.id} ${fmtTime(v.startedAt)}: ${v.clean === null ? 'running' : v.clean ? 'clean' : 'DIFFERENCES REMAIN'}, ` +
        `${v.passes} passes, ${fmtInt(v.chunks)} chunks, ${fmtInt(v.rowsChecked)} rows checked, ${fmtInt(v.rowsDiffering)} differing, ${fmtInt(v.rowsRepaired)} repaired`,
    );
  }
  lines.push('', `routers: ${s.routers.registered} registered — ${s.routers.note}`);
  lines.push(
    '',
    `queues: backfill ${Object.entries(s.queues['backfill'] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}; verify ${Object.entries(s.queues['verify'] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
  lines.push('', 'events:');
  for (const e of s.events) {
    const change = e.from || e.to ? ` ${e.from ?? '-'} -> ${e.to ?? '-'}` : '';
    lines.push(`  ${fmtTime(e.at)}  ${e.actor.padEnd(16)} ${e.kind}${change}${e.reason ? `  (${e.reason})` : ''}`);
  }
  return lines.join('\n');
}

export async function listMigrations(ctx: CliContext): Promise<MigrationRecord[]> {
  return (await ctx.store()).listMigrations();
}
