// npm run bench:backfill [-- --rows N]
// Measures, in one run on the same data: (a) cleave's backfill of users + sessions to a target,
// (b) the offline `mariadb-dump | mariadb` pipeline, (c) cleave's verification vs
// pt-table-checksum, (d) a foreground sysbench load alone and during a backfill.
import { Command } from 'commander';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { ControlStore } from '@cleave/control';
import { MysqlPools, parseConnectionUrl, readCatalog, tableShape } from '@cleave/mysql';
import { verifyTable } from '@cleave/verify';
import {
  createSampleAccounts,
  endpointUrl,
  mysqlEndpoints,
  seedSampleAccounts,
  servicesConfig,
  servicesUp,
  spawnUntilReady,
  uniqueName,
  type ReadyProcess,
} from '@cleave/testing';
import { sampleRss, sh } from './lib/shell.js';
import { sysbenchPrepare, sysbenchRun } from './lib/sysbench.js';

const opts = new Command('bench:backfill')
  .option('--rows <n>', 'users (sessions = 3x)', '1000000')
  .option('--fg-seconds <n>', 'seconds of foreground load per sysbench run', '20')
  .option('--fg-rate <n>', 'foreground transactions per second', '40')
  .option('--concurrency <n>', 'worker jobs in flight', '4')
  .parse()
  .opts<{ rows: string; fgSeconds: string; fgRate: string; concurrency: string }>();
const USERS = Number(opts.rows);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const config = servicesConfig(process.env);
await servicesUp(config, process.env, (l) => console.log(l));
const ep = mysqlEndpoints(config);
const SRC = 'bench_src';
const log = (line: string) => console.log(`[bench] ${line}`);

async function admin(server: 'source' | 'target1', db?: string) {
  const e = ep[server];
  return mysql.createConnection({ host: e.host, port: e.port, user: e.user, password: e.password, database: db, multipleStatements: true });
}
const count = async (c: mysql.Connection, sql: string) => Number(((await c.query(sql))[0] as Array<Record<string, unknown>>)[0]!['n']);

// ---- data ---------------------------------------------------------------------------------
const src = await admin('source');
await src.query(`CREATE DATABASE IF NOT EXISTS ${SRC}`);
await src.query(`USE ${SRC}`);
const have = await count(src, `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${SRC}' AND TABLE_NAME = 'users'`);
const reuse = have > 0 && (await count(src, 'SELECT COUNT(*) AS n FROM users')) === USERS && (await count(src, 'SELECT COUNT(*) AS n FROM sessions')) === 3 * USERS;
if (!reuse) {
  log(`generating ${USERS} users and ${3 * USERS} sessions in ${SRC}…`);
  await src.query(`DROP DATABASE ${SRC}; CREATE DATABASE ${SRC}; USE ${SRC}`);
  await createSampleAccounts(src);
  // Only users and sessions are measured; the mail tables' foreign keys would tie them to users.
  await src.query('DROP TABLE addresses, email_aliases, user_keys, user_settings, invoices');
  const t = Date.now();
  await seedSampleAccounts(src, { users: USERS, only: ['users', 'sessions'] });
  await src.query('ANALYZE TABLE users, sessions');
  log(`generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
} else log(`reusing ${SRC} (${USERS} users, ${3 * USERS} sessions)`);
const ROWS = 4 * USERS;
const [sizes] = (await src.query(`SELECT SUM(DATA_LENGTH) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${SRC}' AND TABLE_NAME IN ('users', 'sessions')`)) as unknown as [[{ bytes: string }]];
const MB = Number(sizes[0].bytes) / 1024 / 1024;

// ---- (b) offline dump pipeline ------------------------------------------------------------
const t1 = await admin('target1');
await t1.query('DROP DATABASE IF EXISTS bench_dump; CREATE DATABASE bench_dump');
log('mariadb-dump | mariadb …');
const s = ep.source;
const t = ep.target1;
const dump = await sh(
  `mariadb-dump --single-transaction --quick -h${s.host} -P${s.port} -u${s.user} ${SRC} users sessions | MYSQL_PWD="$T_PWD" mariadb -h${t.host} -P${t.port} -u${t.user} bench_dump`,
  { MYSQL_PWD: s.password, T_PWD: t.password },
);
if (dump.code !== 0) throw new Error(`dump pipeline failed: ${dump.stderr.slice(-500)}`);
const dumpRowsPerS = ROWS / (dump.ms / 1000);
log(`dump: ${(dump.ms / 1000).toFixed(1)} s, ${Math.round(dumpRowsPerS)} rows/s`);
await t1.query('DROP DATABASE bench_dump');

// ---- cleave: CLI + worker processes -------------------------------------------------------
const prefix = uniqueName('bench');
const env = {
  ...process.env,
  CLEAVE_SERVER_SOURCE: endpointUrl(ep.source),
  CLEAVE_SERVER_TARGET1: endpointUrl(ep.target1),
  CLEAVE_REDIS_URL: `redis://${config.host}:${config.redis.port}`,
  CLEAVE_CONTROL_DATABASE: `${prefix}_control`,
  CLEAVE_QUEUE_PREFIX: prefix,
} as Record<string, string>;
const pools = new MysqlPools();
const control = pools.pool(parseConnectionUrl(endpointUrl(ep.source)), { connectionLimit: 4 }).promise;
const store = await ControlStore.open({ pool: control, database: `${prefix}_control` });

async function startWorker(): Promise<ReadyProcess> {
  return spawnUntilReady(process.execPath, ['--import', TSX, `${ROOT}apps/worker/src/main.ts`, '--port', '0', '--concurrency', opts.concurrency, '--pool-size', '6'], {
    env,
    cwd: ROOT,
    ready: (o) => o.includes('"worker ready"'),
  });
}

async function startBackfill(name: string, targetDb: string): Promise<string> {
  await t1.query(`DROP DATABASE IF EXISTS ${targetDb}; CREATE DATABASE ${targetDb}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-bench-'));
  const file = path.join(dir, 'plan.json');
  writeFileSync(file, JSON.stringify({ version: 1, name, source: { server: 'source', database: SRC }, targets: { t: { server: 'target1', database: targetDb } }, moves: [{ kind: 'tables', tables: ['users', 'sessions'], to: 't' }] }));
  const r = await sh(`${process.execPath} ${ROOT}apps/cli/bin/cleave.js start ${file} --json`, env);
  if (r.code !== 0) throw new Error(`cleave start failed: ${r.stderr}${r.stdout}`);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

async function waitFor(pred: () => Promise<boolean>, ms = 3_600_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- (a) backfill -------------------------------------------------------------------------
log('cleave backfill …');
let worker = await startWorker();
const rss = sampleRss(worker.child.pid!);
const started = performance.now();
const id = await startBackfill('bench-backfill', 'bench_cleave');
await waitFor(async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'));
const backfillMs = performance.now() - started;
await worker.stop();
const workerRssMb = rss.stop();
const cleaveRowsPerS = ROWS / (backfillMs / 1000);
log(`cleave: ${(backfillMs / 1000).toFixed(1)} s, ${Math.round(cleaveRowsPerS)} rows/s, worker peak RSS ${workerRssMb.toFixed(0)} MB`);

// ---- (c) verification vs pt-table-checksum on users ----------------------------------------
log('cleave verify users …');
const source = control;
const target = pools.pool(parseConnectionUrl(endpointUrl(ep.target1)), { connectionLimit: 4 }).promise;
const catalog = await readCatalog(source, SRC, { tables: ['users'] });
const report = await verifyTable({ source, target, sourceShape: tableShape(catalog.tables[0]!, SRC), targetTable: { database: 'bench_cleave', table: 'users' }, repair: false, maxPasses: 1 });
const verifyRowsPerS = report.rowsChecked / (report.durationMs / 1000);
log(`cleave verify: ${report.clean ? 'clean' : 'DIFFERENT'}, ${report.rowsChecked} rows in ${(report.durationMs / 1000).toFixed(1)} s, ${Math.round(verifyRowsPerS)} rows/s (both servers)`);
const cnf = path.join(mkdtempSync(path.join(os.tmpdir(), 'pt-')), 'my.cnf');
writeFileSync(cnf, `[client]\nuser=${s.user}\npassword=${s.password}\n`, { mode: 0o600 });
log('pt-table-checksum users …');
const pt = await sh(`pt-table-checksum F=${cnf},h=${s.host},P=${s.port} --databases=${SRC} --tables=users`);
const ptRow = /\s(\d+)\s+\d+\s+\d+\s+\d+\s+([\d.]+)\s+\S*users/.exec(pt.stdout);
if (!ptRow) throw new Error(`pt-table-checksum output not understood:\n${pt.stdout}\n${pt.stderr}`);
const ptRowsPerS = USERS / Number(ptRow[2]);
log(`pt-table-checksum: ${ptRow[2]} s, ${Math.round(ptRowsPerS)} rows/s (one server)`);

// ---- (d) foreground load alone and during a backfill --------------------------------------
log('sysbench prepare …');
await src.query('DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest');
await sysbenchPrepare(s, 'sbtest');
const fgSeconds = Number(opts.fgSeconds);
log(`sysbench ${fgSeconds} s alone …`);
const alone = await sysbenchRun(s, 'sbtest', fgSeconds, Number(opts.fgRate));
worker = await startWorker();
const id2 = await startBackfill('bench-foreground', 'bench_cleave2');
await waitFor(async () => (await store.segments(id2)).some((x) => x.rowsCopied > 0), 120_000);
log(`sysbench ${fgSeconds} s during the backfill …`);
const during = await sysbenchRun(s, 'sbtest', fgSeconds, Number(opts.fgRate));
const stillCopying = !(await store.events(id2)).some((e) => e.kind === 'backfill_done');
await worker.stop();
await src.query('DROP DATABASE sbtest');
await t1.query('DROP DATABASE IF EXISTS bench_cleave2');

// ---- report -------------------------------------------------------------------------------
const result = {
  users: USERS,
  rows: ROWS,
  data_mb: Math.round(MB),
  cleave_rows_per_s: Math.round(cleaveRowsPerS),
  cleave_mb_per_s: Number((MB / (backfillMs / 1000)).toFixed(1)),
  dump_rows_per_s: Math.round(dumpRowsPerS),
  ratio_vs_dump: Number((cleaveRowsPerS / dumpRowsPerS).toFixed(2)),
  verify_rows_per_s: Math.round(verifyRowsPerS),
  pt_checksum_rows_per_s: Math.round(ptRowsPerS),
  ratio_vs_pt_checksum: Number((verifyRowsPerS / ptRowsPerS).toFixed(2)),
  fg_tps_alone: alone.tps,
  fg_tps_during: during.tps,
  fg_p95_ms_alone: alone.p95Ms,
  fg_p95_ms_during: during.p95Ms,
  fg_p95_ratio: Number((during.p95Ms / alone.p95Ms).toFixed(2)),
  fg_backfill_still_running: stillCopying,
  worker_rss_mb: Math.round(workerRssMb),
};
console.log('');
console.log('| measure | value |');
console.log('|---|---|');
for (const [k, v] of Object.entries(result)) console.log(`| ${k} | ${v} |`);
await store.listMigrations();
await control.query(`DROP DATABASE \`${prefix}_control\``);
await pools.end();
await src.end();
await t1.query('DROP DATABASE IF EXISTS bench_cleave');
await t1.end();
console.log(JSON.stringify(result));
