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

/** Each setting's environment variable: error messages name both, since either may have set it. */
const ENV = {
  concurrency: 'CLEAVE_WORKER_CONCURRENCY',
  poolSize: 'CLEAVE_WORKER_POOL_SIZE',
  port: 'CLEAVE_WORKER_PORT',
  workerId: 'CLEAVE_WORKER_ID',
  maxSourceThreadsRunning: 'CLEAVE_MAX_SOURCE_THREADS_RUNNING',
  maxTargetThreadsRunning: 'CLEAVE_MAX_TARGET_THREADS_RUNNING',
  segmentRows: 'CLEAVE_SEGMENT_ROWS',
  chunkTargetMs: 'CLEAVE_CHUNK_TARGET_MS',
  niceRatio: 'CLEAVE_NICE_RATIO',
  maxSourceLatencyRatio: 'CLEAVE_MAX_SOURCE_LATENCY_RATIO',
  throttleIntervalMs: 'CLEAVE_THROTTLE_INTERVAL_MS',
  lockMs: 'CLEAVE_WORKER_LOCK_MS',
  processNice: 'CLEAVE_WORKER_NICE',
  bulkInsert: 'CLEAVE_BULK_INSERT',
} as const;
type Key = keyof typeof ENV;

const flag = (key: Key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const setting = (key: Key) => `${flag(key)} (or ${ENV[key]})`;
const HINT = 'See the worker\'s settings: cleave worker -- --help';

function invalid(key: Key, rule: string, value: string): CleaveError {
  return new CleaveError('CONFIG_INVALID', `${setting(key)} must be ${rule}, got "${value}"`, { hint: HINT });
}

function int(value: string, key: Key, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw invalid(key, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
  return n;
}

function nonNegative(value: string, key: Key): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw invalid(key, 'a number >= 0', value);
  return n;
}

function latencyRatio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (n !== 0 && n <= 1)) throw invalid('maxSourceLatencyRatio', '0 (off) or a number greater than 1', value);
  return n;
}

function bulkInsert(value: string): BulkInsertMethod {
  const method = BULK_INSERT_METHODS.find((m) => m === value);
  if (method === undefined) throw invalid('bulkInsert', BULK_INSERT_METHODS.join(' or '), value);
  return method;
}

/**
 * The worker's settings from argv and the environment (a flag wins). `--help` prints the options
 * and throws commander's error with exit code 0; an unknown option throws one with exit code 1
 * after commander printed it; a bad value throws CONFIG_INVALID naming the flag and its variable.
 */
export function readWorkerSettings(argv: readonly string[], env: Record<string, string | undefined>): WorkerSettings {
  const option = (key: Key, arg: string, description: string, fallback: string) =>
    new Option(`${flag(key)} <${arg}>`, `${description} [env ${ENV[key]}]`).default(env[ENV[key]] || fallback);
  const program = new Command('cleave-worker')
    .description('cleave\'s worker: backfill, verification and repair jobs, binlog capture, the dashboard, /health and /metrics')
    .option('-c, --config <file>', 'config file (default: ./cleave.config.json when it exists)')
    .addOption(option('concurrency', 'n', 'jobs in flight per queue', '1'))
    .addOption(option('poolSize', 'n', 'connections per server for the whole worker', '6'))
    .addOption(option('port', 'port', 'dashboard, /health and /metrics port (0: any)', '8787'))
    .addOption(option('workerId', 'id', 'name in logs and segment owners', `worker-${process.pid}`))
    .addOption(option('maxSourceThreadsRunning', 'n', 'throttle above this source Threads_running (0: off)', '25'))
    .addOption(option('maxTargetThreadsRunning', 'n', 'throttle above this target Threads_running (0: off)', '25'))
    .addOption(option('segmentRows', 'n', 'rows per copy job', '100000'))
    .addOption(option('chunkTargetMs', 'n', 'target time per chunk, ms (each chunk is a burst of load on both servers; shorter bursts keep the foreground\'s tail latency down)', '100'))
    .addOption(option('niceRatio', 'x', 'sleep after each chunk this many times its duration (0: none)', '4'))
    .addOption(option('maxSourceLatencyRatio', 'x', 'throttle while the source probe latency is above this multiple of its baseline (0: off)', '1.5'))
    .addOption(option('throttleIntervalMs', 'n', 'how often throttlers are checked (a decision holds until the next check)', '2000'))
    .addOption(option('lockMs', 'n', 'job lock duration; a killed worker\'s jobs are retaken after it', '30000'))
    .addOption(option('processNice', 'n', 'CPU niceness of the worker process, 0..19 (0: unchanged)', '10'))
    .addOption(option('bulkInsert', 'how', 'how the copy inserts: load-data (LOAD DATA LOCAL INFILE where the target allows it, else INSERTs) or insert', 'load-data'))
    .showHelpAfterError('(cleave worker -- --help lists the options)')
    .exitOverride()
    .parse([...argv], { from: 'node' });
  const o = program.opts<Record<Key | 'config', string | undefined>>();
  const value = (key: Key) => o[key] ?? '';
  return {
    ...(o.config ? { configFile: o.config } : {}),
    concurrency: int(value('concurrency'), 'concurrency', 1),
    poolSize: int(value('poolSize'), 'poolSize', 2),
    port: int(value('port'), 'port', 0, 65535),
    workerId: value('workerId'),
    maxSourceThreadsRunning: int(value('maxSourceThreadsRunning'), 'maxSourceThreadsRunning', 0),
    maxTargetThreadsRunning: int(value('maxTargetThreadsRunning'), 'maxTargetThreadsRunning', 0),
    segmentRows: int(value('segmentRows'), 'segmentRows', 100),
    chunkTargetMs: int(value('chunkTargetMs'), 'chunkTargetMs', 10),
    niceRatio: nonNegative(value('niceRatio'), 'niceRatio'),
    maxSourceLatencyRatio: latencyRatio(value('maxSourceLatencyRatio')),
    throttleIntervalMs: int(value('throttleIntervalMs'), 'throttleIntervalMs', 10),
    lockMs: int(value('lockMs'), 'lockMs', 1000),
    processNice: int(value('processNice'), 'processNice', 0, 19),
    bulkInsert: bulkInsert(value('bulkInsert')),
  };
}
