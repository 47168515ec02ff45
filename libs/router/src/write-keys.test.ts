import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { isReplayable } from './write-keys.js';

interface DB {
  users: { id: number; email: string; storage_used: number; status: string };
  plans: { id: number; price: number };
}

const db = new Kysely<DB>({
  dialect: { createAdapter: () => new MysqlAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (k) => new MysqlIntrospector(k), createQueryCompiler: () => new MysqlQueryCompiler() },
});

describe('isReplayable: statements whose result is the same on any copy of the rows', () => {
  it.each([
    ['a literal SET by key', db.updateTable('users').set({ storage_used: 5 }).where('id', '=', 1)],
    ['arithmetic on the row itself', db.updateTable('users').set((eb) => ({ storage_used: eb('storage_used', '+', 1) })).where('id', 'in', [1, 2])],
    ['AND / OR of literal predicates', db.updateTable('users').set({ status: 'x' }).where('id', '=', 1).where((eb) => eb.or([eb('status', '=', 'a'), eb('email', 'like', '%@x')]))],
    ['a delete by key', db.deleteFrom('users').where('id', '=', 3)],
  ])('replays %s', (_name, query) => {
    expect(isReplayable(query.compile().query)).toBe(true);
  });

  it.each([
    ['NOW()', db.updateTable('users').set({ status: sql<string>`NOW()` }).where('id', '=', 1)],
    ['a function call', db.updateTable('users').set((eb) => ({ email: eb.fn<string>('uuid', []) })).where('id', '=', 1)],
    ['a subquery', db.updateTable('users').set((eb) => ({ storage_used: eb.selectFrom('plans').select('price').where('plans.id', '=', 1) })).where('id', '=', 1)],
    ['a LIMIT', db.updateTable('users').set({ storage_used: 1 }).where('id', 'in', [1, 2]).limit(1)],
    ['a schema prefix', db.withSchema('other').updateTable('users').set({ storage_used: 1 }).where('id', '=', 1)],
    ['a Date value (formatted by each pool)', db.updateTable('users').set({ status: new Date() as unknown as string }).where('id', '=', 1)],
    ['an insert', db.insertInto('users').values({ id: 1, email: 'a', storage_used: 0, status: 'x' })],
    ['a multi-table delete', db.deleteFrom('users').using(['users', 'plans']).whereRef('plans.id', '=', 'users.id').where('users.id', '=', 1)],
  ])('does not replay %s', (_name, query) => {
    expect(isReplayable(query.compile().query)).toBe(false);
  });
});
