import { userInfo } from 'node:os';
import { Redis } from 'ioredis';
import { CleaveError, isMigrationPhase, type MigrationPhase } from '@cleave/core';
import { RoutingChannel, shadowReadSource } from '@cleave/control';
import { CUTOVER_STEP_POINTS, CoordinatorLeases, Cutover, resolveCutoverSettings, type CutoverResult, type CutoverSettings } from '@cleave/cutover';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { fmtDuration } from '../output.js';

/**
 * A cutover coordinator in this process: the control store, the routing channel on Redis
 * (prefix `<queuePrefix>:`) and the per-migration lease. Environment: CLEAVE_COORDINATOR_LEASE_MS,
 * CLEAVE_CUTOVER_SETTINGS (JSON), and the test hook CLEAVE_CUTOVER_PAUSE_AT=<step> (the process
 * stops after that step, as if it died there).
 */
export async function openCutover(ctx: CliContext, env: Record<string, string | undefined> = process.env): Promise<{ cutover: Cutover; close(): Promise<void> }> {
  const store = await ctx.store();
  const redis = new Redis(ctx.config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  await redis.connect();
  const prefix = `${ctx.config.queuePrefix}:`;
  const fleet = new RoutingChannel({ redis, prefix });
  const leaseMs = env['CLEAVE_COORDINATOR_LEASE_MS'] ? Number(env['CLEAVE_COORDINATOR_LEASE_MS']) : 5000;
  let settings: Partial<CutoverSettings> = {};
  try {
    settings = env['CLEAVE_CUTOVER_SETTINGS'] ? (JSON.parse(env['CLEAVE_CUTOVER_SETTINGS']) as Partial<CutoverSettings>) : {};
  } catch {
    throw new CleaveError('CONFIG_INVALID', 'CLEAVE_CUTOVER_SETTINGS is not valid JSON');
  }
  const pauseAt = env['CLEAVE_CUTOVER_PAUSE_AT'];
  if (pauseAt && !(CUTOVER_STEP_POINTS as readonly string[]).includes(pauseAt)) {
    throw new CleaveError('CONFIG_INVALID', `CLEAVE_CUTOVER_PAUSE_AT must be one of ${CUTOVER_STEP_POINTS.join(', ')}`);
  }
  const cutover = new Cutover({
    store,
    fleet,
    leases: new CoordinatorLeases({ redis, prefix, ttlMs: leaseMs }),
    actor: `cli:${userInfo().username}`,
    settings: resolveCutoverSettings(settings),
    servers: (name) => ctx.pool(name).promise,
    shadowReads: shadowReadSource(fleet),
    onStep: async (point) => {
      if (point !== pauseAt) return;
      process.stderr.write(`cutover paused at ${point}\n`);
      await new Promise(() => undefined); // until killed
    },
  });
  return {
    cutover,
    async close() {
      await fleet.close();
      redis.disconnect();
    },
  };
}

export function parsePhase(text: string | undefined): MigrationPhase | undefined {
  if (text === undefined) return undefined;
  if (!isMigrationPhase(text)) throw new CleaveError('INVALID_ARGUMENT', `--to must be a phase (planned, dual_write, verified, reads_switched, writes_switched, finalized), got "${text}"`);
  return text;
}

/** Runs a change and returns the exit code: 0 done, 1 aborted, 3 a dry run that would be refused. */
export function exitCodeOfResult(result: CutoverResult): number {
  if (result.outcome === 'aborted') return EXIT.failed;
  if (result.outcome === 'dry-run' && result.reason !== null) return EXIT.refused;
  return EXIT.ok;
}

export function formatCutover(r: CutoverResult): string {
  if (r.outcome === 'dry-run') return r.lines.join('\n');
  const lines: string[] = [];
  if (r.recovered) lines.push(`first ${r.recovered.action} an interrupted change ${r.recovered.from} -> ${r.recovered.to} of ${r.recovered.interruptedHolder}`);
  for (const c of r.checks) lines.push(`check ${c.name}: ${c.status} — ${c.detail}`);
  if (r.outcome === 'aborted') lines.push(`ABORTED ${r.from} -> ${r.to}: ${r.reason}; migration ${r.name} stays in ${r.from} (epoch ${r.epoch})`);
  else lines.push(`migration ${r.name}: ${r.from} -> ${r.to} (epoch ${r.epoch})`);
  if (r.outcome === 'done' && r.reason !== null) lines.push(r.reason);
  if (r.writePause) lines.push(`write pause: at most ${fmtDuration(r.writePause.heldUpToMs)} (fence acks ${fmtDuration(r.writePause.fenceAckMs)}, epoch acks ${fmtDuration(r.writePause.epochAckMs)})`);
  if (r.lateRouters.length > 0) lines.push(`routers late to ack the new epoch (they reload it by polling): ${r.lateRouters.join(', ')}`);
  for (const a of r.archived) lines.push(`archived ${a.database}.${a.table} as ${a.database}.${a.archive} (not dropped)`);
  return lines.join('\n');
}
