import { CleaveError, PLAN_VERSION, parsePlan, type DroppedForeignKey, type Plan, type PlanInput, type PlanMove } from '@cleave/core';
import { preflightPlan } from '@cleave/control';
import type { Catalog, CatalogTable } from '@cleave/mysql';
import { predictLoad, type Endpoint, type EndpointLoad, type LoadPrediction, type Placement } from './load-predictor.js';
import { chooseShardKey, type ShardKeyChoice } from './shard-key.js';
import { balanceRangesByLoad, UniformRangeSource, type ShardRangeEstimate, type ShardRangeSource } from './shard-ranges.js';
import { buildTableGraph, type GraphStatement, type TableGraph, type UnparsedStatement } from './table-graph.js';
import { partitionItems, type PartitionHyperedge, type PartitionItem } from './vertical-partitioner.js';
import type { Workload } from './workload.js';
import { workloadSufficiency, type WorkloadSufficiency } from './workload-sufficiency.js';

/** A named target: a database on a configured server. */
export interface PlanTarget {
  readonly name: string;
  readonly server: string;
  readonly database: string;
}

/** A table to split by key ranges. */
export interface ShardSpec {
  readonly table: string;
  /** Key column; chosen from the workload and indexes when omitted. */
  readonly column?: string;
  /** One range per listed target, in key order; all targets when omitted. */
  readonly targets?: readonly string[];
}

/** A group of tables the user moves to a target (a known split). */
export interface MoveSpec {
  readonly tables: readonly string[];
  readonly to: string;
}

/** Everything {@link planSplit} needs. */
export interface PlanSplitInput {
  /** Migration name written in the plan. */
  readonly name: string;
  readonly source: Endpoint;
  /** The source database's catalog. */
  readonly catalog: Catalog;
  /** Available targets, in the order they receive groups (busiest group first). */
  readonly targets: readonly PlanTarget[];
  /** The workload; `null` for a known split without one (no load prediction then). */
  readonly workload: Workload | null;
  /** Known split: these moves exactly, plus `shards` (nothing is computed); may be empty when only shards are given. */
  readonly moves?: readonly MoveSpec[];
  /** Tables to shard by key ranges. */
  readonly shards?: readonly ShardSpec[];
  /** Servers after the split, the source included (2..1+targets). @defaultValue 1 + targets */
  readonly groups?: number;
  /** Most share (0..1] of today's load any server may carry; picks the smallest group count that fits. */
  readonly capacity?: number;
  /** Tables that must stay together. */
  readonly together?: readonly (readonly string[])[];
  /** Tables that must stay on the source (never moved). */
  readonly keep?: readonly string[];
  /** Let foreign-key-connected tables land apart; the crossing keys are named as dropped. */
  readonly allowForeignKeySplit?: boolean;
  /** Propose shard ranges for one table heavier than the capacity. @defaultValue true */
  readonly autoShard?: boolean;
  /** Where shard split points come from. @defaultValue {@link UniformRangeSource} */
  readonly rangeSource?: ShardRangeSource;
  /** Cost of load in statements that would cross servers, relative to imbalance. @defaultValue 1 */
  readonly crossPenalty?: number;
  readonly generatedBy?: string;
  /** Views of the source database (they stay on the source; other unknown names are dropped or temporary tables). */
  readonly views?: readonly string[];
  /**
   * A computed split from a workload thinner than `minExecutions`: `refuse` (PRECONDITION_FAILED)
   * or `warn` (plan it, with a warning). @defaultValue 'warn'
   */
  readonly thinWorkload?: 'refuse' | 'warn';
  /** @defaultValue {@link MIN_WORKLOAD_EXECUTIONS} */
  readonly minExecutions?: number;
}

/** One server (endpoint) in the report. */
export interface ServerReport extends EndpointLoad {
  readonly role: 'source' | 'target';
  /** Target name, or `source`. */
  readonly name: string;
}

/** A plan with everything the report shows. */
export interface SplitPlanResult {
  readonly plan: Plan;
  readonly mode: 'computed' | 'known';
  readonly servers: readonly ServerReport[];
  readonly prediction: LoadPrediction | null;
  readonly droppedForeignKeys: readonly DroppedForeignKey[];
  readonly shardKeys: readonly { readonly table: string; readonly column: string; readonly reason: string; readonly method: string }[];
  readonly unparsed: readonly UnparsedStatement[];
  readonly workload: { readonly origin: string; readonly statements: number; readonly executions: number; readonly timed: boolean } | null;
  readonly warnings: readonly string[];
  readonly parseStats: { readonly parses: number; readonly cacheHits: number } | null;
  /** How much workload the plan rests on (null without a workload). */
  readonly sufficiency: WorkloadSufficiency | null;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function invalid(message: string, hint: string): CleaveError<'INVALID_ARGUMENT'> {
  return new CleaveError('INVALID_ARGUMENT', message, { hint });
}

function checkTables(catalog: Catalog, names: readonly string[], where: string): void {
  const known = new Set(catalog.tables.map((t) => t.name));
  const unknown = [...new Set(names.filter((n) => !known.has(n)))];
  if (unknown.length > 0) {
    const list = catalog.tables.map((t) => t.name);
    throw invalid(
      `unknown table${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} in ${where}: database "${catalog.database}" has no such base table`,
      `Tables of ${catalog.database}: ${list.length > 12 ? `${list.slice(0, 12).join(', ')}, … (${list.length})` : list.join(', ') || 'none'}.`,
    );
  }
}

const NOT_ALIAS = new Set(['where', 'join', 'inner', 'left', 'right', 'cross', 'straight_join', 'natural', 'on', 'using', 'set', 'values', 'value', 'group', 'order', 'limit', 'having', 'union', 'for', 'lock', 'force', 'use', 'ignore', 'partition', 'select', 'window', 'into']);

/**
 * Load per literal key value of `table.key` from log workloads: every statement whose analysis
 * compares the key for equality contributes its literal values (referenced bare, by the table's
 * name or by one of its aliases). Load blends executions and, when timed, time (half each).
 */
function keyLoadOf(statements: readonly GraphStatement[], table: string, key: ShardKeyChoice): { load: Map<string, number>; executions: number } | null {
  const perValue = new Map<string, { executions: number; timeMs: number }>();
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const aliasRe = new RegExp(`(?:^|[\\s,(.])\`?${escaped}\`?\\s+(?:AS\\s+)?\`?([A-Za-z_$][\\w$]*)\`?`, 'gi');
  const valid = (v: string) => (key.type === 'integer' ? /^-?\d+$/.test(v) : key.type === 'binary' ? /^0x[0-9a-f]*$/.test(v) : true);
  let sawLiterals = false;
  for (const st of statements) {
    if (st.keyLiterals === undefined) continue;
    sawLiterals = true;
    if (!st.analysis.equalityColumns.some((u) => u.table === table && u.column.toLowerCase() === key.column.toLowerCase())) continue;
    const names = new Set([table.toLowerCase()]);
    for (const m of st.text.matchAll(aliasRe)) if (!NOT_ALIAS.has(m[1]!.toLowerCase())) names.add(m[1]!.toLowerCase());
    for (const [ref, values] of st.keyLiterals) {
      const dot = ref.lastIndexOf('.');
      const column = dot < 0 ? ref : ref.slice(dot + 1);
      if (column.toLowerCase() !== key.column.toLowerCase()) continue;
      if (dot >= 0 && !names.has(ref.slice(0, dot).split('.').pop()!.toLowerCase())) continue;
      if (dot < 0 && st.analysis.tables.length > 1 && !st.analysis.equalityColumns.some((u) => u.table === table && u.column === column)) continue;
      for (const [v, l] of values) {
        if (!valid(v)) continue;
        const t = perValue.get(v) ?? { executions: 0, timeMs: 0 };
        t.executions += l.executions;
        t.timeMs += l.timeMs;
        perValue.set(v, t);
      }
    }
  }
  if (!sawLiterals) return null;
  let executions = 0;
  let timeMs = 0;
  for (const l of perValue.values()) {
    executions += l.executions;
    timeMs += l.timeMs;
  }
  const load = new Map<string, number>();
  for (const [v, l] of perValue) load.set(v, timeMs > 0 ? 0.5 * (l.executions / executions) + 0.5 * (l.timeMs / timeMs) : l.executions / executions);
  return { load, executions };
}

class UnionFind {
  readonly #parent = new Map<string, string>();
  find(x: string): string {
    let p = this.#parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.#parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const x = this.find(a);
    const y = this.find(b);
    if (x !== y) this.#parent.set(x < y ? y : x, x < y ? x : y);
  }
}

/**
 * Plans a split: from the source catalog and its workload to a validated {@link Plan} plus the
 * report (per server: tables, rows, bytes, predicted share of executions and time; the
 * source load removed; the statements the split breaks).
 *
 * Computed split: tables are grouped (foreign keys and `together` bind tables, `keep` pins them
 * to the source) and the groups spread over `groups` servers (or the fewest that keep each
 * under `capacity`), balancing load while keeping statements on one server. The busiest group
 * goes to the first target. Known split: `moves` (and `shards`) are taken as given.
 *
 * The plan passes `parsePlan` and `preflightPlan` and is the same for the same input.
 *
 * @throws {CleaveError} `INVALID_ARGUMENT` (unknown tables, bad counts, impossible capacity),
 * `PRECONDITION_FAILED` (empty workload), `FOREIGN_KEY_CROSSES_SERVERS` (a known split that
 * separates foreign-key-connected tables without `allowForeignKeySplit`).
 *
 * @example
 * const result = await planSplit({ name: 'split-accounts', source: { server: 'source', database: 'accounts' },
 *   catalog, workload, targets: [{ name: 'target1', server: 'target1', database: 'accounts' }], groups: 2 });
 * console.log(formatPlanReport(result));
 */
export async function planSplit(input: PlanSplitInput): Promise<SplitPlanResult> {
  const { catalog } = input;
  if (input.targets.length === 0) {
    throw invalid('no target to move tables to', 'Name at least one target: --target NAME=SERVER[/DATABASE] (or --to SERVER for a known split).');
  }
  const targetNames = new Set<string>();
  for (const t of input.targets) {
    if (targetNames.has(t.name)) throw invalid(`target "${t.name}" is named twice`, 'Give each target a distinct name.');
    targetNames.add(t.name);
  }
  const known = input.moves !== undefined;
  checkTables(catalog, input.keep ?? [], 'the tables to keep on the source');
  for (const group of input.together ?? []) checkTables(catalog, group, 'the tables to keep together');
  for (const m of input.moves ?? []) {
    checkTables(catalog, m.tables, 'the tables to move');
    if (!targetNames.has(m.to)) throw invalid(`unknown target "${m.to}" in a move`, `Targets: ${[...targetNames].join(', ')}.`);
  }
  checkTables(catalog, (input.shards ?? []).map((s) => s.table), 'the tables to shard');
  for (const s of input.shards ?? []) {
    for (const t of s.targets ?? []) if (!targetNames.has(t)) throw invalid(`unknown target "${t}" for shard of ${s.table}`, `Targets: ${[...targetNames].join(', ')}.`);
  }
  const keep = new Set(input.keep ?? []);
  for (const m of input.moves ?? []) {
    const kept = m.tables.filter((t) => keep.has(t));
    if (kept.length > 0) throw invalid(`table${kept.length > 1 ? 's' : ''} ${kept.join(', ')} cannot both move and stay on the source`, 'Drop them from --keep or from --move.');
  }
  for (const s of input.shards ?? []) if (keep.has(s.table)) throw invalid(`table ${s.table} cannot both be sharded and stay on the source`, 'Drop it from --keep or from --shard.');

  const graph = buildTableGraph(catalog, input.workload, input.views === undefined ? {} : { views: input.views });
  const warnings = [...(input.workload?.warnings ?? [])];
  if (graph.missingTables.size > 0) {
    const named = [...graph.missingTables].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, n]) => `${t} (${Math.round(n)} executions)`);
    warnings.push(`statements name tables database "${catalog.database}" does not have (dropped or temporary tables; left out of the plan): ${named.join(', ')}`);
  }
  const tableWeight = graph.tables.filter((t) => !t.external).reduce((sum, t) => sum + t.weight, 0);
  if (input.workload !== null && tableWeight <= 0) {
    const origin = input.workload.origin === 'performance_schema' ? 'performance_schema holds no statement digests' : `the ${input.workload.origin} holds no statements`;
    throw new CleaveError('PRECONDITION_FAILED', `empty workload: ${origin} on tables of database "${catalog.database}"`, {
      hint:
        'Let the application run against the source first (digests accumulate from server start), check the database name, ' +
        'pass a slow-query log (--slow-log) or general-query log (--general-log), or write the split yourself (--move TABLES --to TARGET).',
    });
  }
  if (!known && input.workload === null) {
    throw invalid('a computed split needs a workload', 'Read it from performance_schema (the default), --slow-log or --general-log, or write the split yourself with --move TABLES --to TARGET.');
  }
  const sufficiency = input.workload === null ? null : workloadSufficiency(graph, input.minExecutions);
  if (sufficiency !== null) thinWorkloadCheck(sufficiency, input, known, catalog.database, warnings);
  const rangeSource = input.rangeSource ?? new UniformRangeSource();
  const tableByName = new Map(catalog.tables.map((t) => [t.name, t]));
  const nodeByName = new Map(graph.tables.map((t) => [t.name, t]));
  const targetEndpoint = (name: string): Endpoint => {
    const t = input.targets.find((x) => x.name === name)!;
    return { server: t.server, database: t.database };
  };

  // --- shards (given) ---
  interface Shard {
    table: CatalogTable;
    key: ShardKeyChoice;
    targets: string[];
    bounds: string[];
    rows: number[];
    /** Share of the table's load per range (rows, or the rows/key-load blend). */
    fractions: number[];
    method: string;
  }
  const shards: Shard[] = [];
  const makeShard = async (spec: ShardSpec): Promise<Shard> => {
    const table = tableByName.get(spec.table)!;
    const key = chooseShardKey(table, nodeByName.get(spec.table)?.equalityUse ?? new Map(), spec.column);
    const targets = [...(spec.targets ?? input.targets.map((t) => t.name))];
    if (targets.length < 2 && spec.targets === undefined) {
      throw invalid(`sharding ${spec.table} needs at least two targets (one range each)`, 'Add a target (--target NAME=SERVER), or move the table whole.');
    }
    const keyLoad = input.workload === null ? null : keyLoadOf(graph.statements, table.name, key);
    let estimate: ShardRangeEstimate;
    let fractions: number[];
    let balance: string;
    if (keyLoad !== null && keyLoad.load.size > 0) {
      const fine = await rangeSource.estimate(table, key, Math.min(64, targets.length * 8));
      const balanced = balanceRangesByLoad(key.type, fine, keyLoad.load, targets.length);
      estimate = balanced;
      fractions = [...balanced.weight];
      balance = `balanced by rows and per-key load (${keyLoad.load.size} key values, ${Math.round(keyLoad.executions)} key lookups from the ${input.workload!.origin}; load share per range ${balanced.load.map((l) => `${(l * 100).toFixed(1)}%`).join(', ')})`;
    } else {
      estimate = await rangeSource.estimate(table, key, targets.length);
      const total = estimate.rows.reduce((a, b) => a + b, 0);
      fractions = estimate.rows.map((r) => (total > 0 ? r / total : 1 / estimate.rows.length));
      balance =
        input.workload === null
          ? 'balanced by rows only (no workload)'
          : input.workload.origin === 'performance_schema'
            ? 'balanced by rows only (performance_schema digests carry no literal key values; pass --slow-log or --general-log to balance by per-key load)'
            : `balanced by rows only (no literal ${key.column} values seen in equality predicates on ${table.name})`;
    }
    const n = estimate.bounds.length + 1;
    if (n < targets.length) warnings.push(`${spec.table}: only ${n} distinct ranges found for ${targets.length} targets (few distinct key values)`);
    return { table, key, targets: targets.slice(0, n), bounds: [...estimate.bounds], rows: [...estimate.rows], fractions, method: `${estimate.method}; ${balance}` };
  };
  for (const spec of input.shards ?? []) shards.push(await makeShard(spec));

  // --- placement ---
  let tableTarget = new Map<string, string>(); // table -> target name (whole-table moves)
  if (known) {
    for (const m of input.moves!) for (const t of m.tables) {
      if (tableTarget.has(t)) throw invalid(`table ${t} is listed in two moves`, 'List each table in one --move only.');
      tableTarget.set(t, m.to);
    }
    for (const s of shards) if (tableTarget.has(s.table.name)) throw invalid(`table ${s.table.name} cannot both move whole and be sharded`, 'Drop it from --move or from --shard.');
  } else {
    tableTarget = await computeSplit(input, graph, shards, makeShard, warnings);
  }

  const placementTables = new Map<string, { endpoint: Endpoint; fraction: number; label?: string }[]>();
  for (const [table, target] of tableTarget) placementTables.set(table, [{ endpoint: targetEndpoint(target), fraction: 1 }]);
  for (const s of shards) {
    placementTables.set(
      s.table.name,
      s.targets.map((target, i) => ({
        endpoint: targetEndpoint(target),
        fraction: s.fractions[i] ?? 0,
        label: `${s.table.name} [${i === 0 ? '-inf' : s.bounds[i - 1]}, ${i === s.targets.length - 1 ? '+inf' : s.bounds[i]})`,
      })),
    );
  }
  const placement: Placement = { source: input.source, tables: placementTables };

  // --- foreign keys that cross servers ---
  const serversOf = (table: string) => new Set((placementTables.get(table) ?? [{ endpoint: input.source }]).map((p) => `${p.endpoint.server}/${p.endpoint.database}`));
  const dropped: { fk: DroppedForeignKey; owner: string }[] = [];
  for (const t of catalog.tables) {
    for (const fk of t.foreignKeys) {
      const child = serversOf(t.name);
      const parent = fk.referencedSchema === catalog.database ? serversOf(fk.referencedTable) : new Set([`${input.source.server}/${fk.referencedSchema}`]);
      const together = child.size === 1 && parent.size === 1 && [...child][0] === [...parent][0];
      if (together) continue;
      const owner = placementTables.has(t.name) ? t.name : fk.referencedTable;
      dropped.push({ fk: { table: t.name, name: fk.name }, owner });
    }
  }
  if (dropped.length > 0 && input.allowForeignKeySplit !== true) {
    throw new CleaveError(
      'FOREIGN_KEY_CROSSES_SERVERS',
      `this split carries foreign key${dropped.length > 1 ? 's' : ''} across servers: ${dropped.map((d) => `${d.fk.table}.${d.fk.name}`).join(', ')}`,
      { hint: 'Move the connected tables together, or pass --allow-fk-split to drop these keys on the target (the source keeps them until finalize).' },
    );
  }

  // --- the plan ---
  const moves: PlanMove[] = [];
  const usedTargets = new Set<string>();
  const movesByTarget = new Map<string, string[]>();
  for (const [table, target] of [...tableTarget].sort(([a], [b]) => (a < b ? -1 : 1))) {
    movesByTarget.set(target, [...(movesByTarget.get(target) ?? []), table]);
  }
  const droppedFor = (tables: readonly string[]) => {
    const list = dropped.filter((d) => tables.includes(d.owner)).map((d) => d.fk);
    return list.length > 0 ? { droppedForeignKeys: list } : {};
  };
  for (const t of input.targets) {
    const tables = movesByTarget.get(t.name);
    if (tables === undefined) continue;
    usedTargets.add(t.name);
    moves.push({ kind: 'tables', tables, to: t.name, ...droppedFor(tables) });
  }
  for (const s of shards) {
    s.targets.forEach((t) => usedTargets.add(t));
    moves.push({
      kind: 'shard',
      table: s.table.name,
      key: { column: s.key.column, type: s.key.type },
      ranges: s.targets.map((target, i) => ({ from: i === 0 ? null : s.bounds[i - 1]!, to: i === s.targets.length - 1 ? null : s.bounds[i]!, target })),
      ...droppedFor([s.table.name]),
    });
  }
  if (moves.length === 0) {
    throw invalid('nothing to move: every table stays on the source', 'Keep fewer tables (--keep), allow more groups (--groups), or name the move (--move TABLES --to TARGET).');
  }
  const staying = catalog.tables.filter((t) => !placementTables.has(t.name));
  if (staying.length === 0) {
    warnings.unshift(`every table of ${catalog.database} leaves the source: the source keeps none (${catalog.tables.length} tables move)`);
  }
  const prediction = input.workload === null ? null : predictLoad(graph, placement);
  const targets: PlanInput['targets'] = {};
  for (const t of input.targets) if (usedTargets.has(t.name)) targets[t.name] = { server: t.server, database: t.database };
  const planInput: PlanInput = {
    version: PLAN_VERSION,
    name: input.name,
    source: { server: input.source.server, database: input.source.database },
    targets,
    moves,
    ...(prediction === null ? {} : { prediction: toPlanPrediction(prediction) }),
    ...(input.generatedBy === undefined ? {} : { generatedBy: input.generatedBy }),
  };
  const plan = parsePlan(planInput);
  preflightPlan(plan, catalog);

  const servers: ServerReport[] = [];
  const loads = prediction?.endpoints ?? predictLoad(graph, placement).endpoints;
  for (const load of loads) {
    const isSource = load.endpoint.server === input.source.server && load.endpoint.database === input.source.database;
    const target = input.targets.find((t) => t.server === load.endpoint.server && t.database === load.endpoint.database);
    if (!isSource && (target === undefined || !usedTargets.has(target.name))) continue;
    servers.push({ ...load, role: isSource ? 'source' : 'target', name: isSource ? 'source' : target!.name, ...(prediction === null ? { executionsShare: 0, timeShare: null } : {}) });
  }
  return {
    plan,
    mode: known ? 'known' : 'computed',
    servers,
    prediction,
    droppedForeignKeys: dropped.map((d) => d.fk),
    shardKeys: shards.map((s) => ({ table: s.table.name, column: s.key.column, reason: s.key.reason, method: s.method })),
    unparsed: [...graph.unparsed].sort((a, b) => b.executions - a.executions || (a.digest < b.digest ? -1 : 1)),
    workload:
      input.workload === null
        ? null
        : { origin: input.workload.origin, statements: input.workload.statements.length, executions: graph.total.executions, timed: graph.timed },
    warnings,
    parseStats: input.workload === null ? null : graph.parseStats,
    sufficiency,
  };
}

/**
 * A computed split decides every table's server from the workload's loads: on a thin sample it
 * is refused (`thinWorkload: 'refuse'`) or planned with a warning; a known split only predicts
 * load from it, so a thin sample is a warning there. Idle tables are named for computed splits.
 */
function thinWorkloadCheck(s: WorkloadSufficiency, input: PlanSplitInput, known: boolean, database: string, warnings: string[]): void {
  const sample = `${s.executions.toLocaleString('en-US')} executions of ${s.statements} statements on tables of ${database}`;
  const idle = s.idleTables.length === 0 ? '' : `; ${s.idleTables.length} of ${s.tables} tables had none`;
  if (s.thin && !known && input.thinWorkload === 'refuse') {
    throw new CleaveError('PRECONDITION_FAILED', `the workload is too thin to plan a split: ${sample} (at least ${s.minExecutions.toLocaleString('en-US')} needed)${idle}`, {
      hint:
        'Let the application run against the source longer (or pass a fuller --slow-log / --general-log), write the split yourself ' +
        '(--move TABLES --to TARGET), or plan on this sample anyway with --allow-thin-workload.',
    });
  }
  if (s.thin) warnings.push(`thin workload: ${sample}, fewer than ${s.minExecutions.toLocaleString('en-US')}: ${known ? 'the load prediction rests' : 'the split rests'} on a small sample`);
  if (!known && s.idleTables.length > 0) {
    const list = s.idleTables.length > 12 ? `${s.idleTables.slice(0, 12).join(', ')}, …` : s.idleTables.join(', ');
    warnings.push(`${s.idleTables.length} of ${s.tables} tables had no statement in the workload (placed by foreign keys and size only): ${list}`);
  }
}

function toPlanPrediction(p: LoadPrediction): NonNullable<PlanInput['prediction']> {
  const perServer: NonNullable<PlanInput['prediction']>['perServer'] = {};
  for (const e of p.endpoints) {
    const s = perServer[e.endpoint.server];
    const tables = e.endpoint.database === p.endpoints[0]!.endpoint.database ? e.tables : e.tables.map((t) => `${e.endpoint.database}.${t}`);
    perServer[e.endpoint.server] = {
      tables: [...(s?.tables ?? []), ...tables].sort(),
      rows: (s?.rows ?? 0) + e.rows,
      bytes: (s?.bytes ?? 0) + e.bytes,
      executionsShare: round4(Math.min(1, (s?.executionsShare ?? 0) + e.executionsShare)),
      timeShare: round4(Math.min(1, (s?.timeShare ?? 0) + (e.timeShare ?? e.executionsShare))),
    };
  }
  return { perServer, sourceLoadRemovedShare: round4(p.sourceLoadRemovedShare), brokenStatements: [...p.brokenStatements] };
}

/** The computed vertical split (plus shards proposed for capacity): table -> target name. */
async function computeSplit(
  input: PlanSplitInput,
  graph: TableGraph,
  shards: { table: CatalogTable; targets: string[]; rows: number[]; fractions: number[] }[],
  makeShard: (spec: ShardSpec) => Promise<{ table: CatalogTable; key: ShardKeyChoice; targets: string[]; bounds: string[]; rows: number[]; fractions: number[]; method: string }>,
  warnings: string[],
): Promise<Map<string, string>> {
  const maxGroups = 1 + input.targets.length;
  if (input.groups !== undefined && (!Number.isInteger(input.groups) || input.groups < 2 || input.groups > maxGroups)) {
    throw invalid(
      `--groups must be between 2 and ${maxGroups} (the source plus ${input.targets.length} target${input.targets.length > 1 ? 's' : ''}), got ${input.groups}`,
      'Add targets (--target NAME=SERVER[/DATABASE]) for more groups.',
    );
  }
  if (input.capacity !== undefined && !(input.capacity > 0 && input.capacity <= 1)) {
    throw invalid(`--capacity must be a share of today's load between 0 and 1 (e.g. 0.5), got ${input.capacity}`, 'Pass the most share of the current source load one server may carry, e.g. --capacity 0.6.');
  }
  const total = graph.total.weight;
  const share = (w: number) => (total > 0 ? w / total : 0);
  const uf = new UnionFind();
  const catalogTables = graph.tables.filter((t) => !t.external);
  if (input.allowForeignKeySplit !== true) for (const e of graph.edges) if (e.foreignKeys.length > 0 && !e.a.includes('.') && !e.b.includes('.')) uf.union(e.a, e.b);
  for (const group of input.together ?? []) for (const t of group.slice(1)) uf.union(group[0]!, t);

  const run = (shardList: typeof shards) => {
    const sharded = new Set(shardList.map((s) => s.table.name));
    const atoms = new Map<string, { tables: string[]; load: number; bytes: number; fixed: boolean }>();
    for (const t of catalogTables) {
      if (sharded.has(t.name)) continue;
      const root = uf.find(t.name);
      const a = atoms.get(root) ?? { tables: [], load: 0, bytes: 0, fixed: false };
      a.tables.push(t.name);
      a.load += share(t.weight);
      a.bytes += t.bytes;
      if ((input.keep ?? []).includes(t.name)) a.fixed = true;
      atoms.set(root, a);
    }
    const ids = [...atoms.keys()].sort();
    const items: PartitionItem[] = ids.map((id) => ({ id, load: atoms.get(id)!.load, bytes: atoms.get(id)!.bytes, fixedPart: atoms.get(id)!.fixed ? 0 : null }));
    const index = new Map<string, number>();
    ids.forEach((id, i) => atoms.get(id)!.tables.forEach((t) => index.set(t, i)));
    const fixedLoad = Array.from({ length: maxGroups }, () => 0);
    fixedLoad[0] = share(graph.tablelessWeight) + graph.tables.filter((t) => t.external).reduce((s, t) => s + share(t.weight), 0);
    for (const s of shardList) {
      const node = graph.tables.find((t) => t.name === s.table.name)!;
      s.targets.forEach((target, i) => {
        const part = 1 + input.targets.findIndex((t) => t.name === target);
        fixedLoad[part]! += share(node.weight) * (s.fractions[i] ?? 0);
      });
    }
    const hyperedges: PartitionHyperedge[] = [];
    for (const st of graph.statements) {
      const members = [...new Set(st.analysis.tables.map((t) => index.get(t)).filter((i): i is number => i !== undefined))];
      if (members.length > 1) hyperedges.push({ items: members, load: share(st.weight) });
    }
    for (const tx of graph.transactions) {
      const members = [...new Set(tx.tables.map((t) => index.get(t)).filter((i): i is number => i !== undefined))];
      if (members.length > 1) hyperedges.push({ items: members, load: share(tx.weight) });
    }
    return { ids, atoms, items, hyperedges, fixedLoad };
  };

  const attempt = (shardList: typeof shards, groups: number) => {
    const model = run(shardList);
    // shard ranges sit on targets: those parts exist whatever the group count
    const usedByShards = Math.max(0, ...shardList.flatMap((s) => s.targets.map((t) => 1 + input.targets.findIndex((x) => x.name === t))));
    const parts = Math.max(groups, usedByShards + 1);
    const result = partitionItems({
      items: model.items,
      hyperedges: model.hyperedges,
      parts,
      fixedLoad: model.fixedLoad.slice(0, parts),
      ...(input.capacity === undefined ? {} : { capacity: input.capacity }),
      crossPenalty: input.crossPenalty ?? 1,
    });
    return { model, result, parts };
  };

  let chosen: ReturnType<typeof attempt> | undefined;
  if (input.capacity === undefined) {
    chosen = attempt(shards, input.groups ?? maxGroups);
  } else {
    const cap = input.capacity;
    const fits = (a: ReturnType<typeof attempt>) => Math.max(...a.result.loads) <= cap + 1e-9;
    const low = input.groups ?? 2;
    const high = input.groups ?? maxGroups;
    for (let k = low; k <= high && chosen === undefined; k += 1) {
      const a = attempt(shards, k);
      if (fits(a)) chosen = a;
    }
    if (chosen === undefined && input.autoShard !== false && shards.length === 0) {
      // one table alone above the capacity: propose key ranges for it
      const model = run([]);
      const heavy = model.ids.map((id) => model.atoms.get(id)!).filter((a) => a.load > cap && !a.fixed && a.tables.length === 1).sort((x, y) => y.load - x.load)[0];
      if (heavy !== undefined) {
        const table = heavy.tables[0]!;
        const pieces = Math.ceil(heavy.load / cap);
        if (pieces <= input.targets.length) {
          const shard = await makeShard({ table, targets: input.targets.slice(0, Math.max(2, pieces)).map((t) => t.name) });
          shards.push(shard);
          warnings.push(`${table} alone carries ${(heavy.load * 100).toFixed(1)}% of the load, above the capacity: proposed ${shard.targets.length} key ranges of ${shard.key.column}`);
          for (let k = low; k <= high && chosen === undefined; k += 1) {
            const a = attempt(shards, k);
            if (fits(a)) chosen = a;
          }
        }
      }
    }
    if (chosen === undefined) {
      const best = attempt(shards, high);
      const fixed = best.model.fixedLoad[0]!;
      const heaviest = best.model.ids.map((id) => best.model.atoms.get(id)!).sort((x, y) => y.load - x.load)[0];
      const why =
        fixed > cap
          ? `statements that stay on the source (no table, or tables of other databases) alone carry ${(fixed * 100).toFixed(1)}%`
          : heaviest !== undefined && heaviest.load > cap
            ? `${heaviest.tables.length > 1 ? `the tables ${heaviest.tables.join(', ')}, which must stay together,` : `table ${heaviest.tables[0]}`} alone carr${heaviest.tables.length > 1 ? 'y' : 'ies'} ${(heaviest.load * 100).toFixed(1)}%`
            : `the best split over ${high} servers still puts ${(Math.max(...best.result.loads) * 100).toFixed(1)}% on one server`;
      throw invalid(
        `capacity ${cap} is impossible: ${why} of today's load`,
        'Raise --capacity, add targets (--target NAME=SERVER), shard the heavy table (--shard TABLE), or allow foreign-key-connected tables to split (--allow-fk-split).',
      );
    }
  }
  const { model, result, parts } = chosen;
  // Label parts: the source keeps part 0 unless nothing pins it, then the lightest table group
  // stays (the busiest leaves). Targets get the groups by decreasing load.
  let sourcePart = 0;
  const pinned = model.items.some((item) => item.fixedPart === 0);
  const tableLoad = Array.from({ length: parts }, () => 0);
  model.items.forEach((item, i) => (tableLoad[result.partOf[i]!]! += item.load));
  const shardParts = new Set(shards.flatMap((s) => s.targets.map((t) => 1 + input.targets.findIndex((x) => x.name === t))));
  if (!pinned && model.fixedLoad[0]! === 0) {
    for (let p = 1; p < parts; p += 1) if (!shardParts.has(p) && tableLoad[p]! < tableLoad[sourcePart]! - 1e-12) sourcePart = p;
  }
  const order = Array.from({ length: parts }, (_, p) => p).filter((p) => p !== sourcePart && !shardParts.has(p));
  order.sort((a, b) => tableLoad[b]! - tableLoad[a]! || a - b);
  const freeTargets = input.targets.map((t, i) => ({ t, part: i + 1 })).filter((x) => !shardParts.has(x.part));
  const targetOfPart = new Map<number, string>();
  order.forEach((p, i) => {
    const t = freeTargets[i];
    if (t !== undefined) targetOfPart.set(p, t.t.name);
  });
  for (const p of shardParts) targetOfPart.set(p, input.targets[p - 1]!.name);
  const out = new Map<string, string>();
  model.ids.forEach((id, i) => {
    // a group without load has no reason to move: it stays on the source
    if (model.items[i]!.load <= 0) return;
    const target = targetOfPart.get(result.partOf[i]!);
    if (target !== undefined && result.partOf[i] !== sourcePart) for (const t of model.atoms.get(id)!.tables) out.set(t, target);
  });
  if (result.cut > 0) warnings.push(`${(result.cut * 100).toFixed(1)}% of the load is in statements that would cross servers (listed below)`);
  return out;
}
