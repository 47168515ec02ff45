import { PHASE_ROUTING, keyInRange, normalizeKeyValue, type KeyType, type MigrationPhase, type MigrationSide, type PhaseRouting, type Plan } from '@cleave/core';
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

/** One range of a sharded table. */
export interface ShardTarget {
  readonly from: string | null;
  readonly to: string | null;
  readonly target: Endpoint;
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
  readonly move:
    | { readonly kind: 'tables'; readonly target: Endpoint }
    | { readonly kind: 'shard'; readonly column: string; readonly type: KeyType; readonly ranges: readonly ShardTarget[] };
}

const sameEndpoint = (a: Endpoint, b: Endpoint) => a.server === b.server && a.database === b.database;

/** Deduplicated endpoints. */
export function uniqueEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const e of endpoints) if (!out.some((o) => sameEndpoint(o, e))) out.push(e);
  return out;
}

/**
 * The endpoints holding `side` of a covered table: the source, the tables-move target, or the
 * shard targets whose ranges hold `shardKeys` (all shard targets when `shardKeys` is undefined).
 */
export function sideEndpoints(covered: CoveredTable, side: MigrationSide, shardKeys?: readonly string[]): Endpoint[] {
  if (side === 'source') return [covered.source];
  const move = covered.move;
  if (move.kind === 'tables') return [move.target];
  const ranges = shardKeys === undefined ? move.ranges : move.ranges.filter((r) => shardKeys.some((k) => keyInRange(move.type, r, k)));
  return uniqueEndpoints(ranges.map((r) => r.target));
}

/** The shard target endpoint of one key value. */
export function shardEndpoint(covered: CoveredTable, keyValue: string): Endpoint | undefined {
  if (covered.move.kind !== 'shard') return undefined;
  const move = covered.move;
  return move.ranges.find((r) => keyInRange(move.type, r, keyValue))?.target;
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
      const source: Endpoint = { server: plan.source.server, database: plan.source.database };
      const routing = PHASE_ROUTING[migration.phase];
      const shadowWrites = routing.shadow !== null && (migration.capture !== true || routing.reads === routing.shadow);
      const endpoint = (name: string): Endpoint => {
        const t = plan.targets[name];
        if (t === undefined) throw new Error(`plan ${plan.name} names unknown target ${name}`);
        return { server: t.server, database: t.database };
      };
      const cover = (key: string, covered: CoveredTable) => {
        const earlier = this.#tables.get(key);
        if (earlier !== undefined && earlier.migration.id !== migration.id) this.overlaps.push({ table: key, followed: migration.name, ignored: earlier.migration.name });
        this.#tables.set(key, covered);
      };
      for (const move of plan.moves) {
        if (move.kind === 'tables') {
          for (const table of move.tables) {
            cover(`${source.database}.${table}`, { migration, table, source, routing, shadowWrites, move: { kind: 'tables', target: endpoint(move.to) } });
          }
        } else {
          cover(`${source.database}.${move.table}`, {
            migration,
            table: move.table,
            source,
            routing,
            shadowWrites,
            move: { kind: 'shard', column: move.key.column, type: move.key.type, ranges: move.ranges.map((r) => ({ from: r.from, to: r.to, target: endpoint(r.target) })) },
          });
        }
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
