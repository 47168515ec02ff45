import { describe, expect, it } from 'vitest';
import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql, type CompiledQuery } from 'kysely';
import { MIGRATION_PHASES, PHASE_ROUTING, parsePlan, type MigrationPhase } from '@cleave/core';
import { analyzeQuery } from './query-analysis.js';
import { RoutePlanner, type Route } from './route-planner.js';
import { RouterError } from './router-error.js';
import { RoutingTable, type RoutedMigration } from './routing-table.js';

// The route planner alone: no servers, statements compiled by Kysely's MySQL compiler.

interface DB {
  users: { id: number; email: string; status: string };
  sessions: { id: number; user_id: number };
  invoices: { user_id: number; invoice_no: number; amount: string };
  user_settings: { user_id: number; locale: string };
}

const db = new Kysely<DB>({
  dialect: {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new MysqlIntrospector(k),
    createQueryCompiler: () => new MysqlQueryCompiler(),
  },
});

const plan = parsePlan({
  version: 1,
  name: 'split',
  source: { server: 'source', database: 'accounts' },
  targets: { mail: { server: 'target1', database: 'accounts' }, keys: { server: 'target2', database: 'accounts' } },
  moves: [
    { kind: 'tables', tables: ['users', 'sessions'], to: 'mail' },
    { kind: 'shard', table: 'invoices', key: { column: 'user_id', type: 'integer' }, ranges: [{ from: null, to: '1500', target: 'mail' }, { from: '1500', to: null, target: 'keys' }] },
  ],
});

const MIGRATION_ID = 'abcdefabcdef';
const tableAt = (phase: MigrationPhase, capture = false): RoutingTable =>
  new RoutingTable([{ id: MIGRATION_ID, name: 'split', plan, phase, epoch: 1 + MIGRATION_PHASES.indexOf(phase), capture } satisfies RoutedMigration]);

const HOME = { server: 'source', database: 'accounts' };
const SERVER = { source: 'source', target: 'target1' } as const;

/** A built query, a schema statement or a raw `sql` template. */
interface Statement {
  compile(provider: Kysely<DB>): CompiledQuery;
}

function routeOf(table: RoutingTable, query: Statement, options: { inTransaction?: boolean; refused?: RouterError[] } = {}): Route {
  const compiled = query.compile(db);
  const planner = new RoutePlanner(HOME, (error) => options.refused?.push(error));
  return planner.route(table, analyzeQuery(compiled.query, compiled.sql), compiled.query, compiled.sql, options.inTransaction ?? false);
}

function refusalOf(table: RoutingTable, query: Statement, inTransaction = false): RouterError {
  const refused: RouterError[] = [];
  let thrown: unknown;
  try {
    routeOf(table, query, { inTransaction, refused });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RouterError);
  expect(refused).toEqual([thrown]); // every refusal is reported (the router counts it)
  return thrown as RouterError;
}

const readUser = db.selectFrom('users').select(['id', 'email']).where('id', '=', 1);
const insertUser = db.insertInto('users').values({ id: 1, email: 'a@example.com', status: 'active' });
const updateUser = db.updateTable('users').set({ status: 'x' }).where('id', '=', 1);
const deleteUser = db.deleteFrom('users').where('id', '=', 1);

describe('RoutePlanner: phase x statement kind (no servers)', () => {
  for (const phase of MIGRATION_PHASES) {
    const routing = PHASE_ROUTING[phase];
    for (const capture of [false, true]) {
      it(`${phase}${capture ? ' with capture' : ''}: reads go to the read side, writes to the primary, gated before finalize, with a shadow only where the router writes it`, () => {
        const table = tableAt(phase, capture);
        const read = routeOf(table, readUser);
        expect(read).toMatchObject({ server: SERVER[routing.reads], side: routing.reads, fanout: [], gate: [], dual: undefined });
        expect(read.read).toMatchObject({ side: routing.reads, covered: { table: 'users' } });
        // Inside a transaction a read goes to the primary (the transaction's writes are there).
        expect(routeOf(table, readUser, { inTransaction: true })).toMatchObject({ server: SERVER[routing.primary], side: routing.primary, read: undefined });
        const routerShadow = routing.shadow !== null && (!capture || routing.reads === routing.shadow);
        for (const write of [insertUser, updateUser, deleteUser]) {
          const route = routeOf(table, write);
          expect(route).toMatchObject({ server: SERVER[routing.primary], side: routing.primary, fanout: [], read: undefined });
          expect(route.gate).toEqual(phase === 'finalized' ? [] : [MIGRATION_ID]);
          expect(route.dual === undefined ? null : { primary: route.dual.primary, shadow: route.dual.shadow }).toEqual(routerShadow ? { primary: routing.primary, shadow: routing.shadow } : null);
        }
        // A raw write is gated like a built one; the router cannot find its rows, so it is refused where it writes the shadow itself.
        const raw = sql`UPDATE users SET status = 'x' WHERE email = 'a@example.com'`;
        if (routerShadow) expect(refusalOf(table, raw)).toMatchObject({ reason: 'unsupported-write' });
        else expect(routeOf(table, raw)).toMatchObject({ server: SERVER[routing.primary], gate: phase === 'finalized' ? [] : [MIGRATION_ID], dual: undefined });
      });
    }
  }

  it('a table no migration covers stays home in every phase, built or raw', () => {
    for (const phase of MIGRATION_PHASES) {
      const table = tableAt(phase);
      expect(routeOf(table, db.selectFrom('user_settings').selectAll())).toMatchObject({ server: 'source', side: 'home', gate: [], dual: undefined, read: undefined });
      expect(routeOf(table, db.insertInto('user_settings').values({ user_id: 1, locale: 'en' }))).toMatchObject({ server: 'source', side: 'home', gate: [] });
      expect(routeOf(table, sql`SELECT 1`)).toMatchObject({ server: 'source', side: 'home' });
    }
  });

  it('a join across sides is refused once its tables live on different servers (cross-server-transaction inside a transaction)', () => {
    const join = db.selectFrom('users').innerJoin('user_settings', 'user_settings.user_id', 'users.id').select(['users.email', 'user_settings.locale']);
    expect(routeOf(tableAt('dual_write'), join)).toMatchObject({ server: 'source' });
    expect(refusalOf(tableAt('reads_switched'), join)).toMatchObject({ reason: 'cross-server-query' });
    expect(refusalOf(tableAt('writes_switched'), join, true)).toMatchObject({ reason: 'cross-server-transaction' });
    expect(refusalOf(tableAt('reads_switched'), join).message).toContain('users -> target1, user_settings -> source');
  });

  describe('refusals', () => {
    const ddl = [
      ['a built ALTER TABLE', db.schema.alterTable('users').addColumn('nickname', 'varchar(20)')],
      ['a built DROP TABLE', db.schema.dropTable('sessions')],
      ['raw TRUNCATE', sql`TRUNCATE TABLE sessions`],
      ['raw RENAME', sql`RENAME TABLE sessions TO sessions_old`],
    ] as const;
    for (const [what, statement] of ddl) {
      it(`unsupported-statement: ${what} of a moved table in every phase before finalize`, () => {
        for (const phase of MIGRATION_PHASES) {
          if (phase === 'finalized') {
            // Carried by nothing any more: routed like any statement (a rename to a table on another server still cannot run).
            expect(() => routeOf(tableAt(phase), statement)).not.toThrow(/only reads and row writes/);
          } else {
            const error = refusalOf(tableAt(phase), statement);
            expect(error).toMatchObject({ reason: 'unsupported-statement', code: 'INVALID_ARGUMENT' });
            expect(error.message).toContain(`which migration split is moving (phase ${phase})`);
          }
        }
        expect(() => routeOf(tableAt('dual_write'), db.schema.alterTable('user_settings').addColumn('theme', 'varchar(10)'))).not.toThrow();
      });
    }

    it('unsupported-write: a multi-table UPDATE/DELETE writing a moved table while it moves (not in planned or finalized)', () => {
      const update = sql`UPDATE users u, user_settings s SET u.status = 'x', s.locale = 'en' WHERE s.user_id = u.id`;
      const builtUpdate = db.updateTable(['users', 'user_settings']).set({ status: 'x' }).whereRef('user_settings.user_id', '=', 'users.id');
      const builtDelete = db.deleteFrom(['users', 'user_settings']).whereRef('user_settings.user_id', '=', 'users.id');
      // Raw, with aliases: the SQL parser marks only the first table as deleted from.
      const rawDelete = sql`DELETE s, u FROM user_settings s JOIN users u ON u.id = s.user_id WHERE u.id = 1`;
      for (const phase of MIGRATION_PHASES) {
        for (const statement of [update, builtUpdate, builtDelete, rawDelete]) {
          if (phase === 'planned') expect(routeOf(tableAt(phase, true), statement)).toMatchObject({ server: 'source' });
          else if (phase === 'finalized') expect(refusalOf(tableAt(phase, true), statement)).toMatchObject({ reason: 'cross-server-query' }); // users now lives on target1
          else expect(refusalOf(tableAt(phase, true), statement)).toMatchObject({ reason: 'unsupported-write' });
        }
      }
      expect(refusalOf(tableAt('dual_write', true), update).message).toContain('a multi-table UPDATE writes users');
    });

    it('shard-key-missing and unsupported-write: writes to a sharded table must name one shard and keep their shard key', () => {
      const table = tableAt('dual_write');
      expect(refusalOf(table, db.updateTable('invoices').set({ amount: '1' }).where('invoice_no', '=', 1))).toMatchObject({ reason: 'shard-key-missing' });
      const rehome = refusalOf(table, db.updateTable('invoices').set({ user_id: 2000 }).where('user_id', '=', 10));
      expect(rehome).toMatchObject({ reason: 'unsupported-write' });
      expect(rehome.message).toContain('sets its shard key user_id');
      // Raw SQL gives the router no key values to place the row by.
      expect(refusalOf(table, sql`UPDATE invoices SET amount = 1 WHERE user_id = 10`)).toMatchObject({ reason: 'shard-key-missing', message: expect.stringContaining('a raw SQL write to sharded table invoices') });
      // Before the migration starts nothing is placed by key.
      expect(routeOf(tableAt('planned'), db.updateTable('invoices').set({ amount: '1' }).where('invoice_no', '=', 1))).toMatchObject({ server: 'source' });
    });

    it('raw-sql-unroutable: raw SQL the parser cannot read naming a moved table', () => {
      expect(refusalOf(tableAt('dual_write'), sql`SELEKT * FROM users`)).toMatchObject({ reason: 'raw-sql-unroutable' });
      expect(routeOf(tableAt('dual_write'), sql`SELEKT * FROM user_settings`)).toMatchObject({ server: 'source', side: 'home' });
    });
  });

  describe('sharded reads', () => {
    it('go to the shard of their key, or fan out over every shard when their answers merge', () => {
      const table = tableAt('reads_switched');
      expect(routeOf(table, db.selectFrom('invoices').selectAll().where('user_id', '=', 10))).toMatchObject({ server: 'target1', fanout: [] });
      expect(routeOf(table, db.selectFrom('invoices').selectAll().where('user_id', '=', 2000))).toMatchObject({ server: 'target2', fanout: [] });
      expect(routeOf(table, db.selectFrom('invoices').select(['user_id', 'amount']).where('amount', '>', '5'))).toMatchObject({ side: 'fanout', fanout: ['target1', 'target2'], gate: [], merge: { kind: 'rows' } });
      expect(routeOf(table, db.selectFrom('invoices').select((eb) => eb.fn.countAll().as('n')))).toMatchObject({ side: 'fanout', merge: { kind: 'aggregate' } });
      expect(routeOf(table, db.selectFrom('invoices').selectAll().orderBy('amount').limit(10))).toMatchObject({ side: 'fanout', merge: { kind: 'ordered', limit: 10 } });
      // Keys on both shards: a write must name one; a read of both is not one shard's.
      expect(routeOf(table, db.updateTable('invoices').set({ amount: '1' }).where('user_id', 'in', [10, 2000]))).toMatchObject({ server: 'source' }); // the primary is still the source
      expect(refusalOf(tableAt('writes_switched'), db.updateTable('invoices').set({ amount: '1' }).where('user_id', 'in', [10, 2000]))).toMatchObject({ reason: 'cross-server-query' });
      expect(routeOf(tableAt('writes_switched'), db.updateTable('invoices').set({ amount: '1' }).where('user_id', 'in', [2000, 3000]))).toMatchObject({ server: 'target2', gate: [MIGRATION_ID] });
      // Where reads go to the source, no fan-out.
      expect(routeOf(tableAt('dual_write'), db.selectFrom('invoices').selectAll())).toMatchObject({ server: 'source', fanout: [] });
    });

    it('shard-fanout-unsupported: shapes whose per-shard answers do not merge exactly (the allow-list)', () => {
      const table = tableAt('writes_switched');
      const shapes = [
        db.selectFrom('invoices').select((eb) => eb.fn.avg('amount').as('a')),
        db.selectFrom('invoices').select('amount').distinct(),
        db.selectFrom('invoices').select(sql<number>`max(amount)`.as('m')),
        db.selectFrom('invoices').selectAll().orderBy('amount').limit(10).offset(10),
        db.selectFrom('invoices').select('user_id').limit(10),
        db.selectFrom('invoices').select('user_id').groupBy('user_id'),
      ];
      for (const [i, shape] of shapes.entries()) expect(refusalOf(table, shape), `shape ${i}`).toMatchObject({ reason: 'shard-fanout-unsupported' });
      // A join of a sharded table without its key is refused as any join across servers.
      expect(refusalOf(table, db.selectFrom('invoices').innerJoin('users', 'users.id', 'invoices.user_id').select('invoices.amount'))).toMatchObject({ reason: 'cross-server-query' });
    });
  });

  it('caches the route of a statement per routing table: the same frozen route until the table is replaced', () => {
    const planner = new RoutePlanner(HOME);
    const compiled = readUser.compile();
    const analysis = analyzeQuery(compiled.query, compiled.sql);
    const before = tableAt('verified');
    const first = planner.route(before, analysis, compiled.query, compiled.sql, false);
    expect(planner.route(before, analysis, compiled.query, compiled.sql, false)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(planner.route(before, analysis, compiled.query, compiled.sql, true)).not.toBe(first);
    expect(planner.route(tableAt('reads_switched'), analysis, compiled.query, compiled.sql, false)).toMatchObject({ server: 'target1' });
  });

  it('a column qualified by an alias is not a table: an aliased read of a moved table goes to its side alone', () => {
    const table = tableAt('reads_switched', true);
    const aliased = db.selectFrom('users as u').innerJoin('sessions as s', 's.user_id', 'u.id').select(['u.email', 's.id']).where('u.id', '=', 1);
    expect(routeOf(table, aliased)).toMatchObject({ server: 'target1', side: 'target' });
    const qualified = db.selectFrom('users').selectAll('users').where('users.id', '=', 1);
    expect(routeOf(table, qualified)).toMatchObject({ server: 'target1', side: 'target' });
  });
});
