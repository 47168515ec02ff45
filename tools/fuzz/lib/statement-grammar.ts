import { sql, type Kysely, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { Prng } from './prng.js';
import { CASCADES, SEED_USERS, SHARD_SPLIT, type FuzzTable } from './fuzz-world.js';

/** The sample schema's tables as the statements use them (loosely typed: the grammar writes any column). */
type Row = Record<string, unknown>;
export interface FuzzDB {
  users: Row;
  addresses: Row;
  email_aliases: Row;
  sessions: Row;
  invoices: Row;
  user_settings: Row;
  user_keys: Row;
}

/** One generated statement: run on the router's Kysely and, unless refused, on the reference copy's. */
export interface FuzzStatement {
  /** The grammar rule that made it (the summary counts refusals and differences by it). */
  readonly rule: string;
  readonly kind: 'read' | 'write';
  /** Tables whose rows it may change (compared after it ran). */
  readonly touches: readonly FuzzTable[];
  /** A read whose row order is part of its answer (ORDER BY). */
  readonly ordered?: boolean;
  /** Runs it; a read returns its rows. */
  run(db: Kysely<FuzzDB>): Promise<readonly unknown[]>;
}

// Values the rules draw from: mostly rows that exist (so keys collide and predicates match), some that do not.
const STATUSES = ['active', 'pending', 'suspended', 'deleted'] as const;
const STATES = ['open', 'paid', 'void', 'refunded'] as const;
const CURRENCIES = ['EUR', 'CHF', 'USD'] as const;

const fixedTime = (r: Prng) => `2024-0${r.int(1, 9)}-1${r.int(0, 9)} 0${r.int(0, 9)}:1${r.int(0, 9)}:00.${r.int(100000, 999999)}`;

/** A generated statement's rule, and how it is made from the PRNG. */
type Rule = (r: Prng, n: number) => FuzzStatement;

const touching = (...tables: FuzzTable[]): FuzzTable[] => [...new Set(tables.flatMap((t) => [t, ...(CASCADES[t] ?? [])]))];

function write(rule: string, touches: FuzzTable[], run: FuzzStatement['run']): FuzzStatement {
  return { rule, kind: 'write', touches: touching(...touches), run };
}

function read(rule: string, run: (db: Kysely<FuzzDB>) => Promise<readonly unknown[]>, ordered = false): FuzzStatement {
  return { rule, kind: 'read', touches: [], ordered, run };
}

const rowsOf = async (p: Promise<{ rows: readonly unknown[] }>) => (await p).rows;

/** A user id: usually one of the seeded users, sometimes one a statement of this run may have made, sometimes none. */
const userId = (r: Prng) => r.weighted<number>([
  [8, r.int(1, SEED_USERS)],
  [1, r.int(SEED_USERS + 1, SEED_USERS + 10)],
]);

function newUser(r: Prng, n: number, options: { id?: boolean; email?: string } = {}): Row {
  return {
    ...(options.id === true ? { id: SEED_USERS + r.int(1, 10) } : {}),
    email: options.email ?? `fuzz${n}-${r.int(0, 999)}@example.com`,
    display_name: r.pick(['Zoë 🦊', 'Jürgen', 'plain', '李']),
    password_hash: Buffer.from([r.int(0, 255), 0x5c, 0x0a, 0]),
    status: r.pick(STATUSES),
    created_at: fixedTime(r),
    updated_at: '2024-01-01 00:00:00.000000',
    storage_used: r.int(0, 100_000),
  };
}

/** An existing user's email (the unique key ODKU / IGNORE / REPLACE meet). */
const seededEmail = (r: Prng) => `user${r.int(1, SEED_USERS)}@example.com`;

const RULES: ReadonlyArray<readonly [number, Rule]> = [
  // ---- reads ----
  [4, (r) => { const id = userId(r); return read('users.read.key', (db) => db.selectFrom('users').selectAll().where('id', '=', id).execute()); }],
  [2, (r) => { const email = seededEmail(r); return read('users.read.unique', (db) => db.selectFrom('users').select(['id', 'email', 'status']).where('email', '=', email).execute()); }],
  [3, (r) => { const status = r.pick(STATUSES); const limit = r.int(1, 8); return read('users.read.ordered-limit', (db) => db.selectFrom('users').select(['id', 'storage_used']).where('status', '=', status).orderBy('id').limit(limit).execute(), true); }],
  [2, (r) => { const plan = r.int(1, 5); return read('users.read.raw-aggregate', (db) => rowsOf(sql`SELECT COUNT(*) AS n, SUM(storage_used) AS s, MAX(id) AS m FROM users WHERE plan_id = ${plan}`.execute(db))); }],
  [2, (r) => { const id = userId(r); return read('users.read.join-same-side', (db) => db.selectFrom('users as u').innerJoin('addresses as a', 'a.user_id', 'u.id').select(['u.id', 'a.id as address', 'a.city']).where('u.id', '=', id).orderBy('a.id').execute(), true); }],
  [1, (r) => { const id = userId(r); return read('users.read.join-cross-server', (db) => db.selectFrom('users as u').innerJoin('user_settings as s', 's.user_id', 'u.id').select(['u.id', 's.locale']).where('u.id', '=', id).execute()); }],
  [2, (r) => { const id = userId(r); return read('sessions.read.by-user', (db) => db.selectFrom('sessions').select(['id', 'token_hash', 'revoked_at']).where('user_id', '=', id).orderBy('id').execute(), true); }],
  [3, (r) => { const id = userId(r); return read('invoices.read.shard-key', (db) => db.selectFrom('invoices').selectAll().where('user_id', '=', id).execute()); }],
  [3, (r) => { const state = r.pick(STATES); return read('invoices.read.fanout-rows', (db) => db.selectFrom('invoices').select(['user_id', 'invoice_no', 'amount']).where('state', '=', state).execute()); }],
  [2, (r) => { const state = r.pick(STATES); return read('invoices.read.fanout-aggregate', (db) => db.selectFrom('invoices').select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('amount').as('total'), eb.fn.min('issued_at').as('first'), eb.fn.max('amount').as('largest')]).where('state', '=', state).execute()); }],
  [2, (r) => { const limit = r.int(1, 10); return read('invoices.read.fanout-ordered-limit', (db) => db.selectFrom('invoices').select(['user_id', 'invoice_no', 'state']).orderBy('user_id', 'desc').orderBy('invoice_no').limit(limit).execute(), true); }],
  [1, () => read('invoices.read.fanout-raw-count', (db) => rowsOf(sql`SELECT COUNT(*) AS n FROM invoices`.execute(db)))],
  [1, () => read('invoices.read.fanout-group-by', (db) => db.selectFrom('invoices').select((eb) => ['currency', eb.fn.countAll().as('n')]).groupBy('currency').execute())],
  [1, () => read('invoices.read.fanout-distinct', (db) => db.selectFrom('invoices').select('currency').distinct().execute())],
  [2, (r) => { const id = userId(r); return read('user_settings.read.key', (db) => db.selectFrom('user_settings').selectAll().where('user_id', '=', id).execute()); }],

  // ---- users: inserts, upserts, key and non-key writes ----
  [3, (r, n) => { const rows = Array.from({ length: r.int(1, 3) }, (_, i) => newUser(r, n * 10 + i, { id: r.chance(0.3) })); return write('users.insert', ['users'], (db) => db.insertInto('users').values(rows).execute()); }],
  [1, (r, n) => {
    // A given id above the counter, then generated ones: they continue after the given id.
    const rows = [newUser(r, n * 10), { ...newUser(r, n * 10 + 1), id: 5_000_000 + n * 10 }, newUser(r, n * 10 + 2)];
    return write('users.insert.given-and-generated-ids', ['users'], (db) => db.insertInto('users').values(rows).execute());
  }],
  [3, (r, n) => {
    const row = newUser(r, n, { id: r.chance(0.3), email: r.chance(0.7) ? seededEmail(r) : undefined });
    const bump = r.int(1, 9);
    return write('users.upsert.odku', ['users'], (db) => db.insertInto('users').values(row).onDuplicateKeyUpdate({ storage_used: sql`storage_used + ${bump}`, display_name: sql`VALUES(display_name)`, updated_at: '2024-02-02 00:00:00' } as never).execute());
  }],
  [2, (r, n) => { const rows = [newUser(r, n, { email: seededEmail(r) }), newUser(r, n + 1, { email: r.chance(0.5) ? seededEmail(r) : undefined })]; return write('users.insert-ignore', ['users'], (db) => db.insertInto('users').values(rows).ignore().execute()); }],
  [2, (r, n) => { const row = newUser(r, n, { id: r.chance(0.5), email: r.chance(0.6) ? seededEmail(r) : undefined }); return write('users.replace', ['users'], (db) => db.replaceInto('users').values(row).execute()); }],
  [4, (r) => { const id = userId(r); const used = r.int(0, 1_000_000); return write('users.update.key', ['users'], (db) => db.updateTable('users').set({ storage_used: used, updated_at: '2024-03-03 00:00:00' }).where('id', '=', id).execute()); }],
  [2, (r) => { const ids = [userId(r), userId(r), userId(r)]; return write('users.update.key-in', ['users'], (db) => db.updateTable('users').set({ status: 'active', updated_at: '2024-03-04 00:00:00' }).where('id', 'in', ids).execute()); }],
  [3, (r) => {
    const status = r.pick(STATUSES);
    const plan = r.int(1, 5);
    return write('users.update.non-key', ['users'], (db) => db.updateTable('users').set({ storage_used: sql`storage_used + 1`, updated_at: '2024-03-05 00:00:00' } as never).where('status', '=', status).where('plan_id', '=', plan).execute());
  }],
  [1, (r) => { const status = r.pick(STATUSES); const limit = r.int(1, 3); return write('users.update.non-key-ordered-limit', ['users'], (db) => db.updateTable('users').set({ plan_id: 9, updated_at: '2024-03-06 00:00:00' }).where('status', '=', status).orderBy('id', 'desc').limit(limit).execute()); }],
  [1, (r) => { const id = userId(r); return write('users.update.key-change', ['users'], (db) => db.updateTable('users').set({ id: sql`id + 500000`, updated_at: '2024-03-07 00:00:00' } as never).where('id', '=', id).execute()); }],
  [2, (r) => { const id = userId(r); return write('users.delete.key', ['users'], (db) => db.deleteFrom('users').where('id', '=', id).execute()); }],
  [1, (r) => { const floor = r.int(30_000, 41_000); return write('users.delete.non-key', ['users'], (db) => db.deleteFrom('users').where('storage_used', '>', floor).where('storage_used', '<', floor + 3_000).execute()); }],
  [2, (r) => { const id = userId(r); return write('users.raw.update', ['users'], (db) => sql`UPDATE users SET status = 'suspended', updated_at = '2024-04-04 00:00:00' WHERE id = ${id}`.execute(db).then(() => [])); }],
  [1, (r) => { const id = userId(r); return write('users.raw.multi-table-update', ['users', 'addresses'], (db) => sql`UPDATE users u, addresses a SET u.plan_id = 3, a.is_default = 1, u.updated_at = '2024-04-05 00:00:00' WHERE a.user_id = u.id AND u.id = ${id}`.execute(db).then(() => [])); }],
  [1, (r) => { const id = userId(r); return write('users.raw.multi-table-delete', ['users', 'addresses'], (db) => sql`DELETE a FROM addresses a JOIN users u ON u.id = a.user_id WHERE u.id = ${id} AND a.kind = 'work'`.execute(db).then(() => [])); }],
  [1, () => write('users.raw.ddl', ['users'], (db) => sql`ALTER TABLE users COMMENT = 'fuzz'`.execute(db).then(() => []))],
  [2, (r, n) => {
    const id = userId(r);
    const row = newUser(r, n);
    return write('users.transaction', ['users'], (db) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(row).execute();
        await trx.updateTable('users').set({ storage_used: sql`storage_used + 7`, updated_at: '2024-05-05 00:00:00' } as never).where('id', '=', id).execute();
        return [];
      }),
    );
  }],

  [1, (r) => { const id = userId(r); return write('users.multi-table-update', ['users', 'addresses'], (db) => (db.updateTable(['users', 'addresses'] as never) as unknown as UpdateQueryBuilder<FuzzDB, 'users' | 'addresses', 'users' | 'addresses', UpdateResult>).set({ 'users.plan_id': 4, 'addresses.is_default': 0 } as never).whereRef('addresses.user_id', '=', 'users.id').where('users.id', '=', id).execute()); }],
  [2, (r) => { const status = r.pick(STATUSES); return write('addresses.update.joined-list', ['addresses'], (db) => (db.updateTable(['addresses as a', 'users as u'] as never) as unknown as UpdateQueryBuilder<FuzzDB, 'addresses' | 'users', 'addresses' | 'users', UpdateResult>).set({ 'a.is_default': 1 } as never).whereRef('u.id' as never, '=', 'a.user_id' as never).where('u.status' as never, '=', status as never).where('a.kind' as never, '=', 'billing' as never).execute()); }],
  [1, (r) => { const id = userId(r); return write('addresses.delete.using-join', ['addresses'], (db) => db.deleteFrom('addresses').using(['addresses', 'users']).whereRef('users.id', '=', 'addresses.user_id').where('users.id', '=', id).execute()); }],
  [1, (r) => { const id = userId(r); return write('email_aliases.insert-select', ['email_aliases'], (db) => db.insertInto('email_aliases').columns(['user_id', 'alias', 'created_at']).expression(db.selectFrom('users').select(['id', sql<string>`CONCAT('copy-', email)`.as('alias'), 'created_at']).where('id', '=', id)).execute()); }],
  [2, (r) => {
    const status = r.pick(STATUSES);
    return write('users.transaction.read-committed-non-key', ['users'], (db) =>
      db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
        await trx.updateTable('users').set({ storage_used: sql`storage_used + 3`, updated_at: '2024-05-06 00:00:00' } as never).where('status', '=', status).execute();
        return [];
      }),
    );
  }],
  [1, (r) => { const id = userId(r); return read('users.read.in-transaction', (db) => db.transaction().execute((trx) => trx.selectFrom('users').select(['id', 'email', 'plan_id']).where('id', '=', id).execute())); }],
  [1, (r, n) => { const row = newUser(r, n, { email: seededEmail(r) }); return write('users.upsert.odku-changes-unique', ['users'], (db) => db.insertInto('users').values(row).onDuplicateKeyUpdate({ email: sql`CONCAT('moved-', email)`, updated_at: '2024-02-03 00:00:00' } as never).execute()); }],

  [1, (r) => { const status = r.pick(STATUSES); const limit = r.int(1, 2); return write('users.delete.non-key-ordered-limit', ['users'], (db) => db.deleteFrom('users').where('status', '=', status).where('id', '>', SEED_USERS - 5).orderBy('id', 'desc').limit(limit).execute()); }],
  [1, (r, n) => {
    const id = userId(r);
    const alias = `tx${n}@mail.example`;
    return write('users.transaction.delete-and-children', ['users', 'email_aliases'], (db) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('email_aliases').values({ user_id: id, alias, created_at: '2025-01-01 00:00:00' }).execute();
        const seen = await trx.selectFrom('email_aliases').select('id').where('alias', '=', alias).execute();
        await trx.deleteFrom('users').where('id', '=', id).execute();
        return seen.length === 1 ? [] : [seen];
      }),
    );
  }],

  // ---- children of users (moved with them) ----
  [1, (r, n) => {
    const token = Buffer.alloc(32, 0);
    token.writeUInt32BE(r.chance(0.5) ? r.int(1, 4) : n + 1000, 0);
    const row = { id: r.chance(0.5) ? r.int(1, SEED_USERS * 3) : undefined, user_id: userId(r), token_hash: token, ip: Buffer.from([10, 0, 0, 1]), user_agent: 'replace', created_at: fixedTime(r), expires_at: '2026-02-02 00:00:00' };
    return r.chance(0.5)
      ? write('sessions.replace', ['sessions'], (db) => db.replaceInto('sessions').values(row).execute())
      : write('sessions.insert-ignore', ['sessions'], (db) => db.insertInto('sessions').values(row).ignore().execute());
  }],
  [1, (r) => { const limit = r.int(1, 4); return write('sessions.delete.non-key-ordered-limit', ['sessions'], (db) => db.deleteFrom('sessions').where('revoked_at', 'is not', null).orderBy('created_at').limit(limit).execute()); }],
  [2, (r, n) => {
    const token = Buffer.alloc(32, 0);
    token.writeUInt32BE(r.chance(0.5) ? r.int(1, 4) : n + 1000, 0);
    const row = { user_id: userId(r), token_hash: token, ip: Buffer.from([127, 0, 0, r.int(1, 9)]), user_agent: r.chance(0.3) ? null : 'fuzz', created_at: fixedTime(r), expires_at: '2026-01-01 00:00:00' };
    return write('sessions.upsert.unique-token', ['sessions'], (db) => db.insertInto('sessions').values(row).onDuplicateKeyUpdate({ revoked_at: '2025-06-06 00:00:00', user_agent: sql`VALUES(user_agent)` } as never).execute());
  }],
  [2, (r) => { const id = userId(r); return write('sessions.update.non-key-indexed', ['sessions'], (db) => db.updateTable('sessions').set({ revoked_at: '2025-07-07 00:00:00' }).where('user_id', '=', id).where('revoked_at', 'is', null).execute()); }],
  [1, (r) => { const id = userId(r); return write('addresses.delete.non-key', ['addresses'], (db) => db.deleteFrom('addresses').where('user_id', '=', id).where('kind', '=', 'home').execute()); }],
  [1, (r, n) => {
    const alias = r.chance(0.5) ? `alias${r.int(1, SEED_USERS * 2)}@mail.example` : `fuzz${n}@mail.example`;
    const row = { user_id: userId(r), alias, verified_at: r.chance(0.5) ? null : '2025-01-01 00:00:00', created_at: fixedTime(r) };
    return write('email_aliases.insert-ignore', ['email_aliases'], (db) => db.insertInto('email_aliases').values(row).ignore().execute());
  }],

  // ---- the sharded table ----
  [3, (r) => {
    const row = { user_id: userId(r), invoice_no: r.int(1, 6), amount: `${r.int(1, 999)}.${r.int(1000, 9999)}`, currency: r.pick(CURRENCIES), state: r.pick(STATES), issued_at: '2024-08-08' };
    return r.chance(0.5)
      ? write('invoices.upsert.odku', ['invoices'], (db) => db.insertInto('invoices').values(row).onDuplicateKeyUpdate({ amount: sql`amount + 1`, state: 'void' } as never).execute())
      : write('invoices.insert', ['invoices'], (db) => db.insertInto('invoices').values(row).execute());
  }],
  [1, (r) => { const rows = [0, 1].map(() => ({ user_id: userId(r), invoice_no: r.int(1, 6), amount: '1.0000', currency: 'EUR', issued_at: '2024-09-09' })); return write('invoices.insert-ignore-cross-shard', ['invoices'], (db) => db.insertInto('invoices').values(rows).ignore().execute()); }],
  [1, (r) => { const row = { user_id: userId(r), invoice_no: r.int(1, 6), amount: '2.0000', currency: 'CHF', issued_at: '2024-10-10' }; return write('invoices.replace', ['invoices'], (db) => db.replaceInto('invoices').values(row).execute()); }],
  [3, (r) => { const id = userId(r); const no = r.int(1, 5); const state = r.pick(STATES); return write('invoices.update.key', ['invoices'], (db) => db.updateTable('invoices').set({ state }).where('user_id', '=', id).where('invoice_no', '=', no).execute()); }],
  [2, (r) => { const ids = [r.int(1, SHARD_SPLIT - 1), r.int(SHARD_SPLIT, SEED_USERS)]; return write('invoices.update.shard-key-in-cross-shard', ['invoices'], (db) => db.updateTable('invoices').set({ paid_at: '2025-01-01 00:00:00.123' }).where('user_id', 'in', ids).where('state', '=', 'open').execute()); }],
  [1, (r) => { const from = userId(r); const to = userId(r); return write('invoices.update.shard-key-change', ['invoices'], (db) => db.updateTable('invoices').set({ user_id: to }).where('user_id', '=', from).where('invoice_no', '=', 1).execute()); }],
  [1, (r) => { const state = r.pick(STATES); return write('invoices.update.no-shard-key', ['invoices'], (db) => db.updateTable('invoices').set({ currency: 'USD' }).where('state', '=', state).execute()); }],
  [1, (r) => { const id = userId(r); return write('invoices.delete.shard-key', ['invoices'], (db) => db.deleteFrom('invoices').where('user_id', '=', id).where('state', '=', 'void').execute()); }],
  [1, (r) => { const id = userId(r); const rows = [1, 2].map((no) => ({ user_id: id, invoice_no: no + r.int(0, 4), amount: '3.0000', currency: 'USD', issued_at: '2024-11-11' })); return write('invoices.upsert.multi-row-one-shard', ['invoices'], (db) => db.insertInto('invoices').values(rows).onDuplicateKeyUpdate({ amount: sql`amount + VALUES(amount)` } as never).execute()); }],
  [1, (r) => { const row = { user_id: userId(r), invoice_no: 1, amount: '4.0000', currency: 'EUR', issued_at: '2024-12-12' }; const to = userId(r); return write('invoices.upsert.sets-shard-key', ['invoices'], (db) => db.insertInto('invoices').values(row).onDuplicateKeyUpdate({ user_id: to } as never).execute()); }],
  [1, (r) => { const column = r.pick(['currency', 'issued_at', 'amount'] as const); return read('invoices.read.fanout-min-max', (db) => db.selectFrom('invoices').select((eb) => [eb.fn.min(column).as('lo'), eb.fn.max(column).as('hi'), eb.fn.count(column).as('n')]).execute()); }],
  [1, (r) => { const id = userId(r); const no = r.int(1, 5); return write('invoices.update.non-shard-key-change', ['invoices'], (db) => db.updateTable('invoices').set({ invoice_no: sql`invoice_no + 10` } as never).where('user_id', '=', id).where('invoice_no', '=', no).execute()); }],
  [1, (r) => { const state = r.pick(STATES); return read('invoices.read.fanout-stream', async (db) => { const rows: unknown[] = []; for await (const row of db.selectFrom('invoices').select(['user_id', 'invoice_no']).where('state', '=', state).stream()) rows.push(row); return rows; }); }],
  [1, (r) => { const state = r.pick(STATES); return read('invoices.read.fanout-raw-rows', (db) => rowsOf(sql`SELECT user_id, invoice_no FROM invoices WHERE state = ${state}`.execute(db))); }],
  [1, (r) => { const id = userId(r); return write('invoices.raw.update', ['invoices'], (db) => sql`UPDATE invoices SET state = 'refunded' WHERE user_id = ${id} AND invoice_no = 2`.execute(db).then(() => [])); }],

  // ---- a table no migration moves ----
  [2, (r) => { const row = { user_id: userId(r), locale: r.pick(['en_US', 'de_CH']), time_zone: 'UTC', updated_at: '2024-01-01 00:00:00' }; return write('user_settings.upsert', ['user_settings'], (db) => db.insertInto('user_settings').values(row).onDuplicateKeyUpdate({ locale: 'fr_FR', updated_at: '2024-06-06 00:00:00' }).execute()); }],
  [1, (r) => { const id = userId(r); return write('user_settings.raw.update', ['user_settings'], (db) => sql`UPDATE user_settings SET quota_bytes = quota_bytes + 1, updated_at = '2024-07-07 00:00:00' WHERE user_id = ${id}`.execute(db).then(() => [])); }],
];

/** The `n`th statement of a run, drawn from the grammar. */
export function nextStatement(r: Prng, n: number): FuzzStatement {
  return r.weighted(RULES)(r, n);
}
