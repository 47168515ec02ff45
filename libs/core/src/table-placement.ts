import { keyInRange } from './key-range.js';
import { PHASE_ROUTING, type MigrationPhase } from './migration-phase.js';
import type { Plan, PlanEndpoint } from './plan-schema.js';

/** One value of a row's column as callers hold it: decimal text, text, or the stored bytes. */
export type PlacementValue = string | number | bigint | Uint8Array;

/**
 * Where one moved table lives: its source endpoint and, for a row, the target endpoint that
 * holds it (the move's target, or the shard range its shard column falls in).
 */
export interface TablePlacement {
  readonly table: string;
  readonly source: PlanEndpoint;
  /** Every target endpoint the table has (one for a moved table, one per shard target). */
  readonly targets: readonly PlanEndpoint[];
  /** The shard column, or `null` for a table moved whole. */
  readonly shardColumn: string | null;
  /**
   * The target that holds a row whose shard column has `shardValue` (ignored for a table moved
   * whole); `undefined` when the value falls in no range or is missing.
   */
  targetOf(shardValue?: PlacementValue | null): PlanEndpoint | undefined;
}

/** Primary and shadow endpoints of one row of a moved table in one phase. */
export interface RowPlacement {
  readonly primary: PlanEndpoint;
  /** `null` in phases without a shadow (planned, finalized). */
  readonly shadow: PlanEndpoint | null;
}

function shardText(value: PlacementValue): string {
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  return String(value);
}

/**
 * The placement of `table` under `plan`, or `undefined` when the plan does not move it. The one
 * function every component (router, verification, repair, capture, cutover) asks "where does
 * this row live".
 *
 * @example
 * ```ts
 * const place = tablePlacement(plan, 'sessions');
 * place?.targetOf('1500'); // the endpoint of the shard range holding user_id 1500
 * ```
 */
export function tablePlacement(plan: Plan, table: string): TablePlacement | undefined {
  for (const move of plan.moves) {
    if (move.kind === 'tables' && move.tables.includes(table)) {
      const target = plan.targets[move.to];
      if (target === undefined) return undefined;
      return { table, source: plan.source, targets: [target], shardColumn: null, targetOf: () => target };
    }
    if (move.kind === 'shard' && move.table === table) {
      const names = [...new Set(move.ranges.map((r) => r.target))];
      return {
        table,
        source: plan.source,
        targets: names.map((n) => plan.targets[n]).filter((t): t is PlanEndpoint => t !== undefined),
        shardColumn: move.key.column,
        targetOf: (value) => {
          if (value === undefined || value === null) return undefined;
          const text = shardText(value);
          const range = move.ranges.find((r) => keyInRange(move.key.type, r, text));
          return range === undefined ? undefined : plan.targets[range.target];
        },
      };
    }
  }
  return undefined;
}

/**
 * Primary and shadow of a row held by `target` in `phase`: the phase's routing decides which
 * side is the truth, so a repair or a capture always copies from the primary of the phase.
 */
export function rowPlacement(phase: MigrationPhase, source: PlanEndpoint, target: PlanEndpoint): RowPlacement {
  const routing = PHASE_ROUTING[phase];
  const primary = routing.primary === 'source' ? source : target;
  const shadow = routing.shadow === null ? null : routing.shadow === 'source' ? source : target;
  return { primary, shadow };
}
