// One capture stream in a process of its own (bench:capture measures its CPU from /proc): runs
// @cleave/capture's runCaptureStream for one migration and stream until SIGTERM, as a worker does.
// Settings come in BENCH_CAPTURE (JSON, server URLs with their passwords: the environment, not
// the command line). Writes one JSON object a line: {"event":"ready"} once the binlog streams,
// {"event":"log",...}, {"event":"timing",...} on SIGUSR2 (cumulative: checkpoints with keys, keys applied,
// wall time spent in the calls to each server), and {"event":"ended","end":...} when the stream
// returned.
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import type { Pool } from 'mysql2/promise';
import { runCaptureStream } from '@cleave/capture';
import { ControlStore } from '@cleave/control';
import { MysqlPools, parseConnectionUrl, type ConnectionUrl } from '@cleave/mysql';

export interface CaptureChildSettings {
  readonly migrationId: string;
  readonly stream: string;
  readonly controlDatabase: string;
  /** Server name -> connection URL; the control store lives on `controlServer`. */
  readonly servers: Record<string, string>;
  readonly controlServer: string;
  readonly maxBatchKeys?: number;
  /** Write a sampling profile of every allocation (collected ones included) there, when the stream ends. */
  readonly allocationProfileDir?: string;
}

/**
 * V8's sampling heap profiler with the objects that garbage collection took kept in the samples:
 * where the young generation's churn (and so the scavenges' cost) comes from, not what stays.
 */
async function startAllocationSampling(): Promise<{ stopInto(dir: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  await post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stopInto(dir) {
      const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `capture-${process.pid}.heapprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const settings = JSON.parse(process.env['BENCH_CAPTURE'] ?? '{}') as CaptureChildSettings;
const emit = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Time spent in calls to each server (the stream runs one call at a time: they add up to wall time). */
export interface CaptureTiming {
  readonly event: 'timing';
  /** Checkpoints that reported keys applied. */
  readonly checkpoints: number;
  readonly applied: number;
  /** label -> [ms, calls]: source (image reads), target1 (the locked sync), control (checkpoints, lease). */
  readonly calls: Record<string, [number, number]>;
  readonly cpuSeconds: number;
  /** label -> [calls over 20 ms, calls over 50 ms, slowest ms]: what makes the lag's tail. */
  readonly slow: Record<string, [number, number, number]>;
  /** `label errno` -> calls that failed with it (deadlocks and lock waits are retried by the sync). */
  readonly errors: Record<string, number>;
  /** `label statement kind` -> [calls over 20 ms, their ms]. */
  readonly slowKinds: Record<string, [number, number]>;
  /** `label statement kind` -> calls: how many round trips each kind of statement costs. */
  readonly kindCalls: Record<string, number>;
  /** The event loop's delay since the last report (ms): p50, p99, max; a blocked loop delays every sync. */
  readonly loopDelayMs: [number, number, number];
  /** Garbage collections since the last report: count, total ms, longest ms (each one stops the loop). */
  readonly gc: [number, number, number];
  /** The same by kind (scavenge: the young generation; mark-sweep: the whole heap): kind -> [count, ms]. */
  readonly gcKinds: Record<string, [number, number]>;
}
const calls: Record<string, [number, number]> = {};
let checkpoints = 0;
let appliedKeys = 0;
const slow: Record<string, [number, number, number]> = {};
const errors: Record<string, number> = {};
/** `label statement kind` -> [calls over 20 ms, their ms]: which statements make the tail. */
const slowKinds: Record<string, [number, number]> = {};
const kindCalls: Record<string, number> = {};
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
let gc: [number, number, number] = [0, 0, 0];
let gcKinds: Record<string, [number, number]> = {};
const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'minor mark-sweep', 4: 'mark-sweep', 8: 'incremental marking', 16: 'weak callbacks' };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc = [gc[0] + 1, gc[1] + entry.duration, Math.max(gc[2], entry.duration)];
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
    const byKind = (gcKinds[kind] ??= [0, 0]);
    byKind[0] += 1;
    byKind[1] += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
/** A statement's kind for the tail's breakdown: its first words, without values. */
const kindOf = (args: unknown[]): string => {
  const first = args[0] as string | { sql?: string } | undefined;
  const sql = typeof first === 'string' ? first : (first?.sql ?? 'getConnection');
  return sql.replace(/\s+/g, ' ').replace(/`[^`]*`/g, '?').slice(0, 36);
};
const account = (label: string, ms: number, error: unknown, kind = '') => {
  kindCalls[`${label} ${kind}`] = (kindCalls[`${label} ${kind}`] ?? 0) + 1;
  if (ms > 20) {
    const entry = (slowKinds[`${label} ${kind}`] ??= [0, 0]);
    entry[0] += 1;
    entry[1] += ms;
  }
  const entry = (calls[label] ??= [0, 0]);
  entry[0] += ms;
  entry[1] += 1;
  const tail = (slow[label] ??= [0, 0, 0]);
  if (ms > 20) tail[0] += 1;
  if (ms > 50) tail[1] += 1;
  tail[2] = Math.max(tail[2], Math.round(ms));
  if (error !== undefined) {
    const key = `${label} ${(error as { errno?: number; code?: string }).errno ?? (error as { code?: string }).code ?? 'error'}`;
    errors[key] = (errors[key] ?? 0) + 1;
  }
};
/** The pool (or a connection taken from it) with every query, execute and getConnection timed under `label`. */
function timed<T extends object>(target: T, label: string): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'query' || prop === 'execute' || prop === 'getConnection') {
        return async (...args: unknown[]) => {
          const started = performance.now();
          let failure: unknown;
          try {
            const result = await fn.apply(obj, args);
            return prop === 'getConnection' ? timed(result as object, label) : result;
          } catch (error) {
            failure = error;
            throw error;
          } finally {
            account(label, performance.now() - started, failure, prop === 'getConnection' ? 'getConnection' : kindOf(args));
          }
        };
      }
      return fn.bind(obj);
    },
  });
}

// As the capture tests and a worker: a pool per server, the stream's syncs take what they need;
// the control store on a pool of its own, so that its checkpoints are timed apart from the source's reads.
const pools = new MysqlPools({ maxConnectionsPerServer: 20, defaultConnectionLimit: 8 });
const controlPools = new MysqlPools({ maxConnectionsPerServer: 4, defaultConnectionLimit: 2 });
const urls: Record<string, ConnectionUrl> = Object.fromEntries(Object.entries(settings.servers).map(([name, url]) => [name, parseConnectionUrl(url)]));
const url = (name: string): ConnectionUrl => {
  const found = urls[name];
  if (found === undefined) throw new Error(`capture child: no URL for server ${name}`);
  return found;
};
const timedPools = new Map<string, Pool>();
const servers = (name: string): Pool => {
  let pool = timedPools.get(name);
  if (pool === undefined) {
    pool = timed(pools.pool(url(name)).promise as unknown as Pool, name);
    timedPools.set(name, pool);
  }
  return pool;
};
const store = await ControlStore.open({ pool: timed(controlPools.pool(url(settings.controlServer)).promise as unknown as Pool, 'control'), database: settings.controlDatabase });
const migration = await store.getMigration(settings.migrationId);
const abort = new AbortController();
process.on('SIGTERM', () => abort.abort());
process.on('SIGINT', () => abort.abort());
const cpuSeconds = () => {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
};
process.on('SIGUSR2', () => {
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  const loopDelayMs: [number, number, number] = [ms(loopDelay.percentile(50)), ms(loopDelay.percentile(99)), ms(loopDelay.max)];
  loopDelay.reset();
  const gcSince: [number, number, number] = [gc[0], Math.round(gc[1]), Math.round(gc[2] * 10) / 10];
  gc = [0, 0, 0];
  const kindsSince = Object.fromEntries(Object.entries(gcKinds).map(([kind, [count, ms]]) => [kind, [count, Math.round(ms)] as [number, number]]));
  gcKinds = {};
  emit({ event: 'timing', checkpoints, applied: appliedKeys, calls, cpuSeconds: cpuSeconds(), slow, errors, slowKinds, kindCalls, loopDelayMs, gc: gcSince, gcKinds: kindsSince } satisfies CaptureTiming);
});

const allocations = settings.allocationProfileDir === undefined ? undefined : await startAllocationSampling();

let end: string;
try {
  end = await runCaptureStream({
    migration,
    stream: settings.stream,
    streams: store.captureStreams(),
    owner: `bench-capture-${process.pid}`,
    servers,
    urls: url,
    signal: abort.signal,
    ...(settings.maxBatchKeys === undefined ? {} : { maxBatchKeys: settings.maxBatchKeys }),
    onProgress: (progress) => {
      if (progress.applied > 0) {
        checkpoints += 1;
        appliedKeys += progress.applied;
      }
    },
    log: (level, message, details) => {
      emit({ event: 'log', level, message, ...(details === undefined ? {} : { details }) });
      if (level === 'info' && message.includes(' reading ')) emit({ event: 'ready' });
    },
  });
} catch (error) {
  end = `error: ${(error as Error).message}`;
}
if (allocations !== undefined && settings.allocationProfileDir !== undefined) await allocations.stopInto(settings.allocationProfileDir);
emit({ event: 'ended', end, cpuSeconds: cpuSeconds() });
await pools.end().catch(() => undefined);
await controlPools.end().catch(() => undefined);
process.exit(end === 'stopped' ? 0 : 1);
