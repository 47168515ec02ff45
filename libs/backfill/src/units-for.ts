import { CleaveError, backfillUnits, type BackfillUnit, type Plan } from '@cleave/core';

/**
 * The backfill units a job names: a unit id (`sessions#1`), or a source table (all of its units,
 * one per shard range).
 *
 * @throws {CleaveError} `NOT_FOUND` when the plan moves no such table.
 *
 * @example
 * unitsFor(plan, 'sessions').map((u) => u.id); // ['sessions#0', 'sessions#1']
 */
export function unitsFor(plan: Plan, tableOrUnit: string): BackfillUnit[] {
  const units = backfillUnits(plan);
  const byId = units.filter((u) => u.id === tableOrUnit);
  const found = byId.length > 0 ? byId : units.filter((u) => u.table === tableOrUnit);
  if (found.length === 0) {
    throw new CleaveError('NOT_FOUND', `migration "${plan.name}" moves no table or backfill unit named "${tableOrUnit}"`, {
      hint: `Its units are: ${units.map((u) => u.id).join(', ')}.`,
    });
  }
  return found;
}
