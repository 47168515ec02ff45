// npm run bench:router [-- --iterations N --seconds S]
// Latency (p50/p99) of a single-row INSERT, UPDATE and point SELECT through @cleave/router
// against plain Kysely (MysqlDialect) on the source, in the same run, on the same pools,
// interleaved call by call (each call timed once the work the calls before it left behind, such
// as a dual write's confirm, has finished). The router sides:
// - `routed`: a migration without capture in `dual_write`: every write is dual-written (image
//   read from the primary, upsert on the shadow; the confirm off the caller's path);
// - `capture`: a migration with binlog capture in `dual_write`: the capture brings the writes to
//   the shadow, the router does no shadow work (no capture stream runs here: it runs in a worker
//   and has its own bench, bench:capture; this measures the router's cost alone);
// - `reads_switched`: a migration with capture in `reads_switched`: readers read the shadow, so
//   the router applies each write's rows to it and waits for the confirm (read-your-writes).
// Also the floor of any dual write that applies the primary's row image before it returns: the
// design's statements alone, raw mysql2 callbacks, no router (insert: INSERT … RETURNING, then
// the upsert on the shadow; update: the UPDATE, the image read, the upsert). Reads are measured
// through `routed` (they go to the source, as plain's). Then throughput at 16 concurrent
// callers. Last line: JSON.
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import mysql from 'mysql2';
import { Kysely, MysqlDialect } from 'kysely';
import { Redis } from 'ioredis';
import type { MigrationPhase, Plan } from '@cleave/core';
import { RoutingChannel } from '@cleave/control';
import { MysqlPools, denyWrites, parseConnectionUrl } from '@cleave/mysql';
import { CleaveDialect, type RouterPool } from '@cleave/router';
import { createSampleAccounts, createTestDatabases, servicesConfig, servicesUp } from '@cleave/testing';
import { procCpuSeconds, sourceAndTargetPids } from './lib/shell.js';

const opts = new Command('bench:router')
  .option('--iterations <n>', 'measured calls per operation and side', '2000')
  .option('--seconds <n>', 'seconds per throughput run', '3')
  .option('--concurrency <n>', 'callers of the throughput runs', '16')
  .parse()
  .opts<{ iterations: string; seconds: string; concurrency: string }>();
const ITERATIONS = Number(opts.iterations);
const SECONDS = Number(opts.seconds);
const CONCURRENCY = Number(opts.concurrency);
const log = (line: string) => console.log(`[bench] ${line}`);

interface DB {
  users: { id?: string; email: string; display_name: string; password_hash: Buffer; created_at: string; storage_used?: number };
}

const config = servicesConfig(process.env);
await servicesUp(config, process.env, (l) => log(l));
const serverPids = sourceAndTargetPids(config);
/** CPU seconds so far of this process (the callers and the router) and of the two servers. */
const cpuNow = (): number[] => {
  const own = process.cpuUsage();
  return [(own.user + own.system) / 1e6, ...serverPids.map(procCpuSeconds)];
};
const dbs = await createTestDatabases('benchrouter');
const pools = new MysqlPools({ maxConnectionsPerServer: 64 });
const redis = new Redis({ host: dbs.redis.host, port: dbs.redis.port });
let plain: Kysely<DB> | undefined;
let routed: Kysely<DB> | undefined;
let captured: Kysely<DB> | undefined;
let switched: Kysely<DB> | undefined;
const cleanups: Array<() => Promise<void>> = [];
try {
  for (const s of ['source', 'target1'] as const) await createSampleAccounts(await dbs.admin(s));
  const source = pools.pool(parseConnectionUrl(dbs.source.url), { connectionLimit: 32 });
  const target1 = pools.pool(parseConnectionUrl(dbs.target1.url), { connectionLimit: 32 });
  const plan = {
    version: 1,
    name: 'bench',
    source: { server: 'source', database: dbs.name },
    targets: { t1: { server: 'target1', database: dbs.name } },
    moves: [{ kind: 'tables', tables: ['users'], to: 't1' }],
  } as Plan;
  const phase: MigrationPhase = 'dual_write';
  const channel = new RoutingChannel({ redis, prefix: dbs.redisPrefix });
  plain = new Kysely<DB>({ dialect: new MysqlDialect({ pool: source.callback }) });
  // One router per side, each with its own migration of the same plan (its own id on the channel).
  const routerOn = (id: string, migrationPhase: MigrationPhase, capture: boolean) => {
    const migration = { id, name: `bench-${id}`, plan, phase: migrationPhase, epoch: 2, capture, guardEpoch: 1 };
    return new CleaveDialect({
      servers: { source: source.callback as unknown as RouterPool, target1: target1.callback as unknown as RouterPool },
      store: { listMigrations: async () => [migration] },
      // No shadow write fails in the benchmark; the journal is where one would go.
      journalPath: path.join(os.tmpdir(), `cleave-bench-router-${process.pid}-${id}.jsonl`),
      channel,
      leaseTtlMs: 3_000,
      pollMs: 1_000,
    });
  };
  // The target is guarded as `cleave start` leaves it (triggers, and each shadow write checks the
  // guard row in its transaction): one migration's guard, as a table has in production.
  await denyWrites(target1.promise, { migrationId: 'bench0000003', migrationName: 'bench', database: dbs.name, tables: ['users'] }, 1, { lockWaitSeconds: 5 });
  const dialect = routerOn('bench0000001', phase, false);
  const switchedDialect = routerOn('bench0000003', 'reads_switched', true);
  const capturedDialect = routerOn('bench0000002', phase, true);
  routed = new Kysely<DB>({ dialect });
  captured = new Kysely<DB>({ dialect: capturedDialect });
  switched = new Kysely<DB>({ dialect: switchedDialect });
  // A side's writes may leave work behind them (a dual write's confirm runs off the caller's path):
  // it finishes before the next side's call is timed, so that one side's work never lands in another's sample.
  const settledAfter = async (): Promise<void> => {
    await Promise.all([dialect, capturedDialect, switchedDialect].map((d) => d.router.gate.drained()));
  };

  // Seed through the router, so both sides hold the same rows.
  const SEED = 2_000;
  for (let i = 0; i < SEED; i += 100) {
    await routed.insertInto('users').values(Array.from({ length: 100 }, (_, j) => user(`seed-${i + j}@example.com`))).execute();
  }
  const ids = (await plain.selectFrom('users').select('id').execute()).map((r) => r.id!);
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  let counter = 0;

  type Op = 'insert' | 'update' | 'select';
  type Side = 'plain' | 'routed' | 'capture' | 'reads_switched' | 'floor';
  // The floor: the statements a dual write cannot do without, on the same pools, nothing else.
  const raw = (pool: typeof source.callback, sql: string, values: unknown[]) =>
    new Promise<unknown>((resolve, reject) =>
      (pool as unknown as { query(o: object, cb: (e: Error | null, r: unknown) => void): void }).query({ sql, values, dateStrings: true }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const COLUMNS = ['id', 'email', 'display_name', 'password_hash', 'mfa_secret', 'status', 'plan_id', 'settings', 'created_at', 'updated_at', 'last_login_at', 'storage_used'];
  const upsertSql = `INSERT INTO users (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE ${COLUMNS.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  // The guarded target takes the floor's upserts under the guard epoch, set once per connection (the cheapest legal form).
  const e1 = parseConnectionUrl(dbs.target1.url);
  const floorTarget = mysql.createPool({ host: e1.host, port: e1.port, user: e1.user, password: e1.password(), database: dbs.name, connectionLimit: 32 });
  floorTarget.on('connection', (conn) => conn.query('SET @cleave_epoch = 1'));
  cleanups.push(() => new Promise<void>((resolve) => floorTarget.end(() => resolve())));
  const upsert = (row: Record<string, unknown>) => raw(floorTarget as unknown as typeof source.callback, `SET STATEMENT foreign_key_checks = 0 FOR ${upsertSql}`, COLUMNS.map((c) => row[c]));
  const floorCall = async (op: Op): Promise<void> => {
    counter += 1;
    if (op === 'insert') {
      const u = user(`f-${counter}@example.com`);
      const [row] = (await raw(source.callback, `INSERT INTO users (email, display_name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING ${COLUMNS.join(', ')}`, [u.email, u.display_name, u.password_hash, u.created_at])) as Array<Record<string, unknown>>;
      await upsert(row!);
    } else if (op === 'update') {
      const id = pick();
      await raw(source.callback, 'UPDATE users SET storage_used = ? WHERE id = ?', [counter, id]);
      const [row] = (await raw(source.callback, `SELECT ${COLUMNS.join(', ')} FROM users WHERE id = ?`, [id])) as Array<Record<string, unknown>>;
      await upsert(row!);
    }
  };
  const call = async (db: Kysely<DB> | 'floor', op: Op): Promise<void> => {
    if (db === 'floor') return floorCall(op);
    counter += 1;
    if (op === 'insert') await db.insertInto('users').values(user(`b-${counter}@example.com`)).execute();
    else if (op === 'update') await db.updateTable('users').set({ storage_used: counter }).where('id', '=', pick()).execute();
    else await db.selectFrom('users').selectAll().where('id', '=', pick()).executeTakeFirst();
  };

  const ops: Op[] = ['insert', 'update', 'select'];
  const samples: Record<string, number[]> = {};
  for (const op of ops) {
    // Writes on every side; reads through plain and routed (the capture side reads the source as
    // they do, the reads_switched side reads another server).
    const sides: Array<[Side, Kysely<DB> | 'floor']> =
      op === 'select'
        ? [['plain', plain], ['routed', routed]]
        : [['plain', plain], ['routed', routed], ['capture', captured], ['reads_switched', switched], ['floor', 'floor']];
    for (let i = 0; i < 200; i++) for (const [, db] of sides) await call(db, op);
    for (const [side] of sides) samples[`${side}-${op}`] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      // Interleaved, rotating who goes first: drift and caches hit every side alike.
      const order = [...sides.slice(i % sides.length), ...sides.slice(0, i % sides.length)];
      for (const [side, db] of order) {
        const started = performance.now();
        await call(db, op);
        samples[`${side}-${op}`]!.push(performance.now() - started);
        await settledAfter();
      }
    }
  }
  const q = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  };
  const ms = (v: number) => Math.round(v * 1000) / 1000;
  const latency: Record<string, { p50: number; p99: number }> = {};
  for (const [key, values] of Object.entries(samples)) {
    latency[key] = { p50: ms(q(values, 50)), p99: ms(q(values, 99)) };
    log(`${key.padEnd(21)} p50 ${latency[key]!.p50.toFixed(3)} ms   p99 ${latency[key]!.p99.toFixed(3)} ms   (${values.length} calls)`);
  }
  const writesOf = (side: string) => [...samples[`${side}-insert`]!, ...samples[`${side}-update`]!];
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

  // Throughput: CONCURRENCY callers for SECONDS, writes (update) then reads (select).
  const throughput: Record<string, number> = {};
  /** CPU microseconds per call: this process (callers + router), source server, target server. */
  const cpuPerCall: Record<string, { node: number; source: number; target: number }> = {};
  const throughputSides: Array<[Op, Side, Kysely<DB>]> = [
    ['update', 'plain', plain],
    ['update', 'routed', routed],
    ['update', 'capture', captured],
    ['update', 'reads_switched', switched],
    ['select', 'plain', plain],
    ['select', 'routed', routed],
  ];
  for (const [op, side, db] of throughputSides) {
    let done = 0;
    const cpu0 = cpuNow();
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          await call(db, op);
          done += 1;
        }
      }),
    );
    const cpu = cpuNow().map((c, i) => Math.round(((c - cpu0[i]!) * 1e6) / done));
    throughput[`${side}-${op}`] = Math.round(done / SECONDS);
    cpuPerCall[`${side}-${op}`] = { node: cpu[0]!, source: cpu[1]!, target: cpu[2]! };
    log(`${`${side}-${op}`.padEnd(21)} ${throughput[`${side}-${op}`]} ops/s at ${CONCURRENCY} callers; CPU µs per call: node ${cpu[0]}, source ${cpu[1]}, target ${cpu[2]}`);
  }
  for (const d of [dialect, switchedDialect]) {
    const status = d.router.status();
    if (status.pendingFailures > 0) log(`warning: ${status.pendingFailures} shadow failures pending (${status.migrations.map((m) => m.phase).join()})`);
  }
  const result = {
    bench: 'router',
    phase,
    iterations: ITERATIONS,
    write_p50_ratio: ratio(q(writesOf('routed'), 50), q(writesOf('plain'), 50)),
    write_p99_ratio: ratio(q(writesOf('routed'), 99), q(writesOf('plain'), 99)),
    capture_write_p50_ratio: ratio(q(writesOf('capture'), 50), q(writesOf('plain'), 50)),
    capture_write_p99_ratio: ratio(q(writesOf('capture'), 99), q(writesOf('plain'), 99)),
    reads_switched_write_p50_ratio: ratio(q(writesOf('reads_switched'), 50), q(writesOf('plain'), 50)),
    reads_switched_write_p99_ratio: ratio(q(writesOf('reads_switched'), 99), q(writesOf('plain'), 99)),
    floor_write_p50_ratio: ratio(q(writesOf('floor'), 50), q(writesOf('plain'), 50)),
    floor_insert_p50_ratio: ratio(latency['floor-insert']!.p50, latency['plain-insert']!.p50),
    floor_update_p50_ratio: ratio(latency['floor-update']!.p50, latency['plain-update']!.p50),
    read_p50_ratio: ratio(latency['routed-select']!.p50, latency['plain-select']!.p50),
    read_p99_ratio: ratio(latency['routed-select']!.p99, latency['plain-select']!.p99),
    insert_p50_ratio: ratio(latency['routed-insert']!.p50, latency['plain-insert']!.p50),
    update_p50_ratio: ratio(latency['routed-update']!.p50, latency['plain-update']!.p50),
    latency_ms: latency,
    concurrency: CONCURRENCY,
    throughput_ops_per_s: throughput,
    cpu_us_per_call: cpuPerCall,
    write_throughput_ratio: ratio(throughput['routed-update']!, throughput['plain-update']!),
    capture_write_throughput_ratio: ratio(throughput['capture-update']!, throughput['plain-update']!),
    reads_switched_write_throughput_ratio: ratio(throughput['reads_switched-update']!, throughput['plain-update']!),
    read_throughput_ratio: ratio(throughput['routed-select']!, throughput['plain-select']!),
    targets: { write_p50_ratio: 1.6, capture_write_p50_ratio: 1.1, read_p50_ratio: 1.05 },
  };
  console.log(JSON.stringify(result));
} finally {
  await routed?.destroy();
  await captured?.destroy();
  await switched?.destroy();
  // Not plain.destroy(): MysqlDialect would end the shared pool that pools.end() ends.
  for (const cleanup of cleanups) await cleanup();
  redis.disconnect();
  await pools.end();
  await dbs.drop();
}

function user(email: string) {
  return { email, display_name: 'bench', password_hash: Buffer.from(email), created_at: '2024-01-01 00:00:00' };
}
