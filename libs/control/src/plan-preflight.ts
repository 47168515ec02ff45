import { CleaveError, backfillUnits, movedTables, type Plan } from '@cleave/core';
import { requireUsableKey, type Catalog } from '@cleave/mysql';

/** Which server each table of the source database lives on after the split. */
function placement(plan: Plan): Map<string, Set<string>> {
  const where = new Map<string, Set<string>>();
  for (const unit of backfillUnits(plan)) {
    const key = `${unit.target.server}/${unit.target.database}`;
    where.set(unit.table, (where.get(unit.table) ?? new Set()).add(key));
  }
  return where;
}

/**
 * Checks a plan against the live source catalog before anything is registered or copied:
 * every moved table exists and has a usable key, a shard key is a column of its table, and every
 * foreign key that the split would carry across servers is named in the plan as dropped.
 * Throws one error listing every problem.
 */
export function preflightPlan(plan: Plan, catalog: Catalog): void {
  const problems: string[] = [];
  // The error's code is the problems' common code, if they share one.
  const codes = new Set<string>();
  const tables = new Map(catalog.tables.map((t) => [t.name, t]));
  for (const name of movedTables(plan)) {
    const table = tables.get(name);
    if (!table) {
      codes.add('PLAN_INVALID');
      problems.push(`table "${name}" does not exist in database "${plan.source.database}" on server "${plan.source.server}"`);
      continue;
    }
    try {
      requireUsableKey(table);
    } catch (error) {
      codes.add('NO_USABLE_KEY');
      problems.push((error as Error).message);
    }
  }
  for (const move of plan.moves) {
    if (move.kind !== 'shard') continue;
    const table = tables.get(move.table);
    if (table && !table.columns.some((c) => c.name === move.key.column)) {
      codes.add('PLAN_INVALID');
      problems.push(`shard key column "${move.key.column}" does not exist in table "${move.table}"`);
    }
  }
  const where = placement(plan);
  const sourceKey = `${plan.source.server}/${plan.source.database}`;
  const serversOf = (table: string) => where.get(table) ?? new Set([sourceKey]);
  const dropped = new Set(plan.moves.flatMap((m) => (m.droppedForeignKeys ?? []).map((fk) => `${fk.table}.${fk.name}`)));
  for (const table of catalog.tables) {
    for (const fk of table.foreignKeys) {
      const parentSchema = fk.referencedSchema ?? plan.source.database;
      const child = serversOf(table.name);
      const parent = parentSchema === plan.source.database ? serversOf(fk.referencedTable) : new Set([`${plan.source.server}/${parentSchema}`]);
      const together = child.size === 1 && parent.size === 1 && [...child][0] === [...parent][0];
      if (together || dropped.has(`${table.name}.${fk.name}`)) continue;
      codes.add('FOREIGN_KEY_CROSSES_SERVERS');
      problems.push(
        `foreign key ${table.name}.${fk.name} (${table.name} -> ${fk.referencedTable}) would cross servers after this split: ` +
          `name it in the move's "droppedForeignKeys" as { "table": "${table.name}", "name": "${fk.name}" } to drop it on the target (the source keeps it until finalize)`,
      );
    }
  }
  if (problems.length > 0) {
    const code = codes.size === 1 ? ([...codes][0] as 'PLAN_INVALID' | 'NO_USABLE_KEY' | 'FOREIGN_KEY_CROSSES_SERVERS') : 'PLAN_INVALID';
    throw new CleaveError(code, `plan "${plan.name}" does not fit the source database:\n${problems.map((p) => `- ${p}`).join('\n')}`, {
      hint: 'Fix the plan (or the schema) and run `cleave start` again; nothing was registered.',
    });
  }
}
