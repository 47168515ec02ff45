// tsx tools/bench/copy-micro.ts [--table users] [--chunk 5000] [--parallel 2]
// In-process copy of one bench table with syncKeyRange (no BullMQ): rows/s and CPU seconds
// per 100k rows of this process and of the source and target mariadbd (CPU time is far less
// noisy than wall time on a shared machine). A tool for comparing variants, not the benchmark.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { MysqlPools, nextChunkUpper, parseConnectionUrl, readCatalog, syncKeyRange, tableShape, type BulkInsertMethod, type KeyTuple } from '@cleave/mysql';
import { endpointUrl, mariadbPid, mysqlEndpoints, servicesConfig } from '@cleave/testing';

const o = new Command('copy-micro')
  .option('--table <t>', 'table', 'users')
  .option('--chunk <n>', 'rows per chunk', '5000')
  .option('--parallel <n>', 'chunks in flight', '2')
  .option('--bulk-insert <how>', 'load-data or insert (SyncOptions.bulkInsert)', 'load-data')
  .parse()
  .opts<{ table: string; chunk: string; parallel: string; bulkInsert: BulkInsertMethod }>();
const config = servicesConfig(process.env);
const ep = mysqlEndpoints(config);
const cpu = (pid: number | null): number => {
  if (pid === null) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const pids = config.mariadb.filter((m) => m.name === 'source' || m.name === 'target1').map((m) => mariadbPid(m));
const pools = new MysqlPools();
const source = pools.pool(parseConnectionUrl(endpointUrl(ep.source)), { connectionLimit: 8 }).promise;
const target = pools.pool(parseConnectionUrl(endpointUrl(ep.target1)), { connectionLimit: 8 }).promise;
const admin = await mysql.createConnection({ host: ep.target1.host, port: ep.target1.port, user: ep.target1.user, password: ep.target1.password, multipleStatements: true });
const [[created]] = (await source.query(`SHOW CREATE TABLE bench_src.${o.table}`)) as unknown as [[Record<string, string>]];
await admin.query(`DROP DATABASE IF EXISTS micro_copy; CREATE DATABASE micro_copy; USE micro_copy; SET foreign_key_checks = 0; ${created!['Create Table']!}`);
const catalog = await readCatalog(source, 'bench_src', { tables: [o.table] });
const shape = tableShape(catalog.tables[0]!, 'bench_src');
const chunk = Number(o.chunk);
const bounds: Array<[KeyTuple | null, KeyTuple | null]> = [];
let lower: KeyTuple | null = null;
for (;;) {
  const upper: KeyTuple | null = await nextChunkUpper(source, shape, lower, chunk, null);
  bounds.push([lower, upper]);
  if (upper === null) break;
  lower = upper;
}
const c0 = [process.cpuUsage(), ...pids.map(cpu)] as const;
const t0 = performance.now();
let rows = 0;
let next = 0;
await Promise.all(
  Array.from({ length: Number(o.parallel) }, async () => {
    while (next < bounds.length) {
      const [lo, up] = bounds[next++]!;
      const r = await syncKeyRange({ source, target, sourceShape: shape, targetTable: { database: 'micro_copy', table: o.table }, bounds: { lower: lo, upper: up }, options: { bulkInsert: o.bulkInsert } });
      rows += r.sourceRows;
    }
  }),
);
const s = (performance.now() - t0) / 1000;
const node = process.cpuUsage(c0[0]);
const per = (x: number) => ((x * 100_000) / rows).toFixed(2);
console.log(
  JSON.stringify({
    table: o.table, bulk_insert: o.bulkInsert, rows, seconds: Number(s.toFixed(2)), rows_per_s: Math.round(rows / s),
    cpu_s_per_100k: { node: per((node.user + node.system) / 1e6), source: per(cpu(pids[0] ?? null) - (c0[1] ?? 0)), target: per(cpu(pids[1] ?? null) - (c0[2] ?? 0)) },
    rss_mb: Math.round(process.memoryUsage().rss / 1048576),
  }),
);
await admin.query('DROP DATABASE micro_copy');
await admin.end();
await pools.end();
