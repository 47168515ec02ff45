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
import { SOURCE_CONDITION_FLAG, WORKER_NODE_FLAGS } from '@cleave/core';
import { MysqlPools, parseConnectionUrl, readCatalog, tableShape } from '@cleave/mysql';
import { verifyTable } from '@cleave/verify';
import {
  createSampleAccounts,
  ensureTools,
  endpointUrl,
  mysqlEndpoints,
  seedSampleAccounts,
  servicesConfig,
  servicesUp,
  spawnUntilReady,
  uniqueName,
  type ReadyProcess,
} from '@cleave/testing';
import { median } from './lib/lag.js';
import { procCpuSeconds, rssMb, sampleRss, sh, sourceAndTargetPids } from './lib/shell.js';
import { sysbenchPrepare, sysbenchRun } from './lib/sysbench.js';

const opts = new Command('bench:backfill')
  .option('--rows <n>', 'users (sessions = 3x)', '1000000')
  .option('--fg-seconds <n>', 'seconds of foreground load alone, and as many during the backfill', '40')
  .option('--fg-windows <n>', 'alternating alone/during windows the foreground seconds are split into (more windows: a steadier median on a shared machine)', '8')
  .option('--fg-rate <n>', 'foreground transactions per second', '40')
  .option('--copy-worker-args <args>', 'worker options of the throughput run (a): no foreground to protect; one copy lane per core of this 2-core machine (measured: 4 lanes copied 8-17% slower), chunks of 500 ms (100 ms, the default that spares a foreground, copied 59.3k rows/s against 70.4k)', '--concurrency 2 --nice-ratio 0 --max-source-latency-ratio 0 --process-nice 0 --chunk-target-ms 500')
  .option('--fg-worker-args <args>', 'worker options of the run under foreground load (d); empty = the worker defaults', '')
  .option('--profile-worker <dir>', 'write a V8 CPU profile of each worker process into this folder')
  .option('--worker-node-args <args>', 'node options of the worker processes (a bounded heap: V8 otherwise grows it far past the live data)', WORKER_NODE_FLAGS.join(' '))
  .option('--parts <list>', 'which measurements to run (a,b,c,d)', 'a,b,c,d')
  .option('--verify-rounds <n>', 'rounds of (c), cleave and pt-table-checksum alternating; each reports its median', '3')
  .option('--verify-parallel-chunks <n>', "chunks cleave's verification checksums at once (default: the library's)")
  .option(
    '--buffer-pool-mb <n>',
    "InnoDB buffer pool of the source and target during the run, restored afterwards (e.g. 2048 holds the 1M-row data in memory, as a production server holds its hot tables; the test services have 256 MB); 0 = leave as configured",
    '0',
  )
  .parse()
  .opts<{ rows: string; bufferPoolMb: string; fgSeconds: string; fgWindows: string; fgRate: string; copyWorkerArgs: string; fgWorkerArgs: string; parts: string; verifyRounds: string; verifyParallelChunks?: string; profileWorker?: string; workerNodeArgs: string }>();
const PARTS = new Set(opts.parts.split(',').map((p) => p.trim()));
const splitArgs = (args: string): string[] => args.split(/\s+/).filter((a) => a !== '');
const USERS = Number(opts.rows);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const config = servicesConfig(process.env);
// The baselines' tools, for the parts asked for: installed on Debian as root, else named.
ensureTools(
  [
    ...(PARTS.has('b') ? [{ binary: 'mariadb-dump', debianPackage: 'mariadb-client' }, { binary: 'mariadb', debianPackage: 'mariadb-client' }] : []),
    ...(PARTS.has('c') ? [{ binary: 'pt-table-checksum', debianPackage: 'percona-toolkit' }] : []),
    ...(PARTS.has('d') ? [{ binary: 'sysbench', debianPackage: 'sysbench' }] : []),
  ],
  process.env,
  (l) => console.log(l),
);
await servicesUp(config, process.env, (l) => console.log(l));
const ep = mysqlEndpoints(config);
const SRC = 'bench_src';
const log = (line: string) => console.log(`[bench] ${line}`);

async function admin(server: 'source' | 'target1', db?: string) {
  const e = ep[server];
  return mysql.createConnection({ host: e.host, port: e.port, user: e.user, password: e.password, database: db, multipleStatements: true });
}
const count = async (c: mysql.Connection, sql: string) => Number(((await c.query(sql))[0] as Array<Record<string, unknown>>)[0]!['n']);

// ---- buffer pools ---------------------------------------------------------------------------
/** Resizes the buffer pool of `server` (online) and returns its size before, in bytes. */
async function resizeBufferPool(server: 'source' | 'target1', bytes: number): Promise<number> {
  const conn = await admin(server);
  try {
    const before = await count(conn, 'SELECT @@innodb_buffer_pool_size AS n');
    if (before !== bytes) {
      await conn.query(`SET GLOBAL innodb_buffer_pool_size = ${bytes}`);
      // The resize runs in the background; wait until the server reports the new size.
      for (let waited = 0; (await count(conn, 'SELECT @@innodb_buffer_pool_size AS n')) !== bytes || !/completed|^$/i.test(await resizeStatus(conn)); waited += 200) {
        if (waited > 60_000) throw new Error(`the buffer pool of ${server} did not resize to ${bytes} bytes within a minute`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return before;
  } finally {
    await conn.end();
  }
}
async function resizeStatus(conn: mysql.Connection): Promise<string> {
  const [rows] = (await conn.query("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")) as unknown as [Array<{ Value: string }>];
  return rows[0]?.Value ?? '';
}
const bufferPoolBytes = Number(opts.bufferPoolMb) * 1024 * 1024;
const bufferPoolsBefore = bufferPoolBytes > 0 ? await Promise.all([resizeBufferPool('source', bufferPoolBytes), resizeBufferPool('target1', bufferPoolBytes)]) : [];
if (bufferPoolBytes > 0) log(`buffer pools of source and target: ${opts.bufferPoolMb} MB for the run`);

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

const t1 = await admin('target1');
const s = ep.source;
const t = ep.target1;
const NaN_ = Number.NaN;

// ---- (b) offline dump pipeline ------------------------------------------------------------
let dumpRowsPerS = NaN_;
if (PARTS.has('b')) {
  await t1.query('DROP DATABASE IF EXISTS bench_dump; CREATE DATABASE bench_dump');
  log('mariadb-dump | mariadb …');
  const dump = await sh(
    `mariadb-dump --single-transaction --quick -h${s.host} -P${s.port} -u${s.user} ${SRC} users sessions | MYSQL_PWD="$T_PWD" mariadb -h${t.host} -P${t.port} -u${t.user} bench_dump`,
    { MYSQL_PWD: s.password, T_PWD: t.password },
  );
  if (dump.code !== 0) throw new Error(`dump pipeline failed: ${dump.stderr.slice(-500)}`);
  dumpRowsPerS = ROWS / (dump.ms / 1000);
  log(`dump: ${(dump.ms / 1000).toFixed(1)} s, ${Math.round(dumpRowsPerS)} rows/s`);
  await t1.query('DROP DATABASE bench_dump');
}

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

async function startWorker(args: string[]): Promise<ReadyProcess> {
  const profile = opts.profileWorker === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.profileWorker}`];
  return spawnUntilReady(process.execPath, [...profile, ...splitArgs(opts.workerNodeArgs), SOURCE_CONDITION_FLAG, '--import', TSX, `${ROOT}apps/worker/src/main.ts`, '--port', '0', ...args], {
    env,
    cwd: ROOT,
    ready: (o) => o.includes('"worker ready"'),
  });
}

/** Migrations this run started: a table is moved by one migration at a time, so the next start cancels them. */
const startedMigrations: string[] = [];

async function startBackfill(name: string, targetDb: string): Promise<string> {
  for (const earlier of startedMigrations.splice(0)) {
    const cancelled = await sh(`${process.execPath} ${ROOT}apps/cli/bin/cleave.js cancel ${earlier} --approve --reason bench:backfill --json`, env);
    if (cancelled.code !== 0) throw new Error(`cleave cancel ${earlier} failed: ${cancelled.stderr}${cancelled.stdout}`);
  }
  await t1.query(`DROP DATABASE IF EXISTS ${targetDb}; CREATE DATABASE ${targetDb}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleave-bench-'));
  const file = path.join(dir, 'plan.json');
  writeFileSync(file, JSON.stringify({ version: 1, name, source: { server: 'source', database: SRC }, targets: { t: { server: 'target1', database: targetDb } }, moves: [{ kind: 'tables', tables: ['users', 'sessions'], to: 't' }] }));
  const r = await sh(`${process.execPath} ${ROOT}apps/cli/bin/cleave.js start ${file} --json`, env);
  if (r.code !== 0) throw new Error(`cleave start failed: ${r.stderr}${r.stdout}`);
  const id = (JSON.parse(r.stdout) as { id: string }).id;
  startedMigrations.push(id);
  return id;
}

async function waitFor(pred: () => Promise<boolean>, ms = 3_600_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

const serverPids = sourceAndTargetPids(config);
const copiedRows = async (migrationId: string): Promise<number> => (await store.segments(migrationId)).reduce((sum, x) => sum + x.rowsCopied, 0);

// ---- (a) backfill -------------------------------------------------------------------------
let cleaveRowsPerS = NaN_;
let backfillMs = NaN_;
let workerRssMb = NaN_;
if (PARTS.has('a')) {
  log(`cleave backfill (worker ${opts.copyWorkerArgs || 'defaults'}) …`);
  const worker = await startWorker(splitArgs(opts.copyWorkerArgs));
  log(`worker RSS when ready: ${rssMb(worker.child.pid!).toFixed(0)} MB`);
  const rss = sampleRss(worker.child.pid!);
  const cpu0 = [procCpuSeconds(worker.child.pid!), ...serverPids.map(procCpuSeconds)];
  const started = performance.now();
  const id = await startBackfill('bench-backfill', 'bench_cleave');
  await waitFor(async () => (await store.events(id)).some((e) => e.kind === 'backfill_done'));
  backfillMs = performance.now() - started;
  const cpu1 = [procCpuSeconds(worker.child.pid!), ...serverPids.map(procCpuSeconds)];
  const per100k = (i: number) => (((cpu1[i]! - cpu0[i]!) * 100_000) / ROWS).toFixed(2);
  log(`CPU seconds per 100k rows: worker ${per100k(0)}, source ${per100k(1)}, target ${per100k(2)} (wall ${((backfillMs / 1000) * 100_000 / ROWS).toFixed(2)} s per 100k)`);
  const segs = await store.segments(id);
  const events = await store.events(id);
  const firstAt = Math.min(...segs.map((x) => x.updatedAt.getTime()));
  log(
    `segments: ${segs.length}, chunks: ${segs.reduce((a, x) => a + x.chunks, 0)}, copy ms (sum over segments): ${Math.round(segs.reduce((a, x) => a + x.copyMs, 0))}, ` +
      `last chunk sizes: ${segs.map((x) => x.chunkSize).join(' ')}, events: ${events.map((e) => `${e.kind}@${e.at.getTime() - firstAt}`).join(' ')}`,
  );
  await worker.stop();
  workerRssMb = rss.stop();
  cleaveRowsPerS = ROWS / (backfillMs / 1000);
  log(`cleave: ${(backfillMs / 1000).toFixed(1)} s, ${Math.round(cleaveRowsPerS)} rows/s, worker peak RSS ${workerRssMb.toFixed(0)} MB`);
}

// ---- (c) verification vs pt-table-checksum on users ----------------------------------------
/** One measurement of (c): the medians of its rounds. */
interface VerifyComparison {
  bufferPoolMb: number;
  verifyRowsPerS: number;
  ptRowsPerS: number;
  /** Server CPU seconds per 100k rows (the whole mariadbd process: other clients of the shared servers count too). */
  verifyCpuPer100k: [number, number];
  ptCpuPer100k: number;
}
/** With the servers' buffer pools as configured (the test services' 256 MB hold less than users: both tools read from disk, O_DIRECT). */
let asConfigured: VerifyComparison | undefined;
/** With buffer pools that hold users on both servers, as a production server holds its hot tables: the per-row cost of each tool. */
let inMemory: VerifyComparison | undefined;
if (PARTS.has('c') && PARTS.has('a')) {
  const source = control;
  const target = pools.pool(parseConnectionUrl(endpointUrl(ep.target1)), { connectionLimit: 4 }).promise;
  const catalog = await readCatalog(source, SRC, { tables: ['users'] });
  // Open the pools' connections first: pt-table-checksum's time for a table excludes its connecting too.
  await Promise.all([source, target].flatMap((pool) => [0, 1, 2, 3].map(() => pool.query('SELECT SLEEP(0.02)'))));
  const cnf = path.join(mkdtempSync(path.join(os.tmpdir(), 'pt-')), 'my.cnf');
  writeFileSync(cnf, `[client]\nuser=${s.user}\npassword=${s.password}\n`, { mode: 0o600 });
  const verifyOnce = () =>
    verifyTable({ source, target, sourceShape: tableShape(catalog.tables[0]!, SRC), targetTable: { database: 'bench_cleave', table: 'users' }, repair: false, maxPasses: 1, ...(opts.verifyParallelChunks === undefined ? {} : { parallelChunks: Number(opts.verifyParallelChunks) }) });

  const compare = async (label: string): Promise<VerifyComparison> => {
    const bufferPoolMb = (await count(src, 'SELECT @@innodb_buffer_pool_size AS n')) / 1024 / 1024;
    log(`verification vs pt-table-checksum, ${label} (buffer pools ${bufferPoolMb} MB): a warm-up verification first, then the rounds`);
    await verifyOnce(); // reads users on both servers, so that neither tool's first round pays for the other's cold pages
    // Each side takes ~2 s per run, so one run of each is at the mercy of the machine's noise: the
    // sides alternate for `--verify-rounds` rounds, and each reports its median.
    const rounds = Math.max(1, Number(opts.verifyRounds));
    const ours: number[] = [];
    const theirs: number[] = [];
    const ourCpu: number[][] = [];
    const theirCpu: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const verifyCpu0 = serverPids.map(procCpuSeconds);
      const report = await verifyOnce();
      const verifyCpu = serverPids.map((pid, i) => ((procCpuSeconds(pid) - verifyCpu0[i]!) * 100_000) / USERS);
      ours.push(report.rowsChecked / (report.durationMs / 1000));
      ourCpu.push(verifyCpu);
      log(`round ${round}: cleave verify ${report.clean ? 'clean' : 'DIFFERENT'}, ${report.rowsChecked} rows in ${(report.durationMs / 1000).toFixed(1)} s, ${Math.round(ours.at(-1)!)} rows/s (both servers); ` +
        `server CPU seconds per 100k rows: source ${verifyCpu[0]!.toFixed(2)}, target ${verifyCpu[1]!.toFixed(2)}`);
      if (!report.clean) throw new Error('the backfilled copy is not identical to the source');
      const ptCpu0 = procCpuSeconds(serverPids[0]!);
      const pt = await sh(`pt-table-checksum F=${cnf},h=${s.host},P=${s.port} --databases=${SRC} --tables=users`);
      theirCpu.push(((procCpuSeconds(serverPids[0]!) - ptCpu0) * 100_000) / USERS);
      const ptRow = /\s(\d+)\s+\d+\s+\d+\s+\d+\s+([\d.]+)\s+\S*users/.exec(pt.stdout);
      if (!ptRow) throw new Error(`pt-table-checksum output not understood:\n${pt.stdout}\n${pt.stderr}`);
      theirs.push(USERS / Number(ptRow[2]));
      log(`round ${round}: pt-table-checksum ${ptRow[2]} s, ${Math.round(theirs.at(-1)!)} rows/s (one server); source CPU seconds per 100k rows ${theirCpu.at(-1)!.toFixed(2)} (the whole run, with its setup)`);
    }
    const result: VerifyComparison = {
      bufferPoolMb,
      verifyRowsPerS: median(ours),
      ptRowsPerS: median(theirs),
      verifyCpuPer100k: [median(ourCpu.map((c) => c[0]!)), median(ourCpu.map((c) => c[1]!))],
      ptCpuPer100k: median(theirCpu),
    };
    log(`verification ${label}, median of ${rounds} rounds: cleave ${Math.round(result.verifyRowsPerS)} rows/s (rounds: ${ours.map(Math.round).join(', ')}), pt-table-checksum ${Math.round(result.ptRowsPerS)} rows/s (rounds: ${theirs.map(Math.round).join(', ')}): ${(result.verifyRowsPerS / result.ptRowsPerS).toFixed(2)}x`);
    return result;
  };

  // users (data and indexes) twice over, in whole 128 MB: room for it on each server, with the rest.
  const usersBytes = await count(src, `SELECT DATA_LENGTH + INDEX_LENGTH AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${SRC}' AND TABLE_NAME = 'users'`);
  const holdsUsers = Math.ceil((2 * usersBytes) / (128 << 20)) * (128 << 20);
  const current = await count(src, 'SELECT @@innodb_buffer_pool_size AS n');
  if (current < holdsUsers) {
    asConfigured = await compare('as configured');
    const before = await Promise.all([resizeBufferPool('source', holdsUsers), resizeBufferPool('target1', holdsUsers)]);
    try {
      inMemory = await compare('with users in memory');
    } finally {
      await Promise.all([resizeBufferPool('source', before[0]), resizeBufferPool('target1', before[1])]);
    }
  } else inMemory = await compare('with users in memory');
}

// ---- (d) foreground load alone and during a backfill --------------------------------------
type Fg = { tps: number; p95Ms: number };
let alone: Fg = { tps: NaN_, p95Ms: NaN_ };
let during: Fg = { tps: NaN_, p95Ms: NaN_ };
let stillCopying = false;
let fgCopyRowsPerS = NaN_;
let fgThrottledShare: Record<string, number> = {};
if (PARTS.has('d')) {
  log('sysbench prepare …');
  await src.query('DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest');
  await sysbenchPrepare(s, 'sbtest');
  // The machine is shared: the load of other processes drifts over a run. So the foreground is
  // measured in alternating windows, alone (the worker frozen with SIGSTOP, its servers idle) and
  // during the backfill (SIGCONT), and each side reports the median of its windows' p95.
  const windows = Number(opts.fgWindows);
  const windowSeconds = Math.max(1, Math.round(Number(opts.fgSeconds) / windows));
  log(`cleave backfill under foreground load (worker ${opts.fgWorkerArgs || 'defaults'}) …`);
  const worker = await startWorker(splitArgs(opts.fgWorkerArgs));
  const pid = worker.child.pid!;
  const id2 = await startBackfill('bench-foreground', 'bench_cleave2');
  await waitFor(async () => (await copiedRows(id2)) > 0, 120_000);
  const alones: Fg[] = [];
  const durings: Fg[] = [];
  let copied = 0;
  let copyMs = 0;
  const throttledMs = async (): Promise<Record<string, number>> => Object.fromEntries((await store.throttleStats(id2)).map((x) => [x.reason, x.throttledMs]));
  const throttled: Record<string, number> = {};
  log(`sysbench: ${windows} x ${windowSeconds} s alone (worker frozen) and ${windows} x ${windowSeconds} s during the backfill, alternating …`);
  for (let w = 0; w < windows; w += 1) {
    process.kill(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000)); // let the chunk in flight on the servers finish
    alones.push(await sysbenchRun(s, 'sbtest', windowSeconds, Number(opts.fgRate)));
    process.kill(pid, 'SIGCONT');
    const rows0 = await copiedRows(id2);
    const throttled0 = await throttledMs();
    const t0 = performance.now();
    durings.push(await sysbenchRun(s, 'sbtest', windowSeconds, Number(opts.fgRate)));
    copied += (await copiedRows(id2)) - rows0;
    copyMs += performance.now() - t0;
    for (const [reason, ms] of Object.entries(await throttledMs())) throttled[reason] = (throttled[reason] ?? 0) + ms - (throttled0[reason] ?? 0);
  }
  fgThrottledShare = Object.fromEntries(Object.entries(throttled).map(([reason, ms]) => [reason, Number((ms / copyMs).toFixed(2))]));
  log(`backfill during the foreground windows: ${Math.round(copied / (copyMs / 1000))} rows/s; share of the time throttled, per throttler: ${JSON.stringify(fgThrottledShare)}`);
  alone = { tps: median(alones.map((x) => x.tps)), p95Ms: median(alones.map((x) => x.p95Ms)) };
  during = { tps: median(durings.map((x) => x.tps)), p95Ms: median(durings.map((x) => x.p95Ms)) };
  log(`p95 per window, alone: ${alones.map((x) => x.p95Ms).join(' ')}; during: ${durings.map((x) => x.p95Ms).join(' ')}`);
  fgCopyRowsPerS = copied / (copyMs / 1000);
  stillCopying = !(await store.events(id2)).some((e) => e.kind === 'backfill_done');
  await worker.stop();
  await src.query('DROP DATABASE sbtest');
  await t1.query('DROP DATABASE IF EXISTS bench_cleave2');
}

// ---- report -------------------------------------------------------------------------------
const num = (x: number, digits = 0): number | null => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const result = {
  users: USERS,
  rows: ROWS,
  data_mb: Math.round(MB),
  buffer_pool_mb: bufferPoolBytes > 0 ? bufferPoolBytes / 1024 / 1024 : '(as configured)',
  worker_node_args: opts.workerNodeArgs || '(none)',
  copy_worker_args: opts.copyWorkerArgs || '(defaults)',
  cleave_rows_per_s: num(cleaveRowsPerS),
  cleave_mb_per_s: num(MB / (backfillMs / 1000), 1),
  dump_rows_per_s: num(dumpRowsPerS),
  ratio_vs_dump: num(cleaveRowsPerS / dumpRowsPerS, 2),
  verify_buffer_pool_mb: inMemory?.bufferPoolMb ?? null,
  verify_rows_per_s: num(inMemory?.verifyRowsPerS ?? NaN_),
  pt_checksum_rows_per_s: num(inMemory?.ptRowsPerS ?? NaN_),
  ratio_vs_pt_checksum: num((inMemory?.verifyRowsPerS ?? NaN_) / (inMemory?.ptRowsPerS ?? NaN_), 2),
  verify_cpu_s_per_100k_source: num(inMemory?.verifyCpuPer100k[0] ?? NaN_, 2),
  verify_cpu_s_per_100k_target: num(inMemory?.verifyCpuPer100k[1] ?? NaN_, 2),
  pt_checksum_cpu_s_per_100k: num(inMemory?.ptCpuPer100k ?? NaN_, 2),
  disk_bound_buffer_pool_mb: asConfigured?.bufferPoolMb ?? null,
  disk_bound_verify_rows_per_s: num(asConfigured?.verifyRowsPerS ?? NaN_),
  disk_bound_pt_checksum_rows_per_s: num(asConfigured?.ptRowsPerS ?? NaN_),
  disk_bound_ratio_vs_pt_checksum: num((asConfigured?.verifyRowsPerS ?? NaN_) / (asConfigured?.ptRowsPerS ?? NaN_), 2),
  fg_worker_args: opts.fgWorkerArgs || '(defaults)',
  fg_tps_alone: num(alone.tps, 2),
  fg_tps_during: num(during.tps, 2),
  fg_p95_ms_alone: num(alone.p95Ms, 2),
  fg_p95_ms_during: num(during.p95Ms, 2),
  fg_p95_ratio: num(during.p95Ms / alone.p95Ms, 2),
  fg_copy_rows_per_s: num(fgCopyRowsPerS),
  fg_copy_vs_full_speed: num(fgCopyRowsPerS / cleaveRowsPerS, 3),
  fg_throttled_share: fgThrottledShare,
  fg_backfill_still_running: stillCopying,
  worker_rss_mb: num(workerRssMb),
};
console.log('');
console.log('| measure | value |');
console.log('|---|---|');
for (const [k, v] of Object.entries(result)) console.log(`| ${k} | ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)} |`);
await store.listMigrations();
await control.query(`DROP DATABASE \`${prefix}_control\``);
await pools.end();
await src.end();
await t1.query('DROP DATABASE IF EXISTS bench_cleave');
await t1.end();
if (bufferPoolsBefore.length > 0) await Promise.all([resizeBufferPool('source', bufferPoolsBefore[0]!), resizeBufferPool('target1', bufferPoolsBefore[1]!)]);
console.log(JSON.stringify(result));
