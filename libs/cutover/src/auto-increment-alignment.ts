import type { MigrationSide, Plan } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import type { ServerQueryable } from './cutover-store.js';

// Why: the new primary hands out auto-increment ids once writes switch to it. Its counter is only
// as high as the ids it received: copied rows and dual writes carry their ids, but a row inserted
// on the old primary and deleted before the copy or the shadow apply reached it never arrives, so
// its id would be handed out a second time (a deleted account's id given to a new account, while
// other systems still refer to the old one). The switch raises the counters, with writes held.

/** One table on one server. */
interface TablePlace {
  readonly server: string;
  readonly database: string;
  readonly table: string;
}

/** A counter the alignment raised. */
export interface RaisedCounter extends TablePlace {
  readonly from: string;
  readonly to: string;
}

/** The name of the switch step's check (in the change's results and the dry run). */
export const COUNTERS_CHECK = 'auto-increment-aligned';

/** Why a counter could not be raised (the switch is then aborted, writes released). */
export class CounterAlignmentError extends Error {
  readonly code = 'COUNTER_ALIGNMENT_FAILED';
}

const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_NO_SUCH_TABLE = 1146;

/** Where each moved table lives on each side of a migration. */
function placesBySide(plan: Plan): Map<string, Record<MigrationSide, TablePlace[]>> {
  const byTable = new Map<string, Record<MigrationSide, TablePlace[]>>();
  const at = (table: string) => {
    let sides = byTable.get(table);
    if (sides === undefined) {
      sides = { source: [{ server: plan.source.server, database: plan.source.database, table }], target: [] };
      byTable.set(table, sides);
    }
    return sides;
  };
  for (const move of plan.moves) {
    const targets = move.kind === 'tables' ? [move.to] : [...new Set(move.ranges.map((range) => range.target))];
    for (const table of move.kind === 'tables' ? move.tables : [move.table]) {
      for (const name of targets) {
        const target = plan.targets[name]!;
        at(table).target.push({ server: target.server, database: target.database, table });
      }
    }
  }
  return byTable;
}

/** The table's next auto-increment value, or `null` when it has no auto-increment column. */
async function counterOf(db: ServerQueryable, place: TablePlace): Promise<bigint | null> {
  let rows: unknown;
  try {
    [rows] = await db.query(`SHOW CREATE TABLE ${quoteIdentifier(place.database)}.${quoteIdentifier(place.table)}`);
  } catch (error) {
    if ((error as { errno?: number }).errno === ER_NO_SUCH_TABLE) return null; // nothing to align (the in-sync checks judge the table itself)
    throw error;
  }
  const create = String(Object.values((rows as Array<Record<string, unknown>>)[0] ?? {})[1] ?? '');
  // Column lines are indented; the first line that starts with ')' closes them and holds the
  // table options. The column attribute is `AUTO_INCREMENT`; the table option `AUTO_INCREMENT=n`
  // is left out while the counter is 1.
  const end = create.indexOf('\n)');
  if (end < 0 || !/\sAUTO_INCREMENT[,\s]/.test(create.slice(0, end + 1))) return null;
  const option = /\bAUTO_INCREMENT=(\d+)/.exec(create.slice(end, create.indexOf('\n', end + 1) < 0 ? undefined : create.indexOf('\n', end + 1)));
  return option === null ? 1n : BigInt(option[1]!);
}

/**
 * Raises the auto-increment counter of every moved table on the new write primary (the side
 * `to`) to at least the highest on the old one (`from`), so that no id the old primary handed out
 * is handed out again. Run with writes held (both counters are still). `ALTER TABLE …
 * AUTO_INCREMENT` only changes the counter (no rebuild) but needs the table's metadata lock: it
 * waits at most `lockWaitSeconds` for transactions that hold the table, then fails.
 */
export async function alignAutoIncrement(
  plan: Plan,
  from: MigrationSide,
  to: MigrationSide,
  servers: (server: string) => ServerQueryable,
  lockWaitSeconds = 1,
): Promise<RaisedCounter[]> {
  const raised: RaisedCounter[] = [];
  if (from === to) return raised;
  const mariadb = new Map<string, Promise<boolean>>();
  const isMariadb = (server: string) => {
    let probe = mariadb.get(server);
    if (probe === undefined) {
      probe = servers(server)
        .query('SELECT VERSION() AS v')
        .then(([rows]) => /mariadb/i.test(String((rows as Array<{ v: string }>)[0]?.v ?? '')));
      mariadb.set(server, probe);
    }
    return probe;
  };
  // Every counter of both sides at once: this runs inside the write pause.
  const tables = await Promise.all(
    [...placesBySide(plan).values()].map(async (sides) => {
      const [old, now] = await Promise.all([sides[from], sides[to]].map((places) => Promise.all(places.map((place) => counterOf(servers(place.server), place)))));
      return { places: sides[to], old: old!, now: now! };
    }),
  );
  for (const { places, old, now } of tables) {
    const known = old.filter((value): value is bigint => value !== null);
    if (known.length === 0) continue; // no auto-increment column
    const floor = known.reduce((a, b) => (a > b ? a : b));
    for (const [i, place] of places.entries()) {
      const db = servers(place.server);
      const current = now[i] ?? null;
      if (current === null || current >= floor) continue;
      const alter = `ALTER TABLE ${quoteIdentifier(place.database)}.${quoteIdentifier(place.table)} AUTO_INCREMENT = ${floor}`;
      try {
        await db.query((await isMariadb(place.server)) ? `SET STATEMENT lock_wait_timeout = ${lockWaitSeconds} FOR ${alter}` : alter);
      } catch (error) {
        const errno = (error as { errno?: number }).errno;
        throw new CounterAlignmentError(
          errno === ER_LOCK_WAIT_TIMEOUT
            ? `could not raise the AUTO_INCREMENT of ${place.database}.${place.table} on ${place.server} from ${current} to ${floor} within ${lockWaitSeconds} s: a transaction holds the table; retry the switch once it ended`
            : `could not raise the AUTO_INCREMENT of ${place.database}.${place.table} on ${place.server} from ${current} to ${floor}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      raised.push({ ...place, from: String(current), to: String(floor) });
    }
  }
  return raised;
}
