import { Command, Option } from 'commander';
import { CleaveError } from '@cleave/core';

/** How one worker process runs. Read from argv and the environment by the app only. */
export interface WorkerSettings {
  readonly configFile?: string;
  /** Jobs in flight at once per queue. */
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
  /** BullMQ job lock: a killed worker's jobs return to the queue after about this long. */
  readonly lockMs: number;
}

function int(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new CleaveError('CONFIG_INVALID', `${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

export function readWorkerSettings(argv: readonly string[], env: Record<string, string | undefined>): WorkerSettings {
  const program = new Command('cleave-worker')
    .option('-c, --config <file>', 'config file')
    .addOption(new Option('--concurrency <n>', 'jobs in flight per queue').default(env['CLEAVE_WORKER_CONCURRENCY'] ?? '4'))
    .addOption(new Option('--pool-size <n>', 'connections per server for the whole worker').default(env['CLEAVE_WORKER_POOL_SIZE'] ?? '6'))
    .addOption(new Option('--port <port>', 'health endpoint port (0: any)').default(env['CLEAVE_WORKER_PORT'] ?? '8787'))
    .addOption(new Option('--worker-id <id>', 'name in logs and segment owners').default(env['CLEAVE_WORKER_ID'] ?? `worker-${process.pid}`))
    .addOption(new Option('--max-source-threads-running <n>', 'throttle above this source Threads_running (0: off)').default(env['CLEAVE_MAX_SOURCE_THREADS_RUNNING'] ?? '25'))
    .addOption(new Option('--max-target-threads-running <n>', 'throttle above this target Threads_running (0: off)').default(env['CLEAVE_MAX_TARGET_THREADS_RUNNING'] ?? '25'))
    .addOption(new Option('--segment-rows <n>', 'rows per copy job').default(env['CLEAVE_SEGMENT_ROWS'] ?? '100000'))
    .addOption(new Option('--chunk-target-ms <n>', 'target time per chunk').default(env['CLEAVE_CHUNK_TARGET_MS'] ?? '500'))
    .addOption(new Option('--lock-ms <n>', 'job lock duration; a killed worker\'s jobs are retaken after it').default(env['CLEAVE_WORKER_LOCK_MS'] ?? '30000'))
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
    lockMs: int(o['lockMs']!, '--lock-ms', 1000),
  };
}
