import { CleaveError, PHASE_ROUTING, type MigrationPhase, type Plan } from '@cleave/core';
import { allowWrites, markShadowReads, prepareGuard as prepareSide, removeGuard, setGuard, type GuardedTables, type TransactionalPool } from '@cleave/mysql';
import type { ServerQueryable } from './cutover-store.js';

/**
 * How long a guard change waits for the metadata lock of a table (its triggers change) or for the
 * guard row (the writes in flight that read it). Inside a fence: past it the switch aborts.
 */
export const GUARD_LOCK_WAIT_SECONDS = 2;

/** One database of a migration with the moved tables it holds, and whether it is the write primary in a phase. */
export interface GuardSide {
  readonly server: string;
  readonly primary: boolean;
  /** A shadow that serves the application's reads in the phase (the target in `reads_switched`). */
  readonly servesReads: boolean;
  readonly tables: GuardedTables;
}

/**
 * The guarded databases of a migration in `phase`: the source database and each target database,
 * with the moved tables each holds (a shard table on each of its targets). The side that is not
 * the write primary refuses writes without the guard epoch; `planned` counts the source as primary.
 */
export function guardSides(plan: Plan, migrationId: string, phase: MigrationPhase): GuardSide[] {
  const sourcePrimary = PHASE_ROUTING[phase].primary === 'source';
  const sourceRead = PHASE_ROUTING[phase].reads === 'source';
  const sides = new Map<string, { server: string; database: string; isSource: boolean; tables: Set<string> }>();
  const add = (server: string, database: string, isSource: boolean, table: string) => {
    const key = `${server}/${database}`;
    const side = sides.get(key) ?? { server, database, isSource, tables: new Set<string>() };
    side.tables.add(table);
    sides.set(key, side);
  };
  for (const move of plan.moves) {
    const tables = move.kind === 'tables' ? move.tables : [move.table];
    const targets = move.kind === 'tables' ? [move.to] : [...new Set(move.ranges.map((r) => r.target))];
    for (const table of tables) {
      add(plan.source.server, plan.source.database, true, table);
      for (const name of targets) {
        const target = plan.targets[name];
        if (target !== undefined) add(target.server, target.database, false, table);
      }
    }
  }
  return [...sides.values()].map((s) => ({
    server: s.server,
    primary: s.isSource === sourcePrimary,
    servesReads: s.isSource !== sourcePrimary && s.isSource === sourceRead,
    tables: { migrationId, migrationName: plan.name, database: s.database, tables: [...s.tables].sort() },
  }));
}

/** How a guard change marks the shadows' reads. */
export interface GuardReadsOptions {
  /**
   * A phase whose routing some routers may still follow (a rollback of the reads whose epoch not
   * every router acknowledged yet): a shadow that serves reads in it keeps the read mark, so the
   * capture keeps syncing it under its lock until the mark is cleared after the acks.
   */
  readonly stillReadIn?: MigrationPhase;
}

/** `sides`, each also serving reads where it does in `stillReadIn`. */
function withReadsOf(sides: GuardSide[], plan: Plan, migrationId: string, stillReadIn: MigrationPhase | undefined): GuardSide[] {
  if (stillReadIn === undefined) return sides;
  const read = new Set(guardSides(plan, migrationId, stillReadIn).filter((s) => s.servesReads).map((s) => `${s.server}/${s.tables.database}`));
  return sides.map((side) => (!side.primary && read.has(`${side.server}/${side.tables.database}`) ? { ...side, servesReads: true } : side));
}

/** A data server's pool as the guard needs it (one connection for its DDL). */
function guardPool(servers: (server: string) => ServerQueryable, server: string): TransactionalPool {
  const pool = servers(server) as unknown as Partial<TransactionalPool>;
  if (typeof pool.getConnection !== 'function') {
    throw new CleaveError('CONFIG_INVALID', `the coordinator's connection to server "${server}" cannot hand out a dedicated connection; the placement guard needs a pool`);
  }
  return pool as TransactionalPool;
}

const describe = (side: GuardSide) => `${side.server}/${side.tables.database} (${side.tables.tables.join(', ')})`;
const OPTIONS = { lockWaitSeconds: GUARD_LOCK_WAIT_SECONDS };

/**
 * Before a switch holds writes: the triggers on every side that `phase` denies, still letting
 * writes through (the slow DDL, out of the write pause). Idempotent.
 */
export async function prepareGuard(plan: Plan, migrationId: string, phase: MigrationPhase, servers: (server: string) => ServerQueryable): Promise<string[]> {
  const denied = guardSides(plan, migrationId, phase).filter((s) => !s.primary);
  await Promise.all(denied.map((side) => prepareSide(guardPool(servers, side.server), side.tables, OPTIONS)));
  return denied.map(describe);
}

/**
 * With writes held: every side that `phase` denies refuses writes without `epoch`, every primary
 * side lets them through: one row update per side, side by side. Each waits for the writes in
 * flight that read its row. The denied sides' triggers must be in place ({@link prepareGuard}).
 */
export async function flipGuard(plan: Plan, migrationId: string, phase: MigrationPhase, epoch: number, servers: (server: string) => ServerQueryable, options: GuardReadsOptions = {}): Promise<string[]> {
  const sides = withReadsOf(guardSides(plan, migrationId, phase), plan, migrationId, options.stillReadIn);
  await Promise.all(sides.map((side) => setGuard(guardPool(servers, side.server), side.tables, { denied: !side.primary, servesReads: side.servesReads, epoch }, OPTIONS)));
  return sides.map((side) => `${describe(side)} ${side.primary ? 'takes every write (primary)' : `refuses writes without guard epoch ${epoch}${side.servesReads ? ', serves reads' : ''}`}`);
}

/**
 * With writes held, first thing when the primary moves: the old primary's sides refuse writes
 * without `epoch` (their triggers are in place from {@link prepareGuard}). Writers the fence does
 * not hold (outside the router) get an error from here on instead of committing writes that the
 * counter alignment and the capture's catch-up, which come next, would miss.
 */
export async function denyOldPrimary(plan: Plan, migrationId: string, from: MigrationPhase, to: MigrationPhase, epoch: number, servers: (server: string) => ServerQueryable): Promise<string[]> {
  const wasPrimary = new Set(guardSides(plan, migrationId, from).filter((s) => s.primary).map((s) => `${s.server}/${s.tables.database}`));
  const closing = guardSides(plan, migrationId, to).filter((s) => !s.primary && wasPrimary.has(`${s.server}/${s.tables.database}`));
  await Promise.all(closing.map((side) => setGuard(guardPool(servers, side.server), side.tables, { denied: true, servesReads: side.servesReads, epoch }, OPTIONS)));
  return closing.map((side) => `${describe(side)} refuses writes without guard epoch ${epoch}`);
}

/**
 * When the reads move and the primary stays: marks on every shadow side whether it serves reads
 * in `phase` (a guard row's state 2 or 1, see `markShadowReads`), which decides whether the binlog
 * capture may sync it unlocked. A switch of the reads to the shadow marks it before it holds
 * writes; a rollback of the reads clears the mark once every router acknowledged the new routing.
 * Each update waits for the syncs in flight that read the row (at most
 * {@link GUARD_LOCK_WAIT_SECONDS}). Returns what it marked.
 */
export async function markReads(plan: Plan, migrationId: string, phase: MigrationPhase, servers: (server: string) => ServerQueryable): Promise<string[]> {
  const shadows = guardSides(plan, migrationId, phase).filter((s) => !s.primary);
  await Promise.all(shadows.map((side) => markShadowReads(guardPool(servers, side.server), side.tables, side.servesReads, OPTIONS)));
  return shadows.map((side) => `${describe(side)} ${side.servesReads ? 'serves reads' : 'serves no reads'}`);
}

/** After a switch: the primary sides' triggers go (their writes cost nothing extra again). */
export async function releaseGuard(plan: Plan, migrationId: string, phase: MigrationPhase, servers: (server: string) => ServerQueryable): Promise<void> {
  const primary = guardSides(plan, migrationId, phase).filter((s) => s.primary);
  await Promise.all(primary.map((side) => allowWrites(guardPool(servers, side.server), side.tables, OPTIONS)));
}

/**
 * Makes the guards match `phase` from any state (a start, an aborted switch, a recovery):
 * prepare, flip, release. Idempotent. See {@link GuardReadsOptions} for the read mark.
 */
export async function enforceGuard(plan: Plan, migrationId: string, phase: MigrationPhase, epoch: number, servers: (server: string) => ServerQueryable, options: GuardReadsOptions = {}): Promise<string[]> {
  await prepareGuard(plan, migrationId, phase, servers);
  const done = await flipGuard(plan, migrationId, phase, epoch, servers, options);
  await releaseGuard(plan, migrationId, phase, servers);
  return done;
}

/** Removes the guards of a migration from every side (a rollback to `planned`). */
export async function removeGuards(plan: Plan, migrationId: string, servers: (server: string) => ServerQueryable): Promise<void> {
  for (const side of guardSides(plan, migrationId, 'planned')) await removeGuard(guardPool(servers, side.server), side.tables, OPTIONS);
}
