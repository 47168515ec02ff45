/**
 * `npm run demo [-- --users N --keep-running]`: cleave end to end on this machine. Starts the local services,
 * seeds a sample account database, starts a worker and a sample account service that reads and
 * writes through @cleave/router, then plans, backfills, verifies, switches reads and writes and
 * finalizes with the real CLI, checks that no acknowledged write was lost, and prints a summary
 * whose last line is one JSON object. Exits non-zero on a failed or lost write or differences.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { ControlStore, readMigrationStatus, type MigrationStatus } from '@cleave/control';
import type { CutoverResult } from '@cleave/cutover';
import { LOCAL_ACCOUNTS, createSampleAccounts, endpointUrl, ensureLocalAccounts, mysqlEndpoints, seedSampleAccounts, servicesConfig, servicesUp, spawnUntilReady, type AccountRole, type MariadbInstanceName } from '@cleave/testing';
import { COORDINATOR, Children, ROOT, SERVICE, TSX, cleave, cliJson, elapsed, fmtInt, fmtMs, jsonLines, log, parseArgs, sleep, startWorker, type CliRun } from './demo-lib.js';
import type { ServiceFinal, ServiceSettings } from './demo-types.js';
import { SOURCE_CONDITION_FLAG } from '@cleave/core';

const DATABASE = 'demo_accounts';
const CONTROL_DATABASE = 'demo_control';
const QUEUE_PREFIX = 'demo';
const WORKER_ARGS = ['--concurrency', '4', '--nice-ratio', '0', '--max-source-latency-ratio', '0'];
/** The demo's CLI settings (cleave.config.json format), written for the operator's own commands. */
const CLI_CONFIG_SHOWN = '.cleave/demo/cleave.config.json';
const CLI_CONFIG = `${ROOT}${CLI_CONFIG_SHOWN}`;
/** The account service's control-plane settings: the same, as the service's own account. */
const SERVICE_CONFIG = `${ROOT}.cleave/demo/service.config.json`;

const args = parseArgs(process.argv.slice(2));
const children = new Children();
const admins: mysql.Connection[] = [];
let controlPool: mysql.Pool | undefined;

async function cleanup(): Promise<void> {
  await children.stopAll().catch(() => undefined);
  await Promise.all(admins.splice(0).map((c) => c.end().catch(() => undefined)));
  await controlPool?.end().catch(() => undefined);
  controlPool = undefined;
}
let interrupted: string | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = signal;
    log(`${signal}: stopping the demo's processes`);
    void cleanup().then(() => process.exit(130));
  });
}

interface Summary {
  failed_writes: number;
  lost_writes: number;
  verification_clean: boolean;
  max_pause_ms: number;
  [k: string]: unknown;
}

async function main(): Promise<Summary> {
  // 1. Services and the sample database.
  const config = servicesConfig(process.env);
  log('starting the local services (MariaDB source, target1, target2; Redis)');
  await servicesUp(config, process.env, (line) => log(`  ${line}`));
  // cleave runs as the least-privilege accounts of docs/production.md; the admin account only sets up and checks.
  await ensureLocalAccounts(config);
  const endpoints = mysqlEndpoints(config);
  const urlAs = (role: AccountRole, server: MariadbInstanceName, database?: string) => endpointUrl({ ...endpoints[server], user: LOCAL_ACCOUNTS[role] }, database);
  const serversAs = (role: AccountRole, database?: string) => Object.fromEntries((['source', 'target1', 'target2'] as const).map((s) => [s, urlAs(role, s, database)]));
  const admin = async (server: MariadbInstanceName, database?: string) => {
    const e = endpoints[server];
    const conn = await mysql.createConnection({ host: e.host, port: e.port, user: e.user, password: e.password, database, timezone: 'Z', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, multipleStatements: true, charset: 'utf8mb4_general_ci' });
    admins.push(conn);
    return conn;
  };
  for (const server of ['source', 'target1', 'target2'] as const) {
    const conn = await admin(server);
    await conn.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await conn.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    if (server === 'source') await conn.query(`DROP DATABASE IF EXISTS ${CONTROL_DATABASE}`);
  }
  const redisUrl = `redis://${config.host}:${config.redis.port}`;
  const redis = new Redis(redisUrl);
  let cleared = 0;
  for (const pattern of [`${QUEUE_PREFIX}:*`, `bull:${QUEUE_PREFIX}-*`]) {
    for await (const keys of redis.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) cleared += await redis.del(...keys);
    }
  }
  redis.disconnect();
  log(`fresh databases ${DATABASE} (source, target1, target2) and ${CONTROL_DATABASE}; ${cleared} old Redis keys of prefix "${QUEUE_PREFIX}" cleared`);
  const source = await admin('source', DATABASE);
  const seedStart = Date.now();
  await createSampleAccounts(source);
  await seedSampleAccounts(source, { users: args.users });
  const [counts] = (await source.query(
    `SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM addresses) AS addresses, (SELECT COUNT(*) FROM email_aliases) AS email_aliases, (SELECT COUNT(*) FROM sessions) AS sessions`,
  )) as unknown as [Array<Record<string, string>>];
  log(`seeded ${DATABASE} in ${fmtMs(Date.now() - seedStart)}: ${Object.entries(counts[0]!).map(([t, n]) => `${fmtInt(Number(n))} ${t}`).join(', ')}`);

  // 2. The worker.
  const token = randomBytes(16).toString('hex');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CLEAVE_SERVER_')) env[k] = v;
  Object.assign(env, {
    CLEAVE_SERVER_SOURCE: urlAs('cleave', 'source'),
    CLEAVE_SERVER_TARGET1: urlAs('cleave', 'target1'),
    CLEAVE_SERVER_TARGET2: urlAs('cleave', 'target2'),
    CLEAVE_REDIS_URL: redisUrl,
    CLEAVE_CONTROL_DATABASE: CONTROL_DATABASE,
    CLEAVE_QUEUE_PREFIX: QUEUE_PREFIX,
    CLEAVE_UI_TOKEN: token,
  });
  const worker = await startWorker({ ...env, CLEAVE_WORKER_ID: 'demo-worker' }, WORKER_ARGS);
  children.add('worker', worker.proc);
  const dashboard = `http://127.0.0.1:${worker.port}/`;
  log(`worker ready (pid ${worker.proc.child.pid}, as ${LOCAL_ACCOUNTS.cleave}, the grants of docs/production.md), dashboard ${dashboard}, action token ${token} (paste it into the page to use its buttons)`);
  log(`  worker flags ${WORKER_ARGS.join(' ')}: copies as fast as it can (no nice sleeps, no latency throttle) so that the demo is quick;`);
  log('  the defaults (one lane, nice ratio 4, source latency throttle 1.5x, CPU niceness 10) protect a production source instead');

  // The coordinator service: finishes or aborts a phase change whose CLI process died.
  const coordinator = children.add(
    'coordinator',
    await spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, COORDINATOR], { env: { ...env, CLEAVE_COORDINATOR_PORT: '0' }, cwd: ROOT, ready: (out) => out.includes('"coordinator ready"'), timeoutMs: 60_000 }),
  );
  const coordinatorPort = (jsonLines<{ msg?: string; port?: number }>(coordinator).find((l) => l.msg === 'coordinator ready')?.port ?? '?').toString();
  log(`coordinator ready (pid ${coordinator.child.pid}; /health and /metrics on port ${coordinatorPort})`);
  // The CLI settings of this demo, for an operator's own commands on its migration (local-only password: not printed).
  mkdirSync(`${ROOT}.cleave/demo`, { recursive: true });
  const cliConfig = (role: AccountRole) => JSON.stringify({ servers: serversAs(role), redis: redisUrl, control: { server: 'source', database: CONTROL_DATABASE }, queuePrefix: QUEUE_PREFIX }, null, 2);
  writeFileSync(CLI_CONFIG, cliConfig('cleave'), { mode: 0o600 });
  writeFileSync(SERVICE_CONFIG, cliConfig('service'), { mode: 0o600 });

  // 3. The account service (its own process, its own pools, @cleave/router).
  const settings: ServiceSettings = {
    servers: serversAs('service', DATABASE),
    configFile: SERVICE_CONFIG,
    users: args.users,
    writesPerSecond: args.writesPerSecond,
    readsPerSecond: args.readsPerSecond,
    writeLoops: 8,
    readLoops: 8,
  };
  const service = children.add(
    'account service',
    await spawnUntilReady(process.execPath, [SOURCE_CONDITION_FLAG, '--import', TSX, SERVICE, JSON.stringify(settings)], { cwd: ROOT, ready: (out) => out.includes('"type":"ready"'), timeoutMs: 60_000 }),
  );
  log(`account service running (pid ${service.child.pid}, as ${LOCAL_ACCOUNTS.service}): ~${args.writesPerSecond} writes/s and ~${args.readsPerSecond} reads/s through @cleave/router`);
  const serviceStats = async () => {
    service.child.kill('SIGUSR2');
    await sleep(100);
    return jsonLines<{ type: string; writes: number; failedWrites: number; reads: number; failedReads: number; maxWriteMs: number }>(service)
      .filter((l) => l.type === 'stats')
      .at(-1);
  };

  // 4. Plan and start with the real CLI.
  mkdirSync(`${ROOT}.cleave/demo`, { recursive: true });
  const planFile = `${ROOT}.cleave/demo/plan.json`;
  const planArgs = ['plan', '-d', DATABASE, '--name', 'split-demo', '--move', 'email_aliases,addresses', '--to', 'mail=target1', '--move', 'sessions', '--to', 'sessions=target2', '--allow-fk-split', '-o', planFile, '--json'];
  // The planner needs only reads: it runs as the read-only account.
  const planned = await cleave(planArgs, { ...env, CLEAVE_SERVER_SOURCE: urlAs('planner', 'source') });
  must('cleave plan', planned);
  log(`cleave ${planArgs.join(' ').replace(planFile, '.cleave/demo/plan.json')} (as ${LOCAL_ACCOUNTS.planner})`);
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { targets: Record<string, { server: string; database: string }>; moves: Array<{ tables?: string[]; to: string }> };
  for (const m of plan.moves) log(`  plan: ${(m.tables ?? []).join(', ')} -> ${m.to} (${plan.targets[m.to]?.server}/${plan.targets[m.to]?.database})`);
  const started = cliJson<{ id: string; phase: string; epoch: number }>('cleave start', must('cleave start', await cleave(['start', planFile, '--json'], env)));
  const id = started.id;
  log(`cleave start: migration ${id}, phase ${started.phase} (the router now dual-writes the moved tables)`);
  log(`  the CLI on this migration meanwhile: npx cleave --config ${CLI_CONFIG_SHOWN} status ${id} --watch`);

  // 5. Backfill and the automatic verification.
  controlPool = mysql.createPool({ host: endpoints.source.host, port: endpoints.source.port, user: endpoints.source.user, password: endpoints.source.password, connectionLimit: 2, timezone: 'Z' });
  const store = await ControlStore.open({ pool: controlPool, database: CONTROL_DATABASE });
  const backfillStart = Date.now();
  let status: MigrationStatus;
  let lastLine = 0;
  let backfillDoneAt: number | undefined;
  for (;;) {
    status = await readMigrationStatus(store, id);
    const failed = status.backfill.tables.find((t) => t.state === 'failed' || t.error);
    if (failed) throw new Error(`backfill of ${failed.table} failed: ${failed.error}`);
    if (status.backfill.complete && backfillDoneAt === undefined) backfillDoneAt = Date.now();
    const run = status.verification.at(-1);
    if (Date.now() - lastLine > 2_000 || (run?.finishedAt ?? null) !== null) {
      lastLine = Date.now();
      const tables = status.backfill.tables.map((t) => `${t.table} ${t.percent.toFixed(0)}%`).join(', ');
      const stats = await serviceStats();
      log(
        `backfill ${fmtInt(status.backfill.rowsCopied)} rows (${tables})` +
          (run ? `; verification ${run.clean === null ? `running, ${fmtInt(run.rowsChecked)} rows checked` : run.clean ? 'clean' : 'DIFFERENCES'}` : '') +
          (stats ? `; service ${fmtInt(stats.writes)} writes, ${fmtInt(stats.reads)} reads, ${stats.failedWrites} failed` : ''),
      );
    }
    if (run && run.finishedAt !== null && run.clean !== null) break;
    if (Date.now() - backfillStart > 240_000) throw new Error('backfill and verification did not finish within 4 minutes');
    await sleep(500);
  }
  const firstRun = status.verification.at(-1)!;
  const backfillTimes = status.backfill.tables.filter((t) => t.startedAt && t.finishedAt);
  const backfillMs =
    backfillTimes.length > 0
      ? Math.max(...backfillTimes.map((t) => t.finishedAt!.getTime())) - Math.min(...backfillTimes.map((t) => t.startedAt!.getTime()))
      : (backfillDoneAt ?? Date.now()) - backfillStart;
  const verifyMs = firstRun.finishedAt!.getTime() - firstRun.startedAt.getTime();
  log(`backfill done in ${fmtMs(backfillMs)}; verification ${firstRun.clean ? 'clean' : 'NOT clean'} in ${fmtMs(verifyMs)}: ${fmtInt(firstRun.rowsChecked)} rows checked, ${fmtInt(firstRun.rowsDiffering)} differing, ${fmtInt(firstRun.rowsRepaired)} repaired`);
  if (!firstRun.clean) throw new Error('the automatic verification left differences');

  // 6. The switches, with the real CLI.
  const switches: Array<{ step: string; ms: number; pauseMs: number | null; epoch: number }> = [];
  const change = async (step: string, cliArgs: string[]) => {
    const run = await cleave([...cliArgs, '--json'], env);
    const result = cliJson<CutoverResult & { error?: { message: string } }>(`cleave ${cliArgs[0]}`, run);
    if (result.error) throw new Error(`cleave ${cliArgs.join(' ')} failed: ${result.error.message}`);
    if (result.outcome !== 'done') throw new Error(`cleave ${cliArgs.join(' ')}: ${result.outcome}: ${result.reason}`);
    const pause = result.writePause?.heldUpToMs ?? null;
    switches.push({ step, ms: run.ms, pauseMs: pause, epoch: result.epoch });
    const checks = result.checks.map((c) => `${c.name} ${c.status}`).join(', ');
    log(`cleave ${cliArgs.join(' ')}: ${result.from} -> ${result.to} (epoch ${result.epoch}) in ${fmtMs(run.ms)}${pause === null ? '' : `, writes held at most ${fmtMs(pause)}`}`);
    if (checks) log(`  checks: ${checks}`);
    const shadowReads = result.checks.find((c) => c.name === 'shadow-read-mismatches-zero');
    if (shadowReads) log(`  shadow reads: ${shadowReads.detail}`);
    for (const a of result.archived) log(`  archived ${a.database}.${a.table} as ${a.archive} (not dropped)`);
    return result;
  };
  await change('verified', ['cutover', id]);
  await change('reads_switched', ['cutover', id]);
  await sleep(1_000); // reads on the targets for a moment
  await change('writes_switched', ['cutover', id]);
  await sleep(1_000); // writes on the new primaries for a moment
  // The last full verification: still possible now (the source tables exist and the router keeps
  // them equal to the new primaries); after finalize they are archived and there is nothing to compare.
  const verifyRun = await cleave(['verify', id, '--json'], env);
  const report = cliJson<{ runId?: string; clean?: boolean; rowsChecked?: number; rowsDiffering?: number; rowsRepaired?: number; error?: { message: string } }>('cleave verify', verifyRun);
  if (report.error) throw new Error(`cleave verify ${id} failed: ${report.error.message}`);
  const verificationClean = firstRun.clean && report.clean === true;
  const verificationNote = `cleave verify in writes_switched under load: ${fmtInt(report.rowsChecked ?? 0)} rows checked, ${fmtInt(report.rowsDiffering ?? 0)} differing; automatic run after the backfill clean`;
  log(`cleave verify ${id} (writes_switched, under load): ${report.clean ? 'clean' : 'DIFFERENCES'} in ${fmtMs(verifyRun.ms)}, ${fmtInt(report.rowsChecked ?? 0)} rows checked, ${fmtInt(report.rowsDiffering ?? 0)} differing`);
  await change('finalized', ['finalize', id, '--approve']);
  await sleep(1_000);

  // 7. Stop the load, check the ledger, verify.
  await service.stop('SIGTERM');
  // stop() resolves once the service's output was read to its end: the final line holds the whole ledger.
  const final = jsonLines<ServiceFinal>(service).find((l) => l.type === 'final');
  if (!final) throw new Error(`the account service printed no final stats:\n${service.output().slice(-2000)}`);
  const primary = (table: string) => {
    const move = plan.moves.find((m) => m.tables?.includes(table));
    return (move ? plan.targets[move.to]!.server : 'source') as MariadbInstanceName;
  };
  let lostWrites = 0;
  let checkedKeys = 0;
  const lostExamples: string[] = [];
  for (const [table, column] of [['email_aliases', 'verified_at'], ['sessions', 'user_agent']] as const) {
    const ledger = final.ledger[table];
    const ids = Object.keys(ledger);
    const conn = await admin(primary(table), DATABASE);
    for (let i = 0; i < ids.length; i += 5_000) {
      const batch = ids.slice(i, i + 5_000);
      const [rows] = (await conn.query(`SELECT id, ${column} AS v FROM ${table} WHERE id IN (?)`, [batch])) as unknown as [Array<{ id: string; v: string | null }>];
      const found = new Map(rows.map((r) => [String(r.id), r.v]));
      for (const rowId of batch) {
        checkedKeys += 1;
        if (!found.has(rowId) || found.get(rowId) !== ledger[rowId]) {
          lostWrites += 1;
          if (lostExamples.length < 5) lostExamples.push(`${table} id ${rowId}: acknowledged ${ledger[rowId]}, primary has ${found.has(rowId) ? found.get(rowId) : 'no row'}`);
        }
      }
    }
  }
  log(`ledger: ${fmtInt(checkedKeys)} rows written by the service checked on their final primaries: ${lostWrites} lost`);
  for (const e of lostExamples) log(`  LOST ${e}`);

  status = await readMigrationStatus(store, id);
  const pauses = switches.map((s) => s.pauseMs).filter((p): p is number => p !== null);
  const summary: Summary = {
    failed_writes: final.failedWrites,
    lost_writes: lostWrites,
    verification_clean: verificationClean,
    max_pause_ms: pauses.length > 0 ? Math.round(Math.max(...pauses) * 10) / 10 : 0,
    migration: id,
    phase: status.migration.phase,
    users: args.users,
    rows_moved: Object.fromEntries(status.backfill.tables.map((t) => [t.table, t.rowsCopied])),
    backfill_ms: backfillMs,
    verify_ms: verifyMs,
    switch_ms: Object.fromEntries(switches.map((s) => [s.step, s.ms])),
    pause_ms: Object.fromEntries(switches.map((s) => [s.step, s.pauseMs === null ? null : Math.round(s.pauseMs * 10) / 10])),
    acknowledged_writes: final.writes,
    reads: final.reads,
    failed_reads: final.failedReads,
    max_write_latency_ms: final.maxWriteMs,
    dashboard: dashboard,
    total_s: Number(elapsed().toFixed(1)),
  };
  console.log('');
  console.log('summary');
  console.log(`  rows moved:       ${status.backfill.tables.map((t) => `${t.table} ${fmtInt(t.rowsCopied)} -> ${t.target}`).join(', ')}`);
  console.log(`  backfill:         ${fmtMs(backfillMs)}; verification ${fmtMs(verifyMs)} (${fmtInt(firstRun.rowsChecked)} rows, ${firstRun.clean ? 'clean' : 'differences'})`);
  for (const s of switches) console.log(`  ${s.step.padEnd(16)}  ${fmtMs(s.ms).padStart(8)}  write pause ${s.pauseMs === null ? '- (no fence)' : fmtMs(s.pauseMs)}`);
  console.log(`  service:          ${fmtInt(final.writes)} acknowledged writes, ${final.failedWrites} failed writes, ${fmtInt(final.reads)} reads (${final.failedReads} failed), slowest write ${fmtMs(final.maxWriteMs)}`);
  for (const e of final.errors.slice(0, 5)) console.log(`    error: ${e}`);
  console.log(`  lost writes:      ${lostWrites} of ${fmtInt(checkedKeys)} ledger rows`);
  console.log(`  verification:     ${verificationClean ? 'clean' : 'DIFFERENCES'} (${verificationNote})`);
  console.log(`  dashboard:        ${dashboard} (${args.keepRunning ? 'kept running after the summary: Ctrl-C stops it' : 'served by the worker while the demo ran; it stops with the demo, or keep it with --keep-running'})`);
  console.log(`  cli:              npx cleave --config ${CLI_CONFIG_SHOWN} status ${summary.migration as string} (the demo's settings${args.keepRunning ? '' : '; its services keep running, its worker stops with it'})`);
  console.log(`  total:            ${elapsed().toFixed(1)} s`);
  return summary;
}

function must(what: string, run: CliRun): CliRun {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return run;
}

let exitCode = 1;
try {
  const summary = await main();
  exitCode = summary.failed_writes === 0 && summary.lost_writes === 0 && summary.verification_clean ? 0 : 1;
  if (args.keepRunning) {
    console.log(JSON.stringify(summary));
    log(`keeping the worker and its dashboard running at ${String(summary['dashboard'])}: Ctrl-C stops them`);
    await new Promise(() => undefined); // the signal handler stops the processes and exits
  }
  await cleanup();
  console.log(JSON.stringify(summary));
} catch (error) {
  if (interrupted) await new Promise(() => undefined); // the signal handler cleans up and exits
  log(`demo failed: ${(error as Error).message}`);
  await cleanup();
  console.log(JSON.stringify({ failed_writes: null, lost_writes: null, verification_clean: false, max_pause_ms: null, error: (error as Error).message }));
}
process.exit(exitCode);
