import { PHASE_ROUTING, normalizeKeyValue, tablePlacement, type KeyType, type MigrationPhase, type MigrationSide, type PhaseRouting, type Plan, type TablePlacement } from '@cleave/core';
import type { TableName } from './query-analysis.js';

/** A migration as the router routes by it (a control store `MigrationRecord` fits). */
export interface RoutedMigration {
  readonly id: string;
  readonly name: string;
  readonly plan: Plan;
  readonly phase: MigrationPhase;
  /** Bumped on every phase change; the router acknowledges the epoch it applied. */
  readonly epoch: number;
  /** A binlog capture stream carries the primary's writes to the other side (see {@link CoveredTable.shadowWrites}). */
  readonly capture?: boolean;
  /** The placement guard's epoch: the router's shadow writes carry it (the shadow side refuses writes without it). */
  readonly guardEpoch?: number;
  /** The routing channel prefix its fences go out on; a router on another one refuses its writes. */
  readonly routingPrefix?: string | null;
  /** A cancelled migration covers nothing (its tables route as if it never existed). */
  readonly cancelledAt?: Date | null;
}

/** A database on a named server. */
export interface Endpoint {
  readonly server: string;
  readonly database: string;
}

/** A table that a migration covers, with where its sides are. */
export interface CoveredTable {
  readonly migration: RoutedMigration;
  readonly table: string;
  readonly source: Endpoint;
  readonly routing: PhaseRouting;
  /**
   * Whether a routed write also brings its rows to the shadow itself, after the primary commit.
   * Without capture: in every phase with a shadow. With capture, only where readers read the
   * shadow (`reads_switched`), for read-your-writes; elsewhere the capture alone does it.
   */
  readonly shadowWrites: boolean;
  /** How the shard key's values are read from statements (`tables`: moved whole, no key). */
  readonly move: { readonly kind: 'tables' } | { readonly kind: 'shard'; readonly column: string; readonly type: KeyType };
  /** Where its rows live: core's placement, the one verification, repair and capture ask too. */
  readonly placement: TablePlacement;
}

/**
 * The endpoints holding `side` of a covered table: the source, or the targets holding
 * `shardKeys` (every target when `shardKeys` is undefined), in the plan's range order.
 */
export function sideEndpoints(covered: CoveredTable, side: MigrationSide, shardKeys?: readonly string[]): readonly Endpoint[] {
  if (side === 'source') return [covered.source];
  const { targets } = covered.placement;
  if (shardKeys === undefined || covered.move.kind === 'tables') return targets;
  const hit = new Set(shardKeys.map((k) => covered.placement.targetOf(k)));
  return targets.filter((t) => hit.has(t));
}

/** Normalises a JS value found in a query to a shard key value; `undefined` when it cannot be one. */
export function shardKeyValue(type: KeyType, value: unknown): string | undefined {
  try {
    if (typeof value === 'bigint') return normalizeKeyValue(type, value.toString());
    if (type === 'binary' && Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
    if (typeof value === 'string' || typeof value === 'number') return normalizeKeyValue(type, value);
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Which migration covers which table. Built from the migrations' plans; tables are keyed by
 * `database.table`. When two migrations cover a table the newest (last listed) wins.
 */
export class RoutingTable {
  readonly #tables = new Map<string, CoveredTable>();
  readonly migrations: readonly RoutedMigration[];
  /** Tables two migrations cover (`cleave start` refuses that; a store written otherwise may hold it): who is followed. */
  readonly overlaps: Array<{ readonly table: string; readonly followed: string; readonly ignored: string }> = [];

  constructor(migrations: readonly RoutedMigration[]) {
    this.migrations = migrations;
    for (const migration of migrations) {
      if (migration.cancelledAt !== undefined && migration.cancelledAt !== null) continue;
      const { plan } = migration;
      const routing = PHASE_ROUTING[migration.phase];
      const shadowWrites = routing.shadow !== null && (migration.capture !== true || routing.reads === routing.shadow);
      const cover = (table: string, move: CoveredTable['move']) => {
        const placement = tablePlacement(plan, table);
        if (placement === undefined) throw new Error(`plan ${plan.name} does not place table ${table}`);
        const key = `${plan.source.database}.${table}`;
        const earlier = this.#tables.get(key);
        if (earlier !== undefined && earlier.migration.id !== migration.id) this.overlaps.push({ table: key, followed: migration.name, ignored: earlier.migration.name });
        this.#tables.set(key, { migration, table, source: placement.source, routing, shadowWrites, move, placement });
      };
      for (const move of plan.moves) {
        for (const target of move.kind === 'tables' ? [move.to] : move.ranges.map((r) => r.target)) {
          if (plan.targets[target] === undefined) throw new Error(`plan ${plan.name} names unknown target ${target}`);
        }
        if (move.kind === 'tables') for (const table of move.tables) cover(table, { kind: 'tables' });
        else cover(move.table, { kind: 'shard', column: move.key.column, type: move.key.type });
      }
    }
  }

  /** The covering migration of a table named in a query (`defaultDatabase` for unqualified names). */
  lookup(name: TableName, defaultDatabase: string): CoveredTable | undefined {
    return this.#tables.get(`${name.schema ?? defaultDatabase}.${name.table}`);
  }

  /** Every covered table (for messages and raw SQL checks). */
  covered(): CoveredTable[] {
    return [...this.#tables.values()];
  }
}
