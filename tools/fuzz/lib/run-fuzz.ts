import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, MysqlDialect } from 'kysely';
import { MIGRATION_PHASES, type MigrationPhase } from '@cleave/core';
import { createPool, type Pool } from 'mysql2';
import { mysqlErrno } from '@cleave/mysql';
import { CleaveDialect, RouterError, type RoutedMigration, type RouterPool } from '@cleave/router';
import type { TestDatabases } from '@cleave/testing';
import { FuzzWorld, fuzzPlan, type FuzzTable } from './fuzz-world.js';
import { Prng } from './prng.js';
import { nextStatement, type FuzzDB, type FuzzStatement } from './statement-grammar.js';

/** What one fuzz run found. `misrouted` and `divergent` must be 0. */
export interface FuzzSummary {
  readonly seed: number;
  /** Statements run (through the router, and on the reference copy unless refused). */
  statements: number;
  reads: number;
  writes: number;
  /** Refused by the router before they ran (a RouterError; nothing changed, checked). */
  refused: number;
  /** Failed the same way through the router and on the reference copy (a duplicate key, a foreign key). */
  failedAlike: number;
  /**
   * Ran somewhere other than where the phase says, or not as the unsplit copy runs it: a read
   * whose answer differs from the reference copy's, a write after which the primary side differs
   * from it, a statement that failed on one and not the other, a refused statement that changed rows.
   */
  misrouted: number;
  /** A write after which the shadow side differs from the primary (or holds a row outside its shard). */
  divergent: number;
  readonly phases: readonly MigrationPhase[];
  /** Per grammar rule: runs, refusals, and the reason of the refusals. */
  readonly rules: Record<string, { runs: number; refused: number; reasons: string[] }>;
  /** The first differences, for a person to read. */
  readonly examples: string[];
}

const MAX_EXAMPLES = 20;

/** Normalised read rows: Buffers as hex, bigints as text; sorted unless their order is the answer. */
function normalise(rows: readonly unknown[], ordered: boolean): string[] {
  const text = rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  return ordered ? text : text.sort();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error);
}

/**
 * Runs `statements` statements from the grammar (seeded by `seed`) through the router over the
 * sample schema, spread over every phase of a migration (tables moved whole, a sharded table,
 * tables left home), each also run on an unsplit reference copy, and counts what differs.
 */
export async function runRouterFuzz(dbs: TestDatabases, options: { seed: number; statements: number; log?: (line: string) => void }): Promise<FuzzSummary> {
  const log = options.log ?? (() => undefined);
  const prng = new Prng(options.seed);
  const summary: FuzzSummary = { seed: options.seed, statements: 0, reads: 0, writes: 0, refused: 0, failedAlike: 0, misrouted: 0, divergent: 0, phases: MIGRATION_PHASES, rules: {}, examples: [] };
  const world = await FuzzWorld.open(dbs);
  // Plain mysql2 pools, as a service makes them (cleave's own pools set copier session modes).
  const pools: Pool[] = [];
  const pool = (url: string) => {
    const made = createPool({ uri: url, connectionLimit: 4, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
    pools.push(made);
    return made;
  };
  const journalDir = mkdtempSync(path.join(os.tmpdir(), 'cleave-fuzz-'));
  const plan = fuzzPlan(dbs.name);
  const servers = Object.fromEntries(
    (['source', 'target1', 'target2'] as const).map((s) => [s, pool(dbs[s].url) as unknown as RouterPool]),
  );
  const refUrl = dbs.source.url.replace(new RegExp(`/${dbs.name}$`), `/${world.refDatabase}`);
  const reference = new Kysely<FuzzDB>({ dialect: new MysqlDialect({ pool: pool(refUrl) }) });
  const note = (example: string) => {
    if (summary.examples.length < MAX_EXAMPLES) summary.examples.push(example);
  };
  try {
    let n = 0;
    for (const [index, phase] of MIGRATION_PHASES.entries()) {
      const count = Math.floor(options.statements / MIGRATION_PHASES.length) + (index < options.statements % MIGRATION_PHASES.length ? 1 : 0);
      await world.resetAll(index);
      const migration: RoutedMigration = { id: 'f0220f0220f0', name: 'fuzz', plan, phase, epoch: 1 + index, capture: false };
      const routed = new Kysely<FuzzDB>({
        dialect: new CleaveDialect({ servers, store: { listMigrations: async () => [migration] }, journalPath: path.join(journalDir, `${phase}.jsonl`), pollMs: 60_000 }),
      });
      const before = { ...summary };
      try {
        for (let i = 0; i < count; i += 1, n += 1) {
          const statement = nextStatement(prng, n);
          await runOne(statement, phase, routed, reference, world, summary, note);
        }
      } finally {
        await routed.destroy();
      }
      log(
        `phase ${phase}: ${summary.statements - before.statements} statements, ${summary.refused - before.refused} refused, ${summary.failedAlike - before.failedAlike} failed alike, ${summary.misrouted - before.misrouted} misrouted, ${summary.divergent - before.divergent} divergent`,
      );
    }
  } finally {
    await reference.destroy(); // ends its pool
    await Promise.all(pools.slice(0, -1).map((p) => new Promise((resolve) => p.end(resolve))));
    await world.dropReference();
    rmSync(journalDir, { recursive: true, force: true });
  }
  return summary;
}

async function runOne(statement: FuzzStatement, phase: MigrationPhase, routed: Kysely<FuzzDB>, reference: Kysely<FuzzDB>, world: FuzzWorld, summary: FuzzSummary, note: (example: string) => void): Promise<void> {
  summary.statements += 1;
  if (statement.kind === 'read') summary.reads += 1;
  else summary.writes += 1;
  const rule = (summary.rules[statement.rule] ??= { runs: 0, refused: 0, reasons: [] });
  rule.runs += 1;
  const where = `${phase} ${statement.rule}`;
  let rows: readonly unknown[] | undefined;
  let error: unknown;
  try {
    rows = await statement.run(routed);
  } catch (caught) {
    error = caught;
  }
  if (error instanceof RouterError) {
    summary.refused += 1;
    rule.refused += 1;
    if (!rule.reasons.includes(error.reason)) rule.reasons.push(error.reason);
    // Refused before it ran: nothing it could touch changed.
    await compareTouched(statement.touches, phase, world, summary, (d) => `${where}: refused (${error.reason}) but changed ${d}`, note);
    return;
  }
  let refRows: readonly unknown[] | undefined;
  let refError: unknown;
  try {
    refRows = await statement.run(reference);
  } catch (caught) {
    refError = caught;
  }
  if (error !== undefined || refError !== undefined) {
    if (error !== undefined && refError !== undefined && mysqlErrno(error) !== undefined && mysqlErrno(error) === mysqlErrno(refError)) summary.failedAlike += 1;
    else {
      summary.misrouted += 1;
      note(`${where}: through the router ${error === undefined ? 'succeeded' : `failed (${messageOf(error)})`}, on the reference copy ${refError === undefined ? 'succeeded' : `failed (${messageOf(refError)})`}`);
    }
  } else if (statement.kind === 'read') {
    const got = normalise(rows ?? [], statement.ordered === true);
    const expected = normalise(refRows ?? [], statement.ordered === true);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      summary.misrouted += 1;
      note(`${where}: read ${got.length} row(s) ${JSON.stringify(got.slice(0, 3)).slice(0, 300)}, the reference copy ${expected.length}: ${JSON.stringify(expected.slice(0, 3)).slice(0, 300)}`);
    }
  }
  await compareTouched(statement.touches, phase, world, summary, (d) => `${where}: ${d}`, note);
}

/**
 * Compares every table a statement could touch. A statement is counted once (misrouted before
 * divergent); every table that differs is copied back from the reference, so one defect does not
 * show again in the statements after it.
 */
async function compareTouched(tables: readonly FuzzTable[], phase: MigrationPhase, world: FuzzWorld, summary: FuzzSummary, describe: (detail: string) => string, note: (example: string) => void): Promise<void> {
  const differences = [];
  for (const table of tables) {
    const difference = await world.compare(table, phase);
    if (difference !== undefined) differences.push(difference);
  }
  if (differences.length === 0) return;
  if (differences.some((d) => d.role === 'primary')) summary.misrouted += 1;
  else summary.divergent += 1;
  for (const difference of differences) {
    note(describe(`${difference.table} (${difference.role}, ${difference.side}): ${difference.detail}`));
    await world.copyFromReference(difference.table, 'source');
    await world.copyFromReference(difference.table, 'target');
  }
}
