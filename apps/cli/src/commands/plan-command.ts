import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CleaveError, TARGET_NAME_PATTERN } from '@cleave/core';
import { readCatalog } from '@cleave/mysql';
import {
  IndexStatisticsRangeSource,
  diffWorkloads,
  formatPlanReport,
  parseGeneralLog,
  parseSlowLog,
  planSplit,
  readDigestWorkload,
  sourceQueryError,
  type PlanTarget,
  type ShardSpec,
  type SplitPlanResult,
  type Workload,
} from '@cleave/planner';
import type { CliContext } from '../cli-context.js';
import { requireDatabase } from '../databases.js';

/** Options of `cleave plan`, as commander gives them. */
export interface PlanCommandOptions {
  readonly database?: string;
  readonly source: string;
  readonly name?: string;
  readonly target: string[];
  readonly move: string[];
  readonly to: string[];
  readonly shard: string[];
  readonly keep: string[];
  readonly together: string[];
  readonly groups?: string;
  readonly capacity?: string;
  readonly allowFkSplit?: boolean;
  readonly slowLog?: string;
  readonly generalLog?: string;
  readonly workload?: string;
  readonly window?: string;
  readonly output?: string;
  readonly allowThinWorkload?: boolean;
}

const bad = (message: string, hint: string) => new CleaveError('INVALID_ARGUMENT', message, { hint });

const list = (values: readonly string[]) => values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);

/** `NAME=SERVER[/DATABASE]` or `SERVER` (the target is named after the server). */
export function parseTargetSpec(spec: string, database: string): PlanTarget {
  const m = /^(?:([^=]+)=)?([^/=]+)(?:\/([^/]+))?$/.exec(spec.trim());
  if (m === null) throw bad(`invalid target "${spec}"`, 'Write a target as NAME=SERVER[/DATABASE], e.g. --target mail=target1/accounts, or just SERVER.');
  const server = m[2]!;
  const name = m[1] ?? server;
  if (!TARGET_NAME_PATTERN.test(name)) {
    throw bad(`invalid target name "${name}"`, 'Target names are 1 to 63 characters of a-z, 0-9, _ and -; write NAME=SERVER to name it.');
  }
  return { name, server, database: m[3] ?? database };
}

/** `TABLE[.COLUMN][:TARGET,TARGET…]`. */
export function parseShardSpec(spec: string): ShardSpec {
  const m = /^([^.:]+)(?:\.([^:]+))?(?::(.+))?$/.exec(spec.trim());
  if (m === null) throw bad(`invalid shard spec "${spec}"`, 'Write it as TABLE[.COLUMN][:TARGET,TARGET…], e.g. --shard invoices.user_id:target1,target2.');
  return { table: m[1]!, ...(m[2] === undefined ? {} : { column: m[2] }), ...(m[3] === undefined ? {} : { targets: list([m[3]]) }) };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw bad(`cannot read log file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'Pass the path of a readable slow-query or general-query log.');
  }
}

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw bad(`${flag} must be a number, got "${value}"`, `Example: ${flag === '--capacity' ? '--capacity 0.6' : `${flag} 3`}.`);
  return n;
}

/** Views of the database: a statement naming one names a relation that stays on the source, not a missing table. */
async function readViews(pool: { query(sql: string, values: unknown[]): Promise<unknown> }, database: string): Promise<string[]> {
  const [rows] = (await pool.query("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW'", [database])) as [Array<{ name: unknown }>];
  return rows.map((r) => String(r.name));
}

/**
 * `cleave plan`: reads the source catalog and workload, plans the split, validates it, writes
 * the plan file and returns the result for the report.
 */
export async function planCommand(ctx: CliContext, opts: PlanCommandOptions, progress: (line: string) => void): Promise<{ result: SplitPlanResult; file: string }> {
  const database = opts.database;
  if (database === undefined || database === '') throw bad('--database is required', 'Name the source database to split, e.g. --database accounts.');
  if (opts.move.length !== opts.to.length) {
    throw bad(`${opts.move.length} --move but ${opts.to.length} --to`, 'Give each --move TABLES its --to TARGET, in order: --move users,addresses --to target1.');
  }
  const targets: PlanTarget[] = opts.target.map((t) => parseTargetSpec(t, database));
  const moves = opts.move.map((tables, i) => {
    const to = opts.to[i]!;
    let target = targets.find((t) => t.name === to);
    if (target === undefined) {
      target = parseTargetSpec(to, database);
      if (!targets.some((t) => t.name === target!.name)) targets.push(target);
    }
    return { tables: list([tables]), to: target.name };
  });
  const shards = opts.shard.map(parseShardSpec);
  for (const s of shards) for (const t of s.targets ?? []) if (!targets.some((x) => x.name === t)) targets.push(parseTargetSpec(t, database));
  const groupsGiven = opts.groups !== undefined || opts.capacity !== undefined;
  // --move, or only --shard without --groups/--capacity: the split is given, not computed
  const known = moves.length > 0 || (shards.length > 0 && !groupsGiven);
  const origin = opts.slowLog !== undefined ? 'slow-log' : opts.generalLog !== undefined ? 'general-log' : (opts.workload ?? (known ? 'none' : 'performance_schema'));
  if (!['performance_schema', 'none', 'slow-log', 'general-log'].includes(origin)) {
    throw bad(`unknown --workload "${origin}"`, 'Use --workload performance_schema or none, or pass --slow-log FILE / --general-log FILE.');
  }
  for (const t of targets) ctx.pool(t.server); // every server configured, before connecting
  // No default database: cleave's own reads must not count in the database's digests.
  const pool = ctx.pool(opts.source).promise;
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    throw sourceQueryError(error, opts.source, `database "${database}"`);
  }
  await requireDatabase(ctx.pool(opts.source), { server: opts.source, address: ctx.address(opts.source), database }, 'Name the database to split with -d (the server with --source).');
  progress(`reading the catalog of ${database} on ${opts.source}`);
  const catalog = await readCatalog(pool, database);
  const views = await readViews(pool, database);
  let workload: Workload | null = null;
  if (origin === 'slow-log') workload = parseSlowLog(readLog(opts.slowLog!), { database });
  else if (origin === 'general-log') workload = parseGeneralLog(readLog(opts.generalLog!), { database });
  else if (origin === 'performance_schema') {
    const window = numberOption(opts.window, '--window');
    const reader = pool;
    progress(`reading statement digests from performance_schema on ${opts.source}`);
    workload = await readDigestWorkload(reader, database, { server: opts.source });
    if (window !== undefined && window > 0) {
      progress(`waiting ${window} s for a fresh window of the workload`);
      await new Promise((resolve) => setTimeout(resolve, window * 1000));
      workload = diffWorkloads(workload, await readDigestWorkload(reader, database, { server: opts.source }));
    }
  }
  const name = opts.name ?? `split-${database.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`.slice(0, 63);
  const groups = numberOption(opts.groups, '--groups');
  const capacity = numberOption(opts.capacity, '--capacity');
  const result = await planSplit({
    name,
    source: { server: opts.source, database },
    catalog,
    targets,
    workload,
    ...(known ? { moves } : {}),
    ...(shards.length > 0 ? { shards } : {}),
    ...(groups === undefined ? {} : { groups }),
    ...(capacity === undefined ? {} : { capacity }),
    together: opts.together.map((t) => list([t])),
    keep: list(opts.keep),
    allowForeignKeySplit: Boolean(opts.allowFkSplit),
    rangeSource: new IndexStatisticsRangeSource(pool, database, opts.source),
    generatedBy: 'cleave plan',
    views,
    thinWorkload: opts.allowThinWorkload === true ? 'warn' : 'refuse',
  });
  const file = path.resolve(opts.output ?? `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result.plan, null, 2)}\n`);
  return { result, file };
}

/** The `--json` form: the plan, where it was written, and the report's facts. */
export function planJson(result: SplitPlanResult, file: string): unknown {
  return {
    file,
    plan: result.plan,
    mode: result.mode,
    servers: result.servers,
    sourceLoadRemovedShare: result.prediction?.sourceLoadRemovedShare ?? null,
    brokenStatements: result.prediction?.brokenStatements ?? [],
    droppedForeignKeys: result.droppedForeignKeys,
    shardKeys: result.shardKeys,
    unparsed: result.unparsed,
    workload: result.workload,
    warnings: result.warnings,
    sufficiency: result.sufficiency,
  };
}

/** The human report plus where the plan went. */
export function formatPlanOutput(result: SplitPlanResult, file: string): string {
  return `${formatPlanReport(result)}\n\nwrote ${file}\nnext: cleave start ${file}`;
}
