// npm run bench:capture [-- --seconds N --writers W]
// Binlog change capture under the highest write rate the source takes, against a native MariaDB
// replica in the same run. W writer connections (a child process) do single-row INSERT / UPDATE /
// DELETE on the sample tables sessions and addresses for N seconds, as fast as the source answers,
// while one @cleave/capture stream (a child process, as a worker runs it) brings the changes to
// target1 (guarded as `cleave start` guards it, nobody reading it unless `--shadow-read`), and a fourth private mariadbd replicates the same database from the same binlog
// position. Lag: a heartbeat row (bench_heartbeat, moved and replicated like the other tables)
// gets a new time on the source every 100 ms; each side is read every few ms, and a heartbeat's
// lag on a side is the time from the source acknowledging its write to the first read that shows
// it there. A second heartbeat, in a sessions row the writers leave alone, measures the lag of a
// change to a busy table. The capture's checkpoint lag (its control-store checkpoint passing the source's binlog
// end taken after the heartbeat) is what a switch's fence waits for. Afterwards every table is
// compared row by row (hex of every column) on source, target1 and replica.
// Last line: JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type mysql from 'mysql2/promise';
import { parsePlan, SOURCE_CONDITION_FLAG } from '@cleave/core';
import { ControlStore, FORWARD_STREAM, compareCoordinates, currentCoordinate, type CaptureStreams, type MigrationRecord } from '@cleave/control';
import { MysqlPools, denyWrites, markShadowReads, parseConnectionUrl, type TransactionalPool } from '@cleave/mysql';
import {
  controlDatabase,
  createTestDatabases,
  endpointUrl,
  hexRows,
  sampleAccountsStatements,
  seedSampleAccounts,
  servicesConfig,
  servicesUp,
  spawnUntilReady,
  type ReadyProcess,
  type TestDatabases,
} from '@cleave/testing';
import type { CaptureChildSettings, CaptureTiming } from './lib/capture-child.js';
import type { WritersReport, WritersSettings } from './lib/capture-writers.js';
import { HeartbeatLag, percentile, replicaExecuted, slope, type BeatLag } from './lib/lag.js';
import { replicaPort, replicationHealthy, startReplica, startReplication, type ReplicaInstance } from './lib/replica.js';
import { procCpuSeconds, sourceAndTargetPids } from './lib/shell.js';

const opts = new Command('bench:capture')
  .option('--seconds <n>', 'seconds of write load', '60')
  .option('--writers <n>', 'concurrent writer connections', '8')
  .option('--users <n>', 'users the seeded rows refer to (sessions 3x, addresses 1.5x)', '10000')
  .option('--replica-port <n>', 'port of the replica mariadbd (default CLEAVE_REPLICA_PORT or 33064)')
  .option('--replica-threads <n>', "the replica's slave_parallel_threads (0: MariaDB's default, one SQL thread)", '0')
  .option('--heartbeat-ms <n>', 'how often the heartbeat row gets a new time', '100')
  .option('--poll-ms <n>', 'how often each side is read for the heartbeat', '10')
  .option('--checkpoint-poll-ms <n>', "how often the capture's checkpoint is read (on the busy source)", '50')
  .option('--drain-timeout <s>', 'seconds to wait for both sides to catch up after the load', '120')
  .option('--cpu-prof-dir <dir>', "write a CPU profile of the capture process there (node's --cpu-prof)")
  .option('--allocation-prof-dir <dir>', 'write a sampling profile of every allocation of the capture process there (collected objects included: the heap\'s churn)')
  .option('--capture-node-flags <flags>', 'node flags of the capture process, space-separated (e.g. --max-semi-space-size=32)')
  .option('--shadow-read', "mark target1 as a shadow that serves reads (reads_switched): the capture then syncs under the shadow's lock")
  .parse()
  .opts<{ seconds: string; writers: string; users: string; replicaPort?: string; replicaThreads: string; heartbeatMs: string; pollMs: string; checkpointPollMs: string; drainTimeout: string; cpuProfDir?: string; allocationProfDir?: string; shadowRead?: boolean; captureNodeFlags?: string }>();
const SECONDS = Number(opts.seconds);
const WRITERS = Number(opts.writers);
const USERS = Number(opts.users);
const HEARTBEAT_MS = Number(opts.heartbeatMs);
const POLL_MS = Number(opts.pollMs);
const CHECKPOINT_POLL_MS = Number(opts.checkpointPollMs);
const DRAIN_TIMEOUT_MS = Number(opts.drainTimeout) * 1000;
/** A capture keeps up when its lag at the end of the load is under this, and did not trend up. */
const KEEPS_UP_END_MS = 1_000;
const KEEPS_UP_GROWTH_MS_PER_S = 10;
const MOVED = ['sessions', 'addresses', 'bench_heartbeat'] as const;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const log = (line: string) => console.log(`[bench] ${line}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Everything started is stopped in reverse order, whatever happens (an error, Ctrl-C).
const cleanups: Array<() => Promise<unknown>> = [];
async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping what the bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** The sample tables the load writes (addresses without its foreign key to users, which stays behind) and the heartbeat. */
function benchDdl(): string[] {
  const wanted = sampleAccountsStatements().filter((s) => /^CREATE TABLE (sessions|addresses) /.test(s));
  return [...wanted.map((s) => s.replace(/,\s*CONSTRAINT [^\n]*/g, '')), 'CREATE TABLE bench_heartbeat (id INT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL) ENGINE=InnoDB'];
}

/** Lines of JSON a child writes on stdout, to `onLine`; the rest of its output is kept for errors. */
function jsonLines(child: ChildProcess, onLine: (line: Record<string, unknown>) => void): { output(): string } {
  let buffer = '';
  let output = '';
  const take = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
    buffer += d.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('{')) {
        try {
          onLine(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not one of ours
        }
      }
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  return { output: () => output };
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, everyMs = 50): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
  return performance.now() - started;
}

const config = servicesConfig(process.env);
let exitCode = 1;
try {
  await servicesUp(config, process.env, (l) => log(l));
  const replica: ReplicaInstance = await startReplica(config, replicaPort(process.env, opts.replicaPort), log);
  cleanups.push(() => replica.stop());
  log(`replica mariadbd 127.0.0.1:${replica.port} ${replica.state} (pid ${replica.pid}, server-id 4)`);
  const replicaAdmin = await replica.connect();
  cleanups.push(() => replicaAdmin.end());
  await replicaAdmin.query('STOP SLAVE');
  await replicaAdmin.query('RESET SLAVE ALL');
  // Databases an interrupted run left on the private replica.
  const [stale] = (await replicaAdmin.query("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'benchcapture%'")) as unknown as [Array<{ name: string }>];
  for (const { name } of stale) await replicaAdmin.query(`DROP DATABASE \`${name}\``);

  const dbs: TestDatabases = await createTestDatabases('benchcapture');
  cleanups.push(() => dbs.drop());
  const DB = dbs.name;
  await replicaAdmin.query(`CREATE DATABASE \`${DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  cleanups.push(() => replicaAdmin.query(`DROP DATABASE IF EXISTS \`${DB}\``));
  const source = await dbs.admin('source');
  const target1 = await dbs.admin('target1');
  const replicaDb = await replica.connect(DB);
  cleanups.push(() => replicaDb.end());
  // Same empty tables on every side; every row after this arrives on target1 and the replica through the binlog.
  for (const ddl of benchDdl()) for (const conn of [source, target1, replicaDb]) await conn.query(ddl);
  const start = await currentCoordinate(source, 'source');
  await startReplication(replicaAdmin, {
    host: config.host,
    port: dbs.source.endpoint.port,
    user: dbs.source.endpoint.user,
    password: dbs.source.endpoint.password,
    file: start.file,
    position: start.position,
    database: DB,
    parallelThreads: Number(opts.replicaThreads),
  });
  cleanups.push(() => replicaAdmin.query('STOP SLAVE')); // before the databases are dropped
  log(`replica replicating ${DB} from ${start.file}:${start.position} (slave_parallel_threads ${opts.replicaThreads})`);

  // The migration and its forward stream, aimed at the same position.
  const pools = new MysqlPools({ maxConnectionsPerServer: 20 });
  cleanups.push(() => pools.end());
  const control = pools.pool(parseConnectionUrl(endpointUrl(dbs.source.endpoint)), { connectionLimit: 4 }).promise;
  const store = await ControlStore.open({ pool: control, database: controlDatabase(dbs) });
  const streams: CaptureStreams = store.captureStreams();
  const plan = parsePlan({
    version: 1,
    name: 'bench-capture',
    source: { server: 'source', database: DB },
    targets: { t1: { server: 'target1', database: DB } },
    moves: [{ kind: 'tables', tables: [...MOVED], to: 't1' }],
  });
  const created = await store.createMigration(plan, { actor: 'bench' }, { capture: { server: 'source', from: start } });
  // As `cleave start` does: target1 refuses writes without the guard epoch (its triggers cost every
  // sync's row changes). Its guard row says whether anyone reads it, which decides the sync's form.
  const target1Pool = pools.pool(parseConnectionUrl(endpointUrl(dbs.target1.endpoint)), { connectionLimit: 2 }).promise as unknown as TransactionalPool;
  const guarded = { migrationId: created.id, migrationName: plan.name, database: DB, tables: [...MOVED] };
  await denyWrites(target1Pool, guarded, created.guardEpoch, { lockWaitSeconds: 5 });
  if (opts.shadowRead === true) await markShadowReads(target1Pool, guarded, true, { lockWaitSeconds: 5 });
  const syncForm = opts.shadowRead === true ? 'locked (target1 serves reads, as in reads_switched)' : 'unlocked (nobody reads target1, as in dual_write)';
  log(`capture syncs ${syncForm}`);
  const migration: MigrationRecord = await store.changePhase(created.id, { from: 'planned', to: 'dual_write' }, { actor: 'bench' });
  const stream = async () => {
    const record = await streams.get(migration.id, FORWARD_STREAM);
    if (record === null) throw new Error('the capture stream is gone from the control store');
    if (record.state === 'failed') throw new Error(`the capture stream failed: ${record.error ?? ''}`);
    return record;
  };

  const childSettings: CaptureChildSettings = {
    migrationId: migration.id,
    stream: FORWARD_STREAM,
    controlDatabase: controlDatabase(dbs),
    controlServer: 'source',
    servers: { source: endpointUrl(dbs.source.endpoint), target1: endpointUrl(dbs.target1.endpoint) },
    ...(opts.allocationProfDir === undefined ? {} : { allocationProfileDir: path.resolve(opts.allocationProfDir) }),
  };
  const captureChild: ReadyProcess = await spawnUntilReady(process.execPath, [...(opts.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`]), ...(opts.captureNodeFlags?.split(' ').filter((f) => f !== '') ?? []), SOURCE_CONDITION_FLAG, '--import', TSX, `${ROOT}tools/bench/lib/capture-child.ts`], {
    env: { ...process.env, BENCH_CAPTURE: JSON.stringify(childSettings) },
    cwd: ROOT,
    ready: (o) => o.includes('"event":"ready"'),
    timeoutMs: 60_000,
  });
  cleanups.push(() => captureChild.stop());
  const capturePid = captureChild.child.pid!;
  /** The stream's counters (checkpoints with keys, keys, time in calls per server), asked for with SIGUSR2. */
  const timingWaiters: Array<(timing: CaptureTiming) => void> = [];
  jsonLines(captureChild.child, (line) => {
    if (line['event'] === 'timing') timingWaiters.shift()?.(line as unknown as CaptureTiming);
  });
  const captureTiming = () =>
    new Promise<CaptureTiming>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the capture process did not report its timing')), 10_000);
      timingWaiters.push((timing) => {
        clearTimeout(timer);
        resolve(timing);
      });
      process.kill(capturePid, 'SIGUSR2');
    });
  log(`capture stream running in pid ${capturePid}`);

  /** Both sides applied everything the source committed until now. */
  const catchUp = async (what: string, timeoutMs: number): Promise<{ captureMs: number; replicaMs: number }> => {
    const goal = await currentCoordinate(source, 'source');
    const [captureMs, replicaMs] = await Promise.all([
      waitUntil(`the capture to pass ${goal.file}:${goal.position} (${what})`, timeoutMs, async () => compareCoordinates((await stream()).checkpoint, goal) >= 0),
      waitUntil(`the replica to pass ${goal.file}:${goal.position} (${what})`, timeoutMs, async () => {
        await replicationHealthy(replicaAdmin);
        return compareCoordinates(await replicaExecuted(replicaAdmin), goal) >= 0;
      }),
    ]);
    return { captureMs, replicaMs };
  };

  // ---- seed through the binlog: both sides start equal ----------------------------------------
  const seedStarted = performance.now();
  await source.query("INSERT INTO bench_heartbeat (id, at) VALUES (1, '2000-01-01 00:00:00')");
  await seedSampleAccounts(source, { users: USERS, only: ['sessions', 'addresses'] });
  // A sessions row the writers never pick: a second heartbeat, on a table that changes thousands
  // of times a second, where a change waits for that table's syncs (the other heartbeat's table
  // changes only by it). Right after the seed's ids, so that the writers' ids stay dense.
  const [busyRow] = (await source.query(
    "INSERT INTO sessions (user_id, token_hash, ip, user_agent, created_at, expires_at) VALUES (1, UNHEX(SHA2('bench heartbeat', 256)), X'7f000001', 'bench heartbeat', NOW(6), '2000-01-01 00:00:00')",
  )) as unknown as [{ insertId: number }];
  const busyHeartbeatId = Number(busyRow.insertId);
  const seeded = await catchUp('the seed', 300_000);
  const [[maxIds]] = (await source.query(`SELECT (SELECT MAX(id) FROM sessions) AS s, (SELECT MAX(id) FROM addresses) AS a, (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM addresses) AS n`)) as unknown as [[{ s: string; a: string; n: string }]];
  log(`seeded ${maxIds.n} rows through the binlog in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s (capture caught up after ${(seeded.captureMs / 1000).toFixed(1)} s, replica after ${(seeded.replicaMs / 1000).toFixed(1)} s)`);

  // ---- heartbeat and the readers of each side ----------------------------------------------------
  const lag = new HeartbeatLag();
  const busyLag = new HeartbeatLag();
  let measuring = true;
  const heartbeatConn = await dbs.admin('source');
  const capturePoll = await dbs.admin('target1');
  const replicaPoll = await replica.connect(DB);
  cleanups.push(() => replicaPoll.end());
  const readHeartbeats = async (conn: mysql.Connection): Promise<{ at: string | null; busy: string | null }> => {
    const [rows] = (await conn.query(`SELECT (SELECT at FROM bench_heartbeat WHERE id = 1) AS at, (SELECT expires_at FROM sessions WHERE id = ${busyHeartbeatId}) AS busy`)) as unknown as [Array<{ at: string | null; busy: string | null }>];
    return rows[0] ?? { at: null, busy: null };
  };
  const loops: Array<Promise<void>> = [];
  loops.push(
    (async () => {
      for (let tick = performance.now(); measuring; ) {
        const { index, at } = lag.next();
        await heartbeatConn.query('UPDATE bench_heartbeat SET at = ? WHERE id = 1', [at]);
        lag.acked(index, performance.now(), await currentCoordinate(heartbeatConn, 'source'));
        const busy = busyLag.next();
        await heartbeatConn.query(`UPDATE sessions SET expires_at = ? WHERE id = ${busyHeartbeatId}`, [busy.at]);
        busyLag.acked(busy.index, performance.now());
        tick += HEARTBEAT_MS;
        await sleep(Math.max(0, tick - performance.now()));
      }
    })(),
  );
  for (const [side, conn] of [['capture', capturePoll], ['replica', replicaPoll]] as const) {
    loops.push(
      (async () => {
        while (measuring) {
          const { at, busy } = await readHeartbeats(conn);
          const now = performance.now();
          lag.sawValue(side, at, now);
          busyLag.sawValue(side, busy, now);
          await sleep(POLL_MS);
        }
      })(),
    );
  }
  /** changesApplied of the stream over time, for the per-second table. */
  const applied: Array<[number, number]> = [];
  loops.push(
    (async () => {
      while (measuring) {
        const record = await stream();
        const now = performance.now();
        lag.sawCoordinate('checkpoint', record.checkpoint, now);
        applied.push([now, record.changesApplied]);
        await sleep(CHECKPOINT_POLL_MS);
      }
    })(),
  );
  const loopsDone = Promise.all(loops);
  loopsDone.catch(() => undefined);
  await sleep(1_000);

  // ---- the load ----------------------------------------------------------------------------------
  const writerSettings: WritersSettings = {
    host: config.host,
    port: dbs.source.endpoint.port,
    user: dbs.source.endpoint.user,
    database: DB,
    writers: WRITERS,
    seconds: SECONDS,
    maxSessionId: Number(maxIds.s),
    reservedSessionId: busyHeartbeatId,
    maxAddressId: Number(maxIds.a),
    users: USERS,
  };
  const writersChild = spawn(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, `${ROOT}tools/bench/lib/capture-writers.ts`], {
    env: { ...process.env, BENCH_WRITERS: JSON.stringify(writerSettings), BENCH_WRITERS_PASSWORD: dbs.source.endpoint.password },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const writersExited = new Promise<number | null>((resolve) => writersChild.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (writersChild.exitCode === null && writersChild.signalCode === null) writersChild.kill('SIGTERM');
    await writersExited;
  });
  const cpuPids = { capture: capturePid, writers: writersChild.pid!, source: 0, target1: 0, replica: replica.pid };
  [cpuPids.source, cpuPids.target1] = sourceAndTargetPids(config) as [number, number];
  const cpuNow = () => Object.fromEntries(Object.entries(cpuPids).map(([name, pid]) => [name, procCpuSeconds(pid)])) as Record<keyof typeof cpuPids, number>;
  /** The load window as the writers report it (filled in by their lines). */
  const load = {
    start: 0,
    end: 0,
    cpuStart: cpuNow(),
    writersCpuStart: 0,
    appliedStart: 0,
    timingStart: undefined as Promise<CaptureTiming> | undefined,
    timingEnd: undefined as Promise<CaptureTiming> | undefined,
    done: undefined as WritersReport | undefined,
  };
  /** [ms since the load started, statements so far] from the writers' progress lines. */
  const progress: Array<[number, number]> = [[0, 0]];
  let nextLiveLog = 5_000;
  const onWriters = (line: Record<string, unknown>) => {
    const report = line as unknown as WritersReport;
    if (report.event === 'start') {
      load.start = performance.now();
      load.cpuStart = cpuNow();
      load.writersCpuStart = report.cpuSeconds;
      load.timingStart = captureTiming();
      load.appliedStart = applied.at(-1)?.[1] ?? 0;
    } else if (report.event === 'progress') {
      progress.push([report.ms, report.statements]);
      if (report.ms >= nextLiveLog) {
        nextLiveLog += 5_000;
        const now = performance.now();
        const recent = (side: string) => Math.round(Math.max(0, ...lag.lags(side, now - 2_000, now, now).map((l) => l.lagMs)));
        log(`t=${(report.ms / 1000).toFixed(0)} s: ${report.statements} statements (${report.errors} errors); lag over the last 2 s: capture ${recent('capture')} ms, replica ${recent('replica')} ms`);
      }
    } else if (report.event === 'done') {
      load.end = performance.now();
      load.timingEnd = captureTiming();
      load.done = report;
    }
  };
  const writersOutput = jsonLines(writersChild, onWriters);
  log(`load: ${WRITERS} writers for ${SECONDS} s …`);
  const writersCode = await writersExited;
  const { done, start: loadStart, end: loadEnd, cpuStart, appliedStart } = load;
  if (done === undefined || writersCode !== 0) throw new Error(`the writers exited (${writersCode}) without a report:\n${writersOutput.output().slice(-2_000)}`);
  const cpuEnd = cpuNow();
  cpuEnd.writers = cpuStart.writers + done.cpuSeconds - load.writersCpuStart; // it has exited: its own count
  const [timingStart, timingEnd] = await Promise.all([load.timingStart!, load.timingEnd!]);
  const appliedEnd = (await stream()).changesApplied;
  const windowS = (loadEnd - loadStart) / 1000;
  log(`load done: ${done.statements} statements, ${done.rows} rows changed, ${done.errors} errors in ${windowS.toFixed(1)} s${done.lastError ? ` (last error: ${done.lastError})` : ''}`);

  // ---- drain: how long each side takes to show a heartbeat written after the load ----------------
  const drainStarted = performance.now();
  const drained: { capture: number | null; replica: number | null; checkpoint: number | null } = { capture: null, replica: null, checkpoint: null };
  await waitUntil('both sides to show a heartbeat written after the load', DRAIN_TIMEOUT_MS, async () => {
    for (const side of ['capture', 'replica', 'checkpoint'] as const) if (drained[side] === null && lag.seenSince(side, loadEnd)) drained[side] = performance.now() - drainStarted;
    return Object.values(drained).every((v) => v !== null);
  }, POLL_MS).catch((error: unknown) => log(`drain: ${(error as Error).message}`));
  measuring = false;
  const measuredUntil = performance.now();
  await loopsDone;
  for (const conn of [heartbeatConn, capturePoll]) await conn.end();
  const final = await catchUp('the end of the run', DRAIN_TIMEOUT_MS).catch((error: unknown) => {
    log(`final catch-up: ${(error as Error).message}`);
    return null;
  });

  // ---- both sides equal? ------------------------------------------------------------------------
  const differences: string[] = [];
  const replicaDifferences: string[] = [];
  let rowsCompared = 0;
  if (final !== null) {
    for (const table of MOVED) {
      const [s, t, r] = await Promise.all([hexRows(source, DB, table, 'id'), hexRows(target1, DB, table, 'id'), hexRows(replicaDb, DB, table, 'id')]);
      rowsCompared += s.length;
      const diff = (other: string[]) => (other.length !== s.length ? `${table}: ${s.length} rows on the source, ${other.length} on the other side` : other.some((row, i) => row !== s[i]) ? `${table}: ${other.filter((row, i) => row !== s[i]).length} rows differ` : null);
      const dt = diff(t);
      const dr = diff(r);
      if (dt !== null) differences.push(dt);
      if (dr !== null) replicaDifferences.push(dr);
    }
  }
  const sidesEqual = final !== null && differences.length === 0;
  const replicaEqual = final !== null && replicaDifferences.length === 0;

  // The stream stops as a worker's does on shutdown: its last checkpoint, then 'stopped'.
  await captureChild.stop();
  await sleep(100); // the last lines of its output
  const captureEnd = /"event":"ended","end":"([^"]*)"/.exec(captureChild.output())?.[1] ?? 'unknown';

  // ---- figures ----------------------------------------------------------------------------------
  const lagsOf = (side: string, of = lag): BeatLag[] => of.lags(side, loadStart, loadEnd, measuredUntil);
  const summary = (side: string, of = lag) => {
    const lags = lagsOf(side, of);
    const values = lags.map((l) => l.lagMs);
    const end = lags.filter((l) => l.ackedMs >= loadEnd - 1_000).map((l) => l.lagMs);
    return {
      beats: lags.length,
      censored: lags.filter((l) => l.censored).length,
      p50: Math.round(percentile(values, 50)),
      p99: Math.round(percentile(values, 99)),
      max: Math.round(values.length > 0 ? Math.max(...values) : Number.NaN),
      end: Math.round(end.length > 0 ? Math.max(...end) : Number.NaN),
      /** The lag of the first heartbeat written after the load: the backlog drained. */
      afterLoad: Math.round(of.lags(side, loadEnd, Number.POSITIVE_INFINITY, measuredUntil)[0]?.lagMs ?? Number.NaN),
      growth: Number(slope(lags.map((l) => [(l.ackedMs - loadStart) / 1000, l.lagMs] as const)).toFixed(1)),
    };
  };
  const capture = summary('capture');
  const checkpoint = summary('checkpoint');
  const replicaLag = summary('replica');
  const busyCapture = summary('capture', busyLag);
  const busyReplica = summary('replica', busyLag);
  const changes = appliedEnd - appliedStart;
  const cpu = Object.fromEntries(Object.keys(cpuEnd).map((k) => [k, cpuEnd[k as keyof typeof cpuEnd] - cpuStart[k as keyof typeof cpuStart]])) as Record<keyof typeof cpuPids, number>;
  const per1k = (seconds: number, count: number) => (count > 0 ? Number(((seconds * 1000) / count).toFixed(3)) : null);
  const keepsUp = Number.isFinite(capture.end) && capture.end < KEEPS_UP_END_MS && capture.growth < KEEPS_UP_GROWTH_MS_PER_S && capture.censored === 0;

  // Per-interval table: source statements/s, capture keys applied/s, worst lag of the heartbeats written in it.
  const step = Math.max(1, Math.round(SECONDS / 20));
  const statementsAt = (ms: number) => {
    let last = 0;
    for (const [t, n] of progress) if (t <= ms) last = n;
    return last;
  };
  const appliedAt = (ms: number) => {
    let last = appliedStart;
    for (const [t, n] of applied) if (t - loadStart <= ms) last = n;
    return last;
  };
  log('');
  log(`   t s  source stmts/s  capture keys/s  capture lag ms  checkpoint lag ms  replica lag ms   (worst heartbeat of the interval)`);
  for (let t = 0; t < Math.round(windowS); t += step) {
    const from = t * 1000;
    const to = Math.min((t + step) * 1000, windowS * 1000);
    const worst = (side: string) => {
      const v = lagsOf(side).filter((l) => l.ackedMs - loadStart >= from && l.ackedMs - loadStart < to).map((l) => l.lagMs);
      return v.length === 0 ? '-' : String(Math.round(Math.max(...v)));
    };
    const seconds = (to - from) / 1000;
    log(
      `${String(t).padStart(6)}  ${String(Math.round((statementsAt(to) - statementsAt(from)) / seconds)).padStart(14)}  ${String(Math.round((appliedAt(to) - appliedAt(from)) / seconds)).padStart(14)}  ${worst('capture').padStart(14)}  ${worst('checkpoint').padStart(17)}  ${worst('replica').padStart(14)}`,
    );
  }
  log('');
  log(`${WRITERS} writers, ${windowS.toFixed(1)} s: ${Math.round(done.statements / windowS)} statements/s (${Math.round(done.rows / windowS)} rows changed/s, ${done.errors} errors); mix ${JSON.stringify(done.byKind ?? {})}`);
  log('                          capture (target1)   replica');
  const row = (label: string, a: string | number, b: string | number) => log(`${label.padEnd(26)}${String(a).padStart(17)}${String(b).padStart(10)}`);
  row('heartbeats measured', capture.beats, replicaLag.beats);
  row('lag p50 ms', capture.p50, replicaLag.p50);
  row('lag p99 ms', capture.p99, replicaLag.p99);
  row('lag max ms', capture.max, replicaLag.max);
  row('lag, last 1 s of load, ms', capture.end, replicaLag.end);
  row('lag trend ms per s', capture.growth, replicaLag.growth);
  row('first heartbeat after load', drained.capture === null ? 'timeout' : capture.afterLoad, drained.replica === null ? 'timeout' : replicaLag.afterLoad);
  row('checkpoint lag p50/p99 ms', `${checkpoint.p50}/${checkpoint.p99}`, '-');
  row('busy table: lag p50/p99 ms', `${busyCapture.p50}/${busyCapture.p99}`, `${busyReplica.p50}/${busyReplica.p99}`);
  row('applied per s', `${Math.round(changes / windowS)} keys`, '-');
  row('applier CPU s', `${cpu.capture.toFixed(1)} worker`, `${cpu.replica.toFixed(1)}`);
  // Per row changed on both sides: a statement that changed no row (a delete of a deleted id) is not in the binlog.
  row('  per 1k rows changed', `${per1k(cpu.capture, changes)}`, `${per1k(cpu.replica, done.rows)}`);
  row('target mariadbd CPU s', cpu.target1.toFixed(1), cpu.replica.toFixed(1));
  row('equal to the source', sidesEqual ? 'yes' : 'NO', replicaEqual ? 'yes' : 'NO');
  log(`CPU s during the load: source mariadbd ${cpu.source.toFixed(1)}, target1 mariadbd ${cpu.target1.toFixed(1)}, replica mariadbd ${cpu.replica.toFixed(1)}, capture worker ${cpu.capture.toFixed(1)}, writers ${cpu.writers.toFixed(1)} (2 cores: ${(2 * windowS).toFixed(0)} s available)`);
  const checkpoints = timingEnd.checkpoints - timingStart.checkpoints;
  const spent = (label: string) => {
    const [ms, n] = timingEnd.calls[label] ?? [0, 0];
    const [ms0, n0] = timingStart.calls[label] ?? [0, 0];
    return { s: (ms - ms0) / 1000, calls: n - n0 };
  };
  // The syncs' statements on target1 run on the stream's own connections (see SyncSession), which are not timed here.
  const inCalls = ['source', 'control'].map((label) => ({ label, ...spent(label) }));
  const callSeconds = inCalls.reduce((sum, c) => sum + c.s, 0);
  log(
    `capture stream during the load: ${checkpoints} checkpoints with keys applied, ${checkpoints > 0 ? Math.round(changes / checkpoints) : 0} keys each on average, one every ${checkpoints > 0 ? Math.round((windowS * 1000) / checkpoints) : '-'} ms; ` +
      `its ${windowS.toFixed(1)} s: ${inCalls.map((c) => `${c.label} ${c.s.toFixed(1)} s (${c.calls} calls, ${c.calls > 0 ? ((c.s * 1000) / c.calls).toFixed(2) : '-'} ms each)`).join(', ')}, ` +
      (callSeconds <= windowS
        ? `the rest ${(windowS - callSeconds).toFixed(1)} s on target1 (the syncs), reading and decoding the binlog, and idle`
        : `calls overlap (each table's syncs run on their own, side by side): ${callSeconds.toFixed(1)} s of calls in ${windowS.toFixed(1)} s`) +
      `; CPU ${cpu.capture.toFixed(1)} s`,
  );
  const tail = (label: string) => {
    const [over20, over50, max] = timingEnd.slow[label] ?? [0, 0, 0];
    const [over20s, over50s] = timingStart.slow[label] ?? [0, 0, 0];
    return `${label} ${over20 - over20s} over 20 ms, ${over50 - over50s} over 50 ms (slowest of the run ${max} ms)`;
  };
  const failed = Object.entries(timingEnd.errors).map(([key, n]) => `${key} x${n - (timingStart.errors[key] ?? 0)}`);
  log(`the stream's slow calls during the load (target1's not timed): ${['source', 'control'].map(tail).join('; ')}; failed calls (errno): ${failed.length === 0 ? 'none' : failed.join(', ')}`);
  const kinds = Object.entries(timingEnd.slowKinds)
    .map(([kind, [n, ms]]) => [kind, n - (timingStart.slowKinds[kind]?.[0] ?? 0), ms - (timingStart.slowKinds[kind]?.[1] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[2] - a[2])
    .slice(0, 8);
  log(`the slow calls by statement: ${kinds.map(([kind, n, ms]) => `${kind}: ${n} (${Math.round(ms)} ms)`).join('; ') || 'none'}`);
  const perKind = Object.entries(timingEnd.kindCalls)
    .map(([kind, n]) => [kind, n - (timingStart.kindCalls[kind] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  log(`the stream's calls by statement: ${perKind.map(([kind, n]) => `${kind}: ${n}`).join('; ')}`);
  log(
    `the capture process during the load: event loop delay p50 ${timingEnd.loopDelayMs[0]} ms, p99 ${timingEnd.loopDelayMs[1]} ms, max ${timingEnd.loopDelayMs[2]} ms ` +
      `(sampled every 5 ms); ${timingEnd.gc[0]} garbage collections, ${timingEnd.gc[1]} ms in all, the longest ${timingEnd.gc[2]} ms (${Object.entries(timingEnd.gcKinds).map(([kind, [count, ms]]) => `${kind} ${count} in ${ms} ms`).join(', ')})`,
  );
  for (const d of differences) log(`target1 differs: ${d}`);
  for (const d of replicaDifferences) log(`replica differs: ${d}`);
  log(`${rowsCompared} source rows compared; capture stream ended: ${captureEnd}`);
  const meetsTarget = keepsUp && capture.p99 < 1_000 && capture.p99 <= replicaLag.p99;
  exitCode = sidesEqual && keepsUp ? 0 : 1;
  console.log(
    JSON.stringify({
      bench: 'capture',
      seconds: Number(windowS.toFixed(1)),
      writers: WRITERS,
      seeded_rows: Number(maxIds.n),
      source_writes_per_s: Math.round(done.statements / windowS),
      source_rows_changed_per_s: Math.round(done.rows / windowS),
      write_errors: done.errors,
      capture_changes_per_s: Math.round(changes / windowS),
      capture_lag_p50_ms: capture.p50,
      capture_lag_p99_ms: capture.p99,
      capture_lag_max_ms: capture.max,
      capture_lag_end_ms: capture.end,
      capture_lag_growth_ms_per_s: capture.growth,
      capture_lag_after_load_ms: drained.capture === null ? null : capture.afterLoad,
      capture_checkpoint_lag_p50_ms: checkpoint.p50,
      capture_checkpoint_lag_p99_ms: checkpoint.p99,
      replica_lag_p50_ms: replicaLag.p50,
      replica_lag_p99_ms: replicaLag.p99,
      replica_lag_max_ms: replicaLag.max,
      replica_lag_end_ms: replicaLag.end,
      replica_lag_after_load_ms: drained.replica === null ? null : replicaLag.afterLoad,
      capture_busy_table_lag_p50_ms: busyCapture.p50,
      capture_busy_table_lag_p99_ms: busyCapture.p99,
      replica_busy_table_lag_p50_ms: busyReplica.p50,
      replica_busy_table_lag_p99_ms: busyReplica.p99,
      replica_parallel_threads: Number(opts.replicaThreads),
      capture_sync: opts.shadowRead === true ? 'locked' : 'unlocked',
      keeps_up: keepsUp,
      worker_cpu_s_per_1k_changes: per1k(cpu.capture, changes),
      target1_cpu_s_per_1k_changes: per1k(cpu.target1, changes),
      replica_cpu_s_per_1k_changes: per1k(cpu.replica, done.rows),
      capture_checkpoints: checkpoints,
      capture_call_s: Object.fromEntries(inCalls.map((c) => [c.label, Number(c.s.toFixed(2))])),
      cpu_s: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number(v.toFixed(2))])),
      heartbeats: capture.beats,
      sides_equal: sidesEqual,
      replica_equal: replicaEqual,
      capture_end: captureEnd,
      meets_target: meetsTarget,
      targets: { keeps_up: true, capture_lag_p99_ms: '< 1000 and <= replica_lag_p99_ms' },
    }),
  );
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? (error as Error).message}`);
  console.log(JSON.stringify({ bench: 'capture', error: (error as Error).message, keeps_up: null, sides_equal: null }));
} finally {
  await cleanup();
}
process.exit(exitCode);
