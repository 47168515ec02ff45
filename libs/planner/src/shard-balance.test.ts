import { describe, expect, it } from 'vitest';
import type { Catalog, CatalogColumn, CatalogTable } from '@cleave/mysql';
import { balanceRangesByLoad, UniformRangeSource, type ShardRangeEstimate } from './shard-ranges.js';
import { equalityLiterals } from './workload.js';
import { parseSlowLog } from './slow-log-parser.js';
import { parseGeneralLog } from './general-log-parser.js';
import { planSplit } from './split-planner.js';

const column = (name: string, ordinal: number, dataType: string): CatalogColumn => ({
  name, ordinal, columnType: dataType, dataType, nullable: false, default: null, onUpdate: null, charset: null, collation: null,
  autoIncrement: name === 'id', generated: null, invisible: false, isJson: false,
});

const table = (name: string, rows: number): CatalogTable => ({
  schema: 'app', name, engine: 'InnoDB', collation: 'utf8mb4_general_ci', rowEstimate: rows,
  dataBytes: rows * 100, indexBytes: 0, autoIncrement: String(rows + 1), systemVersioned: false,
  columns: [column('id', 1, 'bigint'), column('user_id', 2, 'bigint'), column('body', 3, 'varchar')],
  primaryKey: ['id'], uniqueKeys: [],
  indexes: [
    { name: 'PRIMARY', unique: true, type: 'BTREE', parts: [{ column: 'id', subPart: null }], columns: ['id'] },
    { name: 'idx_user', unique: false, type: 'BTREE', parts: [{ column: 'user_id', subPart: null }], columns: ['user_id'] },
  ],
  foreignKeys: [], triggers: [], checkConstraints: [],
});

const catalog: Catalog = {
  database: 'app',
  server: { flavor: 'mariadb', version: '10.11.14', versionString: '10.11.14-MariaDB' },
  tables: [table('events', 1000), table('settings', 10)],
};

// 10 fine ranges of 100 rows over ids 1..1000
const fine: ShardRangeEstimate = {
  bounds: ['101', '201', '301', '401', '501', '601', '701', '801', '901'],
  rows: Array.from({ length: 10 }, () => 100),
  method: 'test',
  min: '1',
  max: '1000',
};
const width = (lo: string | undefined, hi: string | undefined) => Number(hi ?? '1001') - Number(lo ?? '1');

describe('equalityLiterals', () => {
  it('finds equality and IN literals in WHERE, not in strings or SET', () => {
    expect(equalityLiterals("UPDATE t SET id = 9 WHERE t.id IN (1, 2,3) AND `email` = 'a = 5' AND n > 4 AND note LIKE 'x = 7'")).toEqual([
      { ref: 't.id', values: ['1', '2', '3'] },
      { ref: 'email', values: ['a = 5'] },
    ]);
    expect(equalityLiterals("SELECT 1 FROM k WHERE k = X'0A' OR k <=> 0xFF")).toEqual([
      { ref: 'k', values: ['0x0a'] },
      { ref: 'k', values: ['0xff'] },
    ]);
    expect(equalityLiterals('INSERT INTO t (id) VALUES (1)')).toEqual([]);
  });
});

describe('balanceRangesByLoad', () => {
  it('keeps row balance without key load', () => {
    const r = balanceRangesByLoad('integer', fine, new Map(), 4);
    expect(r.bounds.map(Number).every((b, i) => Math.abs(b - (1 + 250 * (i + 1))) <= 50)).toBe(true);
    expect(r.rows.every((x) => Math.abs(x - 250) <= 50)).toBe(true);
  });

  it('gives a hot key range narrower ranges', () => {
    // keys 1..100 carry 90% of the load, the rest is spread thin
    const load = new Map<string, number>();
    for (let k = 1; k <= 100; k += 1) load.set(String(k), 90);
    for (let k = 101; k <= 1000; k += 10) load.set(String(k), 1);
    const even = balanceRangesByLoad('integer', fine, new Map(), 4);
    const skewed = balanceRangesByLoad('integer', fine, load, 4);
    expect(skewed.bounds).toHaveLength(3);
    const firstEven = width(undefined, even.bounds[0]);
    const firstSkewed = width(undefined, skewed.bounds[0]);
    expect(firstSkewed).toBeLessThan(firstEven / 2);
    // ranges cover the hot keys with at least two of the four ranges
    expect(Number(skewed.bounds[1])).toBeLessThanOrEqual(101);
    // the blend is balanced: each range within 10 points of a quarter
    for (const w of skewed.weight) expect(Math.abs(w - 0.25)).toBeLessThan(0.1);
    expect(skewed.rows.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('isolates one very hot key', () => {
    const load = new Map([['500', 1000], ['10', 1], ['900', 1]]);
    const r = balanceRangesByLoad('integer', fine, load, 3);
    expect(r.bounds).toContain('500');
    expect(r.bounds).toContain('501');
    expect(r.load[1]).toBeGreaterThan(0.99);
  });
});

describe('planSplit shard ranges from a slow log', () => {
  const slowLog = (hot: number, cold: number) => {
    const lines = ['# Time: 251125 10:00:00', '# User@Host: app[app] @ localhost []', 'use app;'];
    const entry = (sql: string, time: number) => lines.push(`# Query_time: ${time}  Lock_time: 0.0  Rows_sent: 1  Rows_examined: 1`, 'SET timestamp=1764064800;', `${sql};`);
    for (let i = 0; i < hot; i += 1) entry(`SELECT body FROM events WHERE id = ${1 + (i % 100)}`, 0.002);
    for (let i = 0; i < cold; i += 1) entry(`SELECT e.body FROM events e WHERE e.id IN (${101 + ((i * 37) % 900)}, ${101 + ((i * 53) % 900)})`, 0.002);
    entry("SELECT * FROM settings WHERE body = 'x'", 0.001);
    return lines.join('\n');
  };
  const base = {
    name: 'split-app',
    source: { server: 'source', database: 'app' },
    catalog,
    targets: [1, 2, 3, 4].map((i) => ({ name: `t${i}`, server: `t${i}`, database: 'app' })),
    moves: [],
    shards: [{ table: 'events', column: 'id' }],
    rangeSource: new UniformRangeSource(),
  } as const;

  it('narrows the ranges over the hot keys and says so', async () => {
    const workload = parseSlowLog(slowLog(900, 100));
    const result = await planSplit({ ...base, workload });
    const shard = result.plan.moves.find((m) => m.kind === 'shard' && m.table === 'events');
    expect(shard).toBeDefined();
    const bounds = result.shardKeys[0]!;
    expect(bounds.method).toMatch(/balanced by rows and per-key load/);
    const ranges = JSON.stringify(result.plan);
    const rowsOnly = await planSplit({ ...base, workload: { ...workload, origin: 'performance_schema', statements: workload.statements.map(({ keyLiterals: _k, ...s }) => s) } });
    expect(rowsOnly.shardKeys[0]!.method).toMatch(/balanced by rows only \(performance_schema/);
    expect(ranges).not.toEqual(JSON.stringify(rowsOnly.plan));
    const loadShares = (r: typeof result) => r.servers.filter((s) => s.role === 'target').map((s) => s.executionsShare);
    const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    const ends = (r: typeof result) => {
      const move = r.plan.moves.find((m) => m.kind === 'shard' && m.table === 'events');
      return move?.kind === 'shard' ? move.ranges.map((x) => x.to) : [];
    };
    // rows only: even widths, the hot keys 1..100 all in the first quarter
    expect(ends(rowsOnly)).toEqual(['251', '501', '751', null]);
    // load-aware: the hot keys get two narrow ranges, the cold rest the other two
    const e = ends(result);
    expect(Number(e[0])).toBeLessThan(100);
    expect(Number(e[1])).toBeLessThan(200);
    expect(spread(loadShares(result))).toBeLessThan(0.05);
  });

  it('reads key values from a general log too', async () => {
    const lines = ['251125 10:00:00\t    5 Connect\tapp@localhost on app using Socket'];
    for (let i = 0; i < 300; i += 1) lines.push(`\t\t    5 Query\tSELECT body FROM events WHERE id = ${1 + (i % 20)}`);
    const result = await planSplit({ ...base, workload: parseGeneralLog(lines.join('\n')) });
    expect(result.shardKeys[0]!.method).toMatch(/20 key values, 300 key lookups from the general-log/);
  });
});
