import { readMigrationStatus, type MigrationEvent, type MigrationRecord, type MigrationStatus, type RouterStatus, type ShadowReadStats } from '@cleave/control';
import type { CliContext } from '../cli-context.js';
import { fmtBytes, fmtDuration, fmtInt, fmtTime } from '../output.js';

export interface CliMigrationStatus extends MigrationStatus {
  readonly routers: readonly RouterStatus[];
  /** Shadow reads the routers compared (all epochs, and per epoch). */
  readonly shadowReads: ShadowReadStats;
  readonly queues: Record<string, Record<string, number>>;
  /** Worker processes connected to the queues. */
  readonly workersAlive: number;
}

/** The control store's view of a migration plus the live routers and the job queues. */
export async function migrationStatus(ctx: CliContext, idOrName: string): Promise<CliMigrationStatus> {
  const status = await readMigrationStatus(await ctx.store(), idOrName);
  const [routers, shadowReads, queues, workersAlive] = await Promise.all([ctx.routers(status.migration.id), ctx.shadowReads(status.migration.id), ctx.producer().counts(), ctx.producer().workersAlive()]);
  return { ...status, routers, shadowReads, queues, workersAlive };
}

/** Jobs wait and no worker is connected: nothing will copy or verify until one starts. */
export function stalledWithoutWorkers(s: CliMigrationStatus): boolean {
  const waiting = (q: Record<string, number> | undefined) => (q?.['waiting'] ?? 0) + (q?.['delayed'] ?? 0) + (q?.['active'] ?? 0);
  return s.workersAlive === 0 && waiting(s.queues['backfill']) + waiting(s.queues['verify']) > 0;
}

export function formatStatus(s: CliMigrationStatus): string {
  const m = s.migration;
  const lines = [`migration ${m.name} (id ${m.id})  ${m.cancelledAt === null ? `phase ${m.phase}` : `CANCELLED ${m.cancelledAt.toISOString()} (in phase ${m.phase})`}  epoch ${m.epoch}`, `  source ${m.plan.source.server}/${m.plan.source.database}`, '', 'backfill:'];
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
  lines.push('', 'binlog capture:');
  if (s.capture.length === 0) lines.push('  OFF (started with --no-capture): writes made outside @cleave/router reach the other side only through verification passes');
  for (const c of s.capture) {
    const age = c.checkpointedAt === null ? 'never checkpointed' : `checkpointed ${fmtDuration(Date.now() - c.checkpointedAt.getTime())} ago`;
    lines.push(
      `  ${c.stream.padEnd(18)} ${c.state.padEnd(8)} reads ${c.server} at ${c.checkpoint.file}:${c.checkpoint.position}  lag ${c.lagMs === null ? '-' : `${fmtInt(c.lagMs)} ms`}` +
        `${c.behindBytes === null ? '' : `, ${fmtBytes(c.behindBytes)} behind`}  ` +
        `${fmtInt(c.changesApplied)} keys applied  ${age}${c.owner ? `  run by ${c.owner}` : c.state === 'active' ? '  NO WORKER RUNNING IT' : ''}${c.error ? `\n    error: ${c.error}` : ''}`,
    );
  }
  lines.push('', 'routers:');
  if (s.routers.length === 0) {
    lines.push(
      s.capture.length > 0
        ? '  none registered: writes reach the other side through binlog capture'
        : '  none registered: writes that do not go through @cleave/router reach only the source and are caught only by verification',
    );
  }
  for (const r of s.routers) {
    lines.push(`  ${r.routerId} (${r.service} on ${r.host})  epoch ${r.ackedEpoch ?? '-'}${r.ackedEpoch === m.epoch ? ' (current)' : ''}${r.fenceId ? `  holding writes for fence ${r.fenceId}` : ''}`);
  }
  lines.push('', 'shadow reads:', ...formatShadowReads(s.shadowReads, m.epoch));
  lines.push(
    '',
    `queues: backfill ${Object.entries(s.queues['backfill'] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}; verify ${Object.entries(s.queues['verify'] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}; workers alive ${s.workersAlive}`,
    ...(stalledWithoutWorkers(s) ? ['WARNING: jobs wait and no worker is alive: nothing copies or verifies until one starts (cleave worker)'] : []),
  );
  lines.push('', 'events:');
  for (const e of s.events) {
    const change = e.from || e.to ? ` ${e.from ?? '-'} -> ${e.to ?? '-'}` : '';
    lines.push(`  ${fmtTime(e.at)}  ${e.actor.padEnd(16)} ${e.kind}${change}${switchFigures(e)}${e.reason ? `  (${e.reason})` : ''}`);
  }
  return lines.join('\n');
}

/** The shadow-read lines of the status: totals, the current epoch, the latest mismatches. */
export function formatShadowReads(s: ShadowReadStats, epoch: number): string[] {
  if (s.routers.length === 0) return ['  no router reported shadow reads (enable shadowReads.sampleRate in the routers to compare reads)'];
  const rate = (mismatched: number, compared: number) => (compared === 0 ? '-' : `${((mismatched / compared) * 100).toFixed(2)}%`);
  const current = s.byEpoch.find((e) => e.epoch === epoch);
  const lines = [
    `  all phases: ${fmtInt(s.compared)} compared, ${fmtInt(s.mismatched)} mismatched (${rate(s.mismatched, s.compared)}), ${fmtInt(s.errors)} failed to run; ${s.routers.length} router${s.routers.length === 1 ? '' : 's'} reported`,
    current === undefined
      ? `  this phase (epoch ${epoch}): none compared yet`
      : `  this phase (epoch ${epoch}): ${fmtInt(current.compared)} compared, ${fmtInt(current.mismatched)} mismatched (${rate(current.mismatched, current.compared)}), ${fmtInt(current.errors)} failed to run`,
  ];
  for (const mm of s.recentMismatches.slice(0, 3)) {
    lines.push(`  mismatch ${fmtTime(new Date(mm.at))} ${mm.table} (epoch ${mm.epoch}, router ${mm.routerId}): ${mm.servedOnly} rows only served, ${mm.otherOnly} only on the other side`);
  }
  return lines;
}

/** Milliseconds, with a decimal below 10 ms (held writes are often that short). */
const fmtMs = (ms: number) => (ms < 10 ? `${ms.toFixed(1)} ms` : fmtDuration(ms));

/** What a switch recorded: the coordinator-measured pause and the routers' held writes. */
export function switchFigures(e: Pick<MigrationEvent, 'details'>): string {
  const d = (e.details ?? {}) as { writePause?: { heldUpToMs?: number } | null; heldWrites?: { routers: number; count: number; maxMs: number; p99Ms: number; unreported?: string[] } };
  const parts: string[] = [];
  if (typeof d.writePause?.heldUpToMs === 'number') parts.push(`write pause <= ${fmtMs(d.writePause.heldUpToMs)}`);
  const h = d.heldWrites;
  if (h !== undefined && typeof h.count === 'number') {
    parts.push(
      `held writes ${fmtInt(h.count)} (max ${fmtMs(h.maxMs)}, p99 ${fmtMs(h.p99Ms)}) from ${h.routers} router${h.routers === 1 ? '' : 's'}` +
        (h.unreported !== undefined && h.unreported.length > 0 ? `, not reported by ${h.unreported.join(', ')}` : ''),
    );
  }
  return parts.length === 0 ? '' : `  [${parts.join('; ')}]`;
}

export async function listMigrations(ctx: CliContext): Promise<MigrationRecord[]> {
  return (await ctx.store()).listMigrations();
}
