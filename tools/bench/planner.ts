// npm run bench:planner [-- --tables N --digests N] [-- --distinct-shapes]
// Plans a synthetic schema (500 tables in foreign-key clusters) with a synthetic
// performance_schema workload (20,000 digests: point reads, joins inside and across clusters,
// writes, IN lists, LIMITs) without a server, and reports time and peak memory. The last line
// is JSON: {"seconds", "peak_rss_mb", ...}. With --distinct-shapes every digest has its own
// statement shape (no two differ only in identifiers), so the parser's skeleton cache never hits.
import { Command } from 'commander';
import type { Catalog, CatalogColumn, CatalogTable } from '@cleave/mysql';
import { planSplit, type Workload, type WorkloadStatement } from '@cleave/planner';

const opts = new Command('bench:planner')
  .option('--tables <n>', 'tables in the schema', '500')
  .option('--digests <n>', 'distinct statement digests', '20000')
  .option('--groups <k>', 'servers after the split', '4')
  .option('--distinct-shapes', 'every digest a distinct statement shape (worst case for the parse cache)')
  .parse()
  .opts<{ tables: string; digests: string; groups: string; distinctShapes?: boolean }>();
const DISTINCT = opts.distinctShapes === true;

const TABLES = Number(opts.tables);
const DIGESTS = Number(opts.digests);
const GROUPS = Number(opts.groups);
const CLUSTER = 5;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const column = (name: string, ordinal: number, dataType: string, nullable = false): CatalogColumn => ({
  name, ordinal, columnType: dataType, dataType, nullable, default: null, onUpdate: null, charset: null, collation: null,
  autoIncrement: name === 'id', generated: null, invisible: false, isJson: false,
});

const names = Array.from({ length: TABLES }, (_, i) => `t${String(i).padStart(3, '0')}`);
const cols = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
const tables: CatalogTable[] = names.map((name, i) => {
  const root = i - (i % CLUSTER);
  const rows = Math.floor(1000 + rnd() * 5_000_000);
  return {
    schema: 'bench', name, engine: 'InnoDB', collation: 'utf8mb4_general_ci', rowEstimate: rows,
    dataBytes: rows * 120, indexBytes: rows * 40, autoIncrement: String(rows + 1), systemVersioned: false,
    columns: [column('id', 1, 'bigint'), column('parent_id', 2, 'bigint'), ...cols.map((c, k) => column(c, k + 3, k % 2 ? 'varchar' : 'int', k > 4))],
    primaryKey: ['id'], uniqueKeys: [],
    indexes: [
      { name: 'PRIMARY', unique: true, type: 'BTREE', parts: [{ column: 'id', subPart: null }], columns: ['id'] },
      { name: 'idx_parent', unique: false, type: 'BTREE', parts: [{ column: 'parent_id', subPart: null }], columns: ['parent_id'] },
    ],
    foreignKeys: i === root ? [] : [{ name: `fk_${name}_parent`, columns: ['parent_id'], referencedSchema: 'bench', referencedTable: names[root]!, referencedColumns: ['id'], onUpdate: 'RESTRICT', onDelete: 'CASCADE' }],
    triggers: [], checkConstraints: [],
  };
});
const catalog: Catalog = { database: 'bench', server: { flavor: 'mariadb', version: '10.11.14', versionString: '10.11.14-MariaDB' }, tables };

const q = (s: string) => `\`${s}\``;
const some = () => cols.filter(() => rnd() < 0.4).map(q).join(' , ') || q('c1');
const templates: (() => string)[] = [
  () => `SELECT ${some()} FROM ${q(pick(names))} WHERE ${q('id')} = ?`,
  () => `SELECT ${some()} FROM ${q(pick(names))} WHERE ${q(pick(cols))} = ? AND ${q(pick(cols))} > ? ORDER BY ${q('id')} LIMIT ?`,
  () => `SELECT * FROM ${q(pick(names))} WHERE ${q('id')} IN (...)`,
  () => `UPDATE ${q(pick(names))} SET ${q(pick(cols))} = ? , ${q(pick(cols))} = ? WHERE ${q('id')} = ?`,
  () => `INSERT INTO ${q(pick(names))} ( ${q('parent_id')} , ${some()} ) VALUES (...)`,
  () => `DELETE FROM ${q(pick(names))} WHERE ${q(pick(cols))} < ? LIMIT ?`,
  () => `SELECT COUNT ( * ) FROM ${q(pick(names))} WHERE ${q('parent_id')} = ? AND ${q(pick(cols))} IS NULL`,
  () => {
    const i = Math.floor(rnd() * TABLES);
    const root = names[i - (i % CLUSTER)]!;
    return `SELECT ${q('a')} . ${q(pick(cols))} , ${q('b')} . ${q(pick(cols))} FROM ${q(root)} ${q('a')} JOIN ${q(names[i]!)} ${q('b')} ON ${q('b')} . ${q('parent_id')} = ${q('a')} . ${q('id')} WHERE ${q('a')} . ${q('id')} = ?`;
  },
  () => {
    const a = pick(names);
    const b = rnd() < 0.9 ? names[Math.min(TABLES - 1, names.indexOf(a) + 1)]! : pick(names);
    return `SELECT ${q('x')} . * FROM ${q(a)} ${q('x')} LEFT JOIN ${q(b)} ${q('y')} ON ${q('y')} . ${q('id')} = ${q('x')} . ${q('parent_id')} WHERE ${q('x')} . ${q(pick(cols))} = ? GROUP BY ${q('x')} . ${q('id')}`;
  },
  () => `SELECT ${q('id')} FROM ${q(pick(names))} WHERE ${q('id')} IN ( SELECT ${q('parent_id')} FROM ${q(pick(names))} WHERE ${q(pick(cols))} = ? )`,
  () => `SELECT ${some()} FROM ${q(pick(names))} WHERE ${q(pick(cols))} BETWEEN ? AND ? AND ${q(pick(cols))} LIKE ? ORDER BY ${q(pick(cols))} DESC LIMIT ?, ?`,
  () => `SELECT @@version_comment LIMIT ?`,
];

// distinct shapes: a random SELECT/UPDATE/DELETE/INSERT with a random predicate list; two
// statements are the same shape when they are equal once every identifier is blanked.
const OPS = [
  (c: string) => `${c} = ?`, (c: string) => `${c} > ?`, (c: string) => `${c} < ?`, (c: string) => `${c} >= ?`,
  (c: string) => `${c} <= ?`, (c: string) => `${c} != ?`, (c: string) => `${c} LIKE ?`, (c: string) => `${c} IS NULL`,
  (c: string) => `${c} IN (...)`, (c: string) => `${c} BETWEEN ? AND ?`, (c: string) => `${c} IS NOT NULL`, (c: string) => `NOT ${c} = ?`,
];
function shaped(): string {
  const table = q(pick(names));
  const preds = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => pick(OPS)(q(pick(cols))));
  const where = preds.map((p, i) => (i === 0 ? p : `${rnd() < 0.8 ? 'AND' : 'OR'} ${p}`)).join(' ');
  const list = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => q(pick(cols))).join(' , ');
  const tail = rnd() < 0.3 ? ` ORDER BY ${q(pick(cols))}${rnd() < 0.5 ? ' DESC' : ''} LIMIT ?` : '';
  switch (Math.floor(rnd() * 5)) {
    case 0:
    case 1:
      return `SELECT ${list} FROM ${table} WHERE ${where}${tail}`;
    case 2:
      return `UPDATE ${table} SET ${list.split(' , ').map((c) => `${c} = ?`).join(' , ')} WHERE ${where}`;
    case 3:
      return `DELETE FROM ${table} WHERE ${where}${tail}`;
    default: {
      const other = q(pick(names));
      return `SELECT ${q('a')} . ${q('id')} FROM ${table} ${q('a')} JOIN ${other} ${q('b')} ON ${q('b')} . ${q('parent_id')} = ${q('a')} . ${q('id')} WHERE ${where.replaceAll('`c', '`a` . `c')}${tail}`;
    }
  }
}
const shapeOf = (text: string) => text.replace(/`[^`]*`/g, '`x`');

const seen = new Set<string>();
const statements: WorkloadStatement[] = [];
while (statements.length < DIGESTS) {
  const text = DISTINCT ? shaped() : pick(templates)();
  const key = DISTINCT ? shapeOf(text) : text;
  if (seen.has(key)) continue;
  seen.add(key);
  const executions = Math.floor(1 + 1e6 * rnd() ** 6);
  statements.push({
    digest: statements.length.toString(16).padStart(32, '0'),
    text, schema: 'bench', executions, totalTimeMs: executions * (0.05 + rnd() * 2),
    rowsExamined: executions * 3, rowsAffected: 0, rowsSent: executions,
  });
}
const workload: Workload = { origin: 'performance_schema', statements, transactions: [], timed: true, warnings: [] };

const rssBefore = process.memoryUsage().rss / 2 ** 20;
const t0 = performance.now();
const result = await planSplit({
  name: 'bench-split',
  source: { server: 'source', database: 'bench' },
  catalog,
  workload,
  targets: Array.from({ length: GROUPS - 1 }, (_, i) => ({ name: `target${i + 1}`, server: `target${i + 1}`, database: 'bench' })),
  groups: GROUPS,
  allowForeignKeySplit: false,
});
const seconds = (performance.now() - t0) / 1000;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const p = result.plan.prediction!;
console.log(`schema: ${TABLES} tables in foreign-key clusters of ${CLUSTER}; workload: ${statements.length} digests${DISTINCT ? ' (all distinct shapes)' : ''}`);
console.log(`parser: ${result.parseStats!.parses} parses, ${result.parseStats!.cacheHits} skeleton cache hits, ${result.unparsed.length} refused`);
for (const [server, s] of Object.entries(p.perServer)) {
  console.log(`  ${server.padEnd(8)} ${String(s.tables.length).padStart(4)} tables  executions ${(s.executionsShare * 100).toFixed(1)}%  time ${(s.timeShare * 100).toFixed(1)}%`);
}
console.log(`source load removed ${(p.sourceLoadRemovedShare * 100).toFixed(1)}%, broken statements ${p.brokenStatements.length}`);
console.log(`planned in ${seconds.toFixed(2)} s, peak RSS ${peakRssMb.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before planning)`);
console.log(
  JSON.stringify({
    seconds: Number(seconds.toFixed(3)),
    peak_rss_mb: Math.round(peakRssMb),
    tables: TABLES,
    digests: statements.length,
    distinct_shapes: DISTINCT,
    parses: result.parseStats!.parses,
    cache_hits: result.parseStats!.cacheHits,
    broken_statements: p.brokenStatements.length,
    source_load_removed_share: p.sourceLoadRemovedShare,
  }),
);
