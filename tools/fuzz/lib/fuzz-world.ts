import type mysql from 'mysql2/promise';
import { PHASE_ROUTING, type MigrationPhase, type MigrationSide, type Plan } from '@cleave/core';
import { quoteIdentifier } from '@cleave/mysql';
import { createSampleAccounts, seedSampleAccounts, type TestDatabases } from '@cleave/testing';

/** Users the sample data starts with; invoices of users below SHARD_SPLIT live on target1, the rest on target2. */
export const SEED_USERS = 40;
export const SHARD_SPLIT = 20;

/** Tables the plan moves whole to target1, the sharded table, and tables that stay on the source. */
export const MOVED_TABLES = ['users', 'addresses', 'email_aliases', 'sessions'] as const;
export const SHARDED_TABLE = 'invoices';
export const HOME_TABLES = ['user_settings', 'user_keys'] as const;
export const ALL_TABLES = [...MOVED_TABLES, SHARDED_TABLE, ...HOME_TABLES] as const;
export type FuzzTable = (typeof ALL_TABLES)[number];

/** Each table's key (rows compared in this order). */
const KEY_ORDER: Record<FuzzTable, string> = {
  users: 'id',
  addresses: 'id',
  email_aliases: 'id',
  sessions: 'id',
  invoices: 'user_id, invoice_no',
  user_settings: 'user_id',
  user_keys: 'id',
};

/** Tables whose rows a write to `table` may change too (ON DELETE CASCADE children). */
export const CASCADES: Partial<Record<FuzzTable, readonly FuzzTable[]>> = { users: ['addresses', 'email_aliases'] };

type Server = 'source' | 'target1' | 'target2';

/** A place rows of a table live on one side: a server, and the rows it must hold there. */
interface Placement {
  readonly server: Server;
  readonly where: string;
}

/** The plan the fuzzer routes by. */
export function fuzzPlan(database: string): Plan {
  return {
    version: 1,
    name: 'fuzz',
    source: { server: 'source', database },
    targets: { mail: { server: 'target1', database }, keys: { server: 'target2', database } },
    moves: [
      { kind: 'tables', tables: [...MOVED_TABLES], to: 'mail' },
      {
        kind: 'shard',
        table: SHARDED_TABLE,
        key: { column: 'user_id', type: 'integer' },
        ranges: [
          { from: null, to: String(SHARD_SPLIT), target: 'mail' },
          { from: String(SHARD_SPLIT), to: null, target: 'keys' },
        ],
      },
    ],
  } as Plan;
}

/** Where `side` of `table` lives. Home tables have one side, the source. */
function placements(table: FuzzTable, side: MigrationSide): Placement[] {
  if ((HOME_TABLES as readonly string[]).includes(table) || side === 'source') return [{ server: 'source', where: '1=1' }];
  if (table === SHARDED_TABLE) {
    return [
      { server: 'target1', where: `user_id < ${SHARD_SPLIT}` },
      { server: 'target2', where: `user_id >= ${SHARD_SPLIT}` },
    ];
  }
  return [{ server: 'target1', where: '1=1' }];
}

/** What a comparison found: the side that differs from the reference copy, if any. */
export interface Difference {
  readonly table: FuzzTable;
  readonly side: MigrationSide;
  readonly role: 'primary' | 'shadow';
  readonly detail: string;
}

/**
 * The databases of one fuzz run: the split databases (source, target1, target2, as the plan
 * places them) and the reference copy (`<name>_ref` on the source server), an unsplit database
 * every statement runs on directly. Compares them with SQL of its own (HEX of every column),
 * sharing no code with the router or the copier.
 */
export class FuzzWorld {
  readonly dbs: TestDatabases;
  readonly refDatabase: string;
  readonly #conns: Record<Server, mysql.Connection>;
  readonly #ref: mysql.Connection;

  private constructor(dbs: TestDatabases, conns: Record<Server, mysql.Connection>, ref: mysql.Connection) {
    this.dbs = dbs;
    this.refDatabase = `${dbs.name}_ref`;
    this.#conns = conns;
    this.#ref = ref;
  }

  /** Creates the schema everywhere and seeds the reference copy. */
  static async open(dbs: TestDatabases): Promise<FuzzWorld> {
    const conns = { source: await dbs.admin('source'), target1: await dbs.admin('target1'), target2: await dbs.admin('target2') };
    for (const conn of Object.values(conns)) await createSampleAccounts(conn);
    const ref = await dbs.admin('source');
    const refDatabase = `${dbs.name}_ref`;
    await ref.query(`CREATE DATABASE ${quoteIdentifier(refDatabase)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    await ref.query(`USE ${quoteIdentifier(refDatabase)}`);
    await createSampleAccounts(ref);
    await seedSampleAccounts(ref, { users: SEED_USERS });
    return new FuzzWorld(dbs, conns, ref);
  }

  async dropReference(): Promise<void> {
    await this.#ref.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(this.refDatabase)}`);
  }

  /**
   * Starts a phase: every side of every table holds the reference copy's rows (as the copy and
   * verification leave them), and every auto-increment counter starts at the same value, so
   * generated ids agree between the reference copy and whichever side is the primary.
   */
  async resetAll(phaseIndex: number): Promise<void> {
    const counter = 100_000 * (phaseIndex + 1);
    for (const table of ALL_TABLES) {
      for (const side of ['source', 'target'] as const) await this.copyFromReference(table, side);
      if (KEY_ORDER[table] === 'id') {
        await this.#ref.query(`ALTER TABLE ${quoteIdentifier(table)} AUTO_INCREMENT = ${counter}`);
        for (const conn of Object.values(this.#conns)) await conn.query(`ALTER TABLE ${quoteIdentifier(table)} AUTO_INCREMENT = ${counter}`);
      }
    }
  }

  /** Makes one side of a table equal to the reference copy again (after a difference was counted). */
  async copyFromReference(table: FuzzTable, side: MigrationSide): Promise<void> {
    const [columnRows] = (await this.#ref.query('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [
      this.refDatabase,
      table,
    ])) as unknown as [Array<{ name: string }>];
    const columns = columnRows.map((c) => quoteIdentifier(c.name));
    for (const placement of placements(table, side)) {
      // Every value as the bytes of its text (CAST … AS BINARY): HEX() of a number would be its integer in hex.
      const [rows] = (await this.#ref.query({
        sql: `SELECT ${columns.map((c) => `HEX(CAST(${c} AS BINARY))`).join(', ')} FROM ${quoteIdentifier(table)} WHERE ${placement.where}`,
        rowsAsArray: true,
      })) as unknown as [Array<Array<string | null>>];
      const conn = this.#conns[placement.server];
      await conn.query('SET FOREIGN_KEY_CHECKS = 0');
      try {
        await conn.query(`DELETE FROM ${quoteIdentifier(table)}`);
        for (let at = 0; at < rows.length; at += 200) {
          const batch = rows.slice(at, at + 200);
          const tuple = `(${columns.map(() => 'UNHEX(?)').join(', ')})`;
          await conn.query(`INSERT INTO ${quoteIdentifier(table)} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`, batch.flat());
        }
      } finally {
        await conn.query('SET FOREIGN_KEY_CHECKS = 1');
      }
    }
  }

  /**
   * Compares a table after a statement. The primary side against the reference copy (each
   * shard against exactly the rows of its range), leaving out columns the server sets from the
   * clock (`ON UPDATE CURRENT_TIMESTAMP`: the two ran at different instants); the shadow side, in
   * phases that have one, against the primary, every column (it must hold the primary's images).
   */
  async compare(table: FuzzTable, phase: MigrationPhase): Promise<Difference | undefined> {
    const routing = PHASE_ROUTING[phase];
    const home = (HOME_TABLES as readonly string[]).includes(table);
    const primary: MigrationSide = home ? 'source' : routing.primary;
    const volatile = await this.#volatileColumns(table);
    for (const placement of placements(table, primary)) {
      const expected = await this.#rows(this.#ref, this.refDatabase, table, placement.where, volatile);
      const actual = await this.#rows(this.#conns[placement.server], this.dbs.name, table, '1=1', volatile);
      if (!sameRows(expected, actual)) return { table, side: primary, role: 'primary', detail: `${placement.server}: ${describeDifference(expected, actual)}` };
    }
    if (home || routing.shadow === null) return undefined;
    const primaryRows = await this.#sideRows(table, primary);
    const shadowRows = await this.#sideRows(table, routing.shadow);
    if (!sameRows(primaryRows, shadowRows)) return { table, side: routing.shadow, role: 'shadow', detail: describeDifference(primaryRows, shadowRows) };
    for (const placement of placements(table, routing.shadow)) {
      const misplaced = await this.#rows(this.#conns[placement.server], this.dbs.name, table, `NOT (${placement.where})`, []);
      if (misplaced.length > 0) return { table, side: routing.shadow, role: 'shadow', detail: `${placement.server} holds ${misplaced.length} row(s) outside its range` };
    }
    return undefined;
  }

  /** Every row of one side (all its placements), every column, sorted. */
  async #sideRows(table: FuzzTable, side: MigrationSide): Promise<string[]> {
    const rows: string[] = [];
    for (const placement of placements(table, side)) rows.push(...(await this.#rows(this.#conns[placement.server], this.dbs.name, table, '1=1', [])));
    return rows.sort();
  }

  /** Columns the server fills from the clock on update. */
  async #volatileColumns(table: FuzzTable): Promise<string[]> {
    const [rows] = (await this.#ref.query("SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND EXTRA LIKE '%on update%'", [this.refDatabase, table])) as unknown as [
      Array<{ name: string }>,
    ];
    return rows.map((r) => r.name);
  }

  /** Rows as text (HEX of each column but `except`), sorted by the table's key. */
  async #rows(conn: mysql.Connection, database: string, table: FuzzTable, where: string, except: readonly string[]): Promise<string[]> {
    const [columnRows] = (await conn.query('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [database, table])) as unknown as [
      Array<{ name: string }>,
    ];
    const select = columnRows.filter((c) => !except.includes(c.name)).map((c) => `IFNULL(HEX(${quoteIdentifier(c.name)}), 'NULL')`).join(", '|', ");
    const [rows] = (await conn.query(`SELECT CONCAT(${select}) AS r FROM ${quoteIdentifier(database)}.${quoteIdentifier(table)} WHERE ${where} ORDER BY ${KEY_ORDER[table]}`)) as unknown as [Array<{ r: string }>];
    return rows.map((r) => r.r);
  }

  /** The reference copy's connection (its default database is the reference database). */
  get reference(): mysql.Connection {
    return this.#ref;
  }
}

function sameRows(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((row, i) => row === b[i]);
}

function describeDifference(expected: readonly string[], actual: readonly string[]): string {
  const missing = expected.filter((row) => !actual.includes(row));
  const extra = actual.filter((row) => !expected.includes(row));
  return `${expected.length} rows expected, ${actual.length} found; ${missing.length} missing (e.g. ${missing[0]?.slice(0, 80) ?? '-'}), ${extra.length} unexpected (e.g. ${extra[0]?.slice(0, 80) ?? '-'})`;
}
