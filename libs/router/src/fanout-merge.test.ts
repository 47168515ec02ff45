import { describe, expect, it } from 'vitest';
import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql, type RootOperationNode } from 'kysely';
import { fanoutMerge, mergeFanout, type ShardAnswer } from './fanout-merge.js';

interface DB {
  invoices: { user_id: number; invoice_no: number; amount: string; currency: string; issued_at: string };
}

const db = new Kysely<DB>({
  dialect: { createAdapter: () => new MysqlAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (k) => new MysqlIntrospector(k), createQueryCompiler: () => new MysqlQueryCompiler() },
});
const shapeOf = (query: { toOperationNode(): unknown }) => fanoutMerge(query.toOperationNode() as RootOperationNode);
// mysql2 column types: LONGLONG 8, NEWDECIMAL 246, DATE 10, VAR_STRING 253; character set 63 is binary.
const answer = (rows: Array<Record<string, unknown>>, fields: ShardAnswer['fields'] = []): ShardAnswer => ({ rows, fields });

describe('fan-out reads: which shapes merge exactly, and how', () => {
  it('allows plain rows, ORDER BY selected columns with a LIMIT, and COUNT/SUM/MIN/MAX; refuses every other shape', () => {
    expect(shapeOf(db.selectFrom('invoices').select(['user_id', 'amount']).where('currency', '=', 'EUR'))).toEqual({ kind: 'rows' });
    expect(shapeOf(db.selectFrom('invoices').selectAll().orderBy('user_id', 'desc').orderBy('invoice_no').limit(5))).toEqual({
      kind: 'ordered',
      order: [
        { column: 'user_id', descending: true },
        { column: 'invoice_no', descending: false },
      ],
      limit: 5,
    });
    expect(shapeOf(db.selectFrom('invoices').select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('amount').as('s'), eb.fn.max('issued_at').as('m')]))).toEqual({
      kind: 'aggregate',
      columns: [
        { name: 'n', fn: 'count' },
        { name: 's', fn: 'sum' },
        { name: 'm', fn: 'max' },
      ],
    });
    const refused = [
      db.selectFrom('invoices').select('user_id').limit(3), // LIMIT without ORDER BY: which rows is unspecified per shard and whole
      db.selectFrom('invoices').select('user_id').orderBy('user_id').limit(3).offset(2),
      db.selectFrom('invoices').select('user_id').orderBy('amount'), // ordered by a column the rows do not carry
      db.selectFrom('invoices').select('currency').distinct(),
      db.selectFrom('invoices').select((eb) => ['currency', eb.fn.countAll().as('n')]).groupBy('currency'),
      db.selectFrom('invoices').select((eb) => eb.fn.count('currency').distinct().as('n')),
      db.selectFrom('invoices').select((eb) => eb.fn.avg('amount').as('a')),
      db.selectFrom('invoices').select(sql<number>`max(amount)`.as('m')),
      db.selectFrom('invoices').select((eb) => [eb.fn.countAll().as('n'), 'currency']),
    ];
    for (const query of refused) expect(shapeOf(query), query.compile().sql).toBeUndefined();
  });

  it('merges ordered rows by the order (NULL first ascending, exact decimals) and cuts at the limit', () => {
    const fields = [
      { name: 'user_id', columnType: 8, characterSet: 63 },
      { name: 'amount', columnType: 246, characterSet: 63 },
    ];
    const rows = mergeFanout({ kind: 'ordered', order: [{ column: 'amount', descending: true }], limit: 3 }, [
      answer([{ user_id: 1, amount: '10.5000' }, { user_id: 2, amount: '9.9000' }], fields),
      answer([{ user_id: 30, amount: '100.0000' }, { user_id: 31, amount: null }], fields),
    ]);
    expect(rows.map((r) => r['user_id'])).toEqual([30, 1, 2]);
    const ascending = mergeFanout({ kind: 'ordered', order: [{ column: 'amount', descending: false }], limit: undefined }, [
      answer([{ user_id: 1, amount: '-2.5000' }], fields),
      answer([{ user_id: 30, amount: null }, { user_id: 31, amount: '-10.0000' }], fields),
    ]);
    expect(ascending.map((r) => r['user_id'])).toEqual([30, 31, 1]);
  });

  it('re-aggregates: counts and sums added exactly, MIN/MAX across shards, NULL for shards with no rows', () => {
    const merged = mergeFanout(
      {
        kind: 'aggregate',
        columns: [
          { name: 'n', fn: 'count' },
          { name: 's', fn: 'sum' },
          { name: 'lo', fn: 'min' },
          { name: 'hi', fn: 'max' },
        ],
      },
      [
        answer([{ n: 2, s: '0.1000', lo: '2024-03-01', hi: '2024-03-05' }], [{ name: 'lo', columnType: 10 }, { name: 'hi', columnType: 10 }]),
        answer([{ n: 0, s: null, lo: null, hi: null }]),
        answer([{ n: 3, s: '-0.3000', lo: '2023-12-31', hi: '2024-01-01' }]),
      ],
    );
    expect(merged).toEqual([{ n: 5, s: '-0.2000', lo: '2023-12-31', hi: '2024-03-05' }]);
    expect(mergeFanout({ kind: 'aggregate', columns: [{ name: 's', fn: 'sum' }] }, [answer([{ s: null }]), answer([{ s: null }])])).toEqual([{ s: null }]);
  });

  it('refuses to order or take MIN/MAX by text under a collation (its order is the server’s, not the bytes’)', () => {
    const text = [{ name: 'currency', columnType: 253, characterSet: 45 }];
    expect(() => mergeFanout({ kind: 'ordered', order: [{ column: 'currency', descending: false }], limit: 1 }, [answer([{ currency: 'eur' }], text), answer([{ currency: 'CHF' }], text)])).toThrow(
      expect.objectContaining({ reason: 'shard-fanout-unsupported' }),
    );
  });
});
