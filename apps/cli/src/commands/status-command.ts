import { readMigrationStatus, type MigrationRecord, type MigrationStatus, type RouterStatus } from '@cleave/control';
import type { CliContext } from '../cli-context.js';
import { fmtDuration, fmtInt, fmtTime } from '../output.js';

export interface CliMigrationStatus extends MigrationStatus {
  readonly routers: readonly RouterStatus[];
  readonly queues: Record<string, Record<string, number>>;
}

/** The control store's view of a migration plus the live routers and the job queues. */
export async function migrationStatus(ctx: CliContext, idOrName: string): Promise<CliMigrationStatus> {
  const status = await readMigrationStatus(await ctx.store(), idOrName);
  const [routers, queues] = await Promise.all([ctx.routers(status.migration.id), ctx.producer().counts()]);
  return { ...status, routers, queues };
}

export function formatStatus(s: CliMigrationStatus): string {
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
  lines.push('', 'routers:');
  if (s.routers.length === 0) lines.push('  none registered: writes that do not go through @cleave/router reach only the source and are caught only by verification');
  for (const r of s.routers) {
    lines.push(`  ${r.routerId} (${r.service} on ${r.host})  epoch ${r.ackedEpoch ?? '-'}${r.ackedEpoch === m.epoch ? ' (current)' : ''}${r.fenceId ? `  holding writes for fence ${r.fenceId}` : ''}`);
  }
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
