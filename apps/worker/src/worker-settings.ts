import { Command, Option } from 'commander';
import { CleaveError } from '@cleave/core';
import { BULK_INSERT_METHODS, type BulkInsertMethod } from '@cleave/mysql';

/** How one worker process runs. Read from argv and the environment by the app only. */
export interface WorkerSettings {
  readonly configFile?: string;
  /**
   * Jobs in flight at once per queue. The default (1) and the other defaults below protect the
   * source's foreground (its sysbench p95 within about 1.3x on a 2-core box shared by the source,
   * the target and the worker, at the price of copying at about a twentieth of full speed; see the
   * README's worker settings); a throughput run with no foreground to protect can pass
   * `--concurrency 4 --nice-ratio 0 --max-source-latency-ratio 0 --process-nice 0`.
   */
  readonly concurrency: number;
  /** Connections per server for the whole process (the connection budget). */
  readonly poolSize: number;
  /** Health (and later UI/metrics) port; 0 = any free port. */
  readonly port: number;
  readonly workerId: string;
  /** Throttle thresholds: source and target Threads_running. 0 disables. */
  readonly maxSourceThreadsRunning: number;
  readonly maxTargetThreadsRunning: number;
  /** Rows per segment (one copy job each). */
  readonly segmentRows: number;
  /** Target time per chunk, ms. */
  readonly chunkTargetMs: number;
  /**
   * Sleep after each chunk, as a multiple of the chunk's duration (gh-ost's nice ratio): the copy
   * is busy at most 1/(1 + niceRatio) of the time (default 4: 20%). 0 = none.
   */
  readonly niceRatio: number;
  /** Throttle while the source's probe latency exceeds this multiple of its idle baseline. 0 disables. */
  readonly maxSourceLatencyRatio: number;
  /**
   * How often the throttlers are checked, ms. A decision holds until the next check, so a source
   * that answered slowly gets at least this long without copy load to recover (default 2000).
   */
  readonly throttleIntervalMs: number;
  /** BullMQ job lock: a killed worker's jobs return to the queue after about this long. */
  readonly lockMs: number;
  /**
   * CPU niceness of the worker process (0..19; 0 = unchanged). A worker that shares a host with a
   * database yields the CPU to it.
   */
  readonly processNice: number;
  /**
   * How the copy inserts rows: `load-data` (LOAD DATA LOCAL INFILE where the target takes it,
   * else INSERTs) or `insert` (always INSERTs: for a target behind a proxy that mishandles LOCAL
   * INFILE, for instance).
   */
  readonly bulkInsert: BulkInsertMethod;
}

function int(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new CleaveError('CONFIG_INVALID', `${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function nonNegative(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new CleaveError('CONFIG_INVALID', `${name} must be a number >= 0, got "${value}"`);
  return n;
}

function latencyRatio(value: string): number {
  const n = nonNegative(value, '--max-source-latency-ratio');
  if (n !== 0 && n <= 1) throw new CleaveError('CONFIG_INVALID', `--max-source-latency-ratio must be 0 (off) or greater than 1, got "${value}"`);
  return n;
}

function niceness(value: string): number {
  const n = int(value, '--process-nice', 0);
  if (n > 19) throw new CleaveError('CONFIG_INVALID', `--process-nice must be an integer from 0 to 19, got "${value}"`);
  return n;
}

function bulkInsert(value: string): BulkInsertMethod {
  const method = BULK_INSERT_METHODS.find((m) => m === value);
  if (method === undefined) throw new CleaveError('CONFIG_INVALID', `--bulk-insert (or CLEAVE_BULK_INSERT) must be ${BULK_INSERT_METHODS.join(' or ')}, got "${value}"`);
  return method;
}

export function readWorkerSettings(argv: readonly string[], env: Record<string, string | undefined>): WorkerSettings {
  const program = new Command('cleave-worker')
    .option('-c, --config <file>', 'config file')
    .addOption(new Option('--concurrency <n>', 'jobs in flight per queue').default(env['CLEAVE_WORKER_CONCURRENCY'] ?? '1'))
    .addOption(new Option('--pool-size <n>', 'connections per server for the whole worker').default(env['CLEAVE_WORKER_POOL_SIZE'] ?? '6'))
    .addOption(new Option('--port <port>', 'health endpoint port (0: any)').default(env['CLEAVE_WORKER_PORT'] ?? '8787'))
    .addOption(new Option('--worker-id <id>', 'name in logs and segment owners').default(env['CLEAVE_WORKER_ID'] ?? `worker-${process.pid}`))
    .addOption(new Option('--max-source-threads-running <n>', 'throttle above this source Threads_running (0: off)').default(env['CLEAVE_MAX_SOURCE_THREADS_RUNNING'] ?? '25'))
    .addOption(new Option('--max-target-threads-running <n>', 'throttle above this target Threads_running (0: off)').default(env['CLEAVE_MAX_TARGET_THREADS_RUNNING'] ?? '25'))
    .addOption(new Option('--segment-rows <n>', 'rows per copy job').default(env['CLEAVE_SEGMENT_ROWS'] ?? '100000'))
    .addOption(new Option('--chunk-target-ms <n>', 'target time per chunk, ms (each chunk is a burst of load on both servers; shorter bursts keep the foreground\'s tail latency down)').default(env['CLEAVE_CHUNK_TARGET_MS'] ?? '100'))
    .addOption(new Option('--nice-ratio <x>', 'sleep after each chunk this many times its duration (0: none)').default(env['CLEAVE_NICE_RATIO'] ?? '4'))
    .addOption(new Option('--max-source-latency-ratio <x>', 'throttle while the source probe latency is above this multiple of its baseline (0: off)').default(env['CLEAVE_MAX_SOURCE_LATENCY_RATIO'] ?? '1.5'))
    .addOption(new Option('--throttle-interval-ms <n>', 'how often throttlers are checked (a decision holds until the next check)').default(env['CLEAVE_THROTTLE_INTERVAL_MS'] ?? '2000'))
    .addOption(new Option('--lock-ms <n>', 'job lock duration; a killed worker\'s jobs are retaken after it').default(env['CLEAVE_WORKER_LOCK_MS'] ?? '30000'))
    .addOption(new Option('--process-nice <n>', 'CPU niceness of the worker process, 0..19 (0: unchanged)').default(env['CLEAVE_WORKER_NICE'] ?? '10'))
    .addOption(new Option('--bulk-insert <how>', 'how the copy inserts: load-data (LOAD DATA LOCAL INFILE where the target allows it, else INSERTs) or insert').default(env['CLEAVE_BULK_INSERT'] ?? 'load-data'))
    .exitOverride()
    .parse([...argv], { from: 'node' });
  const o = program.opts<Record<string, string>>();
  const concurrency = int(o['concurrency']!, '--concurrency', 1);
  const poolSize = int(o['poolSize']!, '--pool-size', 2);
  return {
    ...(o['config'] ? { configFile: o['config'] } : {}),
    concurrency,
    poolSize,
    port: int(o['port']!, '--port', 0),
    workerId: o['workerId']!,
    maxSourceThreadsRunning: int(o['maxSourceThreadsRunning']!, '--max-source-threads-running', 0),
    maxTargetThreadsRunning: int(o['maxTargetThreadsRunning']!, '--max-target-threads-running', 0),
    segmentRows: int(o['segmentRows']!, '--segment-rows', 100),
    chunkTargetMs: int(o['chunkTargetMs']!, '--chunk-target-ms', 10),
    niceRatio: nonNegative(o['niceRatio']!, '--nice-ratio'),
    maxSourceLatencyRatio: latencyRatio(o['maxSourceLatencyRatio']!),
    throttleIntervalMs: int(o['throttleIntervalMs']!, '--throttle-interval-ms', 10),
    lockMs: int(o['lockMs']!, '--lock-ms', 1000),
    processNice: niceness(o['processNice']!),
    bulkInsert: bulkInsert(o['bulkInsert']!),
  };
}
