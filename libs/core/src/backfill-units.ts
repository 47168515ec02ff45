import type { Plan, PlanEndpoint } from './plan-schema.js';

/** Rows of a sharded table that one target receives: key column in [from, to). */
export interface UnitFilter {
  readonly column: string;
  readonly from: string | null;
  readonly to: string | null;
}

/**
 * One table (or one shard range of a table) and where it goes: the unit that the backfill
 * copies and the verification compares.
 */
export interface BackfillUnit {
  /** Stable id within the migration: the table name, or `table#<range index>` for a shard range. */
  readonly id: string;
  readonly table: string;
  readonly targetName: string;
  readonly target: PlanEndpoint;
  readonly filter: UnitFilter | null;
  /** Foreign key names (of this table) that the target does not get. */
  readonly droppedForeignKeys: readonly string[];
}

/** Every unit of a plan, in plan order. */
export function backfillUnits(plan: Plan): BackfillUnit[] {
  const units: BackfillUnit[] = [];
  for (const move of plan.moves) {
    const dropped = (table: string) => (move.droppedForeignKeys ?? []).filter((fk) => fk.table === table).map((fk) => fk.name);
    if (move.kind === 'tables') {
      for (const table of move.tables) {
        units.push({ id: table, table, targetName: move.to, target: plan.targets[move.to]!, filter: null, droppedForeignKeys: dropped(table) });
      }
    } else {
      move.ranges.forEach((range, i) => {
        units.push({
          id: `${move.table}#${i}`,
          table: move.table,
          targetName: range.target,
          target: plan.targets[range.target]!,
          filter: { column: move.key.column, from: range.from, to: range.to },
          droppedForeignKeys: dropped(move.table),
        });
      });
    }
  }
  return units;
}

/** The source tables a plan moves (each once). */
export function movedTables(plan: Plan): string[] {
  return [...new Set(plan.moves.flatMap((m) => (m.kind === 'tables' ? m.tables : [m.table])))];
}
