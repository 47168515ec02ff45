import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '@cleave/logging';
import type { Pool } from 'mysql2/promise';
import { copySegment, isPermanentBackfillError, splitTable } from '@cleave/backfill';
import { isCleaveError } from '@cleave/core';
import { ControlStore, serverUrl, type CleaveConfig } from '@cleave/control';
import { JOB_PAYLOAD_SCHEMAS, JobProducer, redisConnectionFromUrl, type JobPayloads } from '@cleave/jobs';
import { MysqlPools } from '@cleave/mysql';
import { MigrationGates } from './migration-gates.js';
import { lowerProcessPriority } from './process-priority.js';
import { repairShadowFailures } from '@cleave/verify';
import { runVerifyJob } from './verify-job.js';
import { ShadowRepairScheduler } from './shadow-repair-scheduler.js';
import { CaptureSupervisor } from './capture-supervisor.js';
import type { WorkerSettings } from './worker-settings.js';
import { WorkerMetrics } from './ui/worker-metrics.js';

/**
 * Hosts the BullMQ workers of one process: the backfill queue (split-table, copy-segment) and
 * the verify queue. Owns the only MySQL pools of the process (one per server, `poolSize`
 * connections: the connection budget) and stops gracefully: in-flight chunks finish and
 * checkpoint, their jobs go back to the queue for another worker.
 */
export class WorkerHost {
  readonly settings: WorkerSettings;
  readonly pools: MysqlPools;
  readonly #config: CleaveConfig;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #workers: Worker[] = [];
  #store: ControlStore | undefined;
  #producer: JobProducer | undefined;
  #gates: MigrationGates | undefined;
  #active = 0;
  #stopping: Promise<void> | undefined;
  #repairs: ShadowRepairScheduler | undefined;
  #capture: CaptureSupervisor | undefined;
  readonly metrics = new WorkerMetrics({
    connectionsByServer: () => Object.fromEntries(Object.entries(this.pools.stats().servers).map(([k, s]) => [k, s.connectionsOpened])),
    activeJobs: () => this.#active,
    throttling: () => this.#gates?.throttling() ?? [],
    drainThrottledMs: () => this.#gates?.drainThrottledMs() ?? [],
  });

  constructor(config: CleaveConfig, settings: WorkerSettings, log: Logger) {
    this.#config = config;
    this.settings = settings;
    this.#log = log;
    this.pools = new MysqlPools({ maxConnectionsPerServer: settings.poolSize, defaultConnectionLimit: settings.poolSize });
  }

  /** The pool of a named server, shared by every job of this process. */
  readonly servers = (name: string): Pool => this.pools.pool(serverUrl(this.#config, name)).promise;

  async start(): Promise<void> {
    const priority = lowerProcessPriority(this.settings.processNice);
    if (priority.error !== undefined) this.#log.warn({ err: priority.error, nice: this.settings.processNice }, 'could not lower the worker\'s CPU priority');
    this.#store = await ControlStore.open({ pool: this.servers(this.#config.control.server), database: this.#config.control.database });
    const connection = redisConnectionFromUrl(this.#config.redisUrl);
    this.#producer = new JobProducer({ connection, queuePrefix: this.#config.queuePrefix });
    this.#gates = new MigrationGates(this.#store, this.servers, this.settings, (migrationId, state) =>
      this.#log.info({ migrationId, throttled: state.throttled, reasons: state.reasons }, state.throttled ? 'backfill throttled' : 'backfill resumed'),
    );
    // A killed worker's jobs are found stalled within about lockMs and handed to another worker.
    const options = { connection, concurrency: this.settings.concurrency, lockDuration: this.settings.lockMs, stalledInterval: this.settings.lockMs, maxStalledCount: 100 };
    this.#workers.push(
      new Worker(this.#producer.names.backfill, (job, token) => this.#run(job, token), options),
      new Worker(this.#producer.names.verify, (job, token) => this.#run(job, token), { ...options, concurrency: 1 }),
    );
    for (const w of this.#workers) w.on('error', (error) => this.#log.warn({ err: error.message }, 'queue connection error'));
    // Failed shadow writes that routers recorded are repaired from the primary by a job.
    this.#repairs = new ShadowRepairScheduler(this.#store, this.#producer, (error) => this.#log.warn({ err: (error as Error).message }, 'shadow repair scheduling failed'));
    this.#repairs.start();
    // Binlog capture streams of live migrations: one worker runs each (a lease in the control store).
    this.#capture = new CaptureSupervisor({
      store: this.#store,
      servers: this.servers,
      urls: (name) => serverUrl(this.#config, name),
      owner: this.settings.workerId,
      log: this.#log,
      onProgress: (event, migration) => {
        this.metrics.captureChangesApplied.inc({ migration, stream: event.stream }, event.applied);
        if (event.lagMs !== null) this.metrics.captureLagSeconds.set({ migration, stream: event.stream }, event.lagMs / 1000);
        if (event.behindBytes !== null) this.metrics.captureBehindBytes.set({ migration, stream: event.stream }, event.behindBytes);
        else this.metrics.captureBehindBytes.remove({ migration, stream: event.stream }); // unknown: no figure rather than a stale one
      },
      // A stream that ended here leaves no stale lag or bytes behind (another worker may run it now).
      onStreamEnd: (migration, stream) => {
        this.metrics.captureLagSeconds.remove({ migration, stream });
        this.metrics.captureBehindBytes.remove({ migration, stream });
      },
    });
    this.#capture.start();
  }

  /** The control store (open after start()). */
  get store(): ControlStore {
    if (!this.#store) throw new Error('WorkerHost.start() first');
    return this.#store;
  }

  /** The queue names this worker serves. */
  get queueNames(): { backfill: string; verify: string } {
    if (!this.#producer) throw new Error('WorkerHost.start() first');
    return this.#producer.names;
  }

  health(): Record<string, unknown> {
    const stats = this.pools.stats();
    return {
      status: this.#stopping ? 'stopping' : 'ok',
      workerId: this.settings.workerId,
      concurrency: this.settings.concurrency,
      activeJobs: this.#active,
      captureStreams: this.#capture?.running ?? [],
      // Migrations whose throttlers poll the servers now (only while this worker copies them).
      throttling: this.#gates?.open ?? [],
      connectionsOpened: stats.connectionsOpened,
      servers: Object.fromEntries(Object.entries(stats.servers).map(([k, s]) => [k, { budget: s.budget, connectionsOpened: s.connectionsOpened }])),
      uptimeSeconds: Math.round(process.uptime()),
    };
  }

  async #run(job: Job, token: string | undefined): Promise<unknown> {
    const name = job.name as keyof JobPayloads;
    const schema = JOB_PAYLOAD_SCHEMAS[name];
    if (!schema) throw new UnrecoverableError(`unknown job "${job.name}"`);
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job ${job.id} has an invalid payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const payload = parsed.data as JobPayloads[typeof name];
    const log = this.#log.child({ migrationId: payload.migrationId, job: job.name, jobId: job.id });
    this.#active++;
    const started = Date.now();
    try {
      const result = await this.#process(name, payload, log);
      log.info({ ms: Date.now() - started, result: summary(result) }, `${job.name} done`);
      return result;
    } catch (error) {
      if (isCleaveError(error, 'ABORTED') && token) {
        // Shutting down: the chunk in flight was checkpointed; hand the job back without using an attempt.
        log.info('released on shutdown; another worker resumes from the checkpoint');
        await job.moveToDelayed(Date.now() + 1_000, token);
        throw new DelayedError();
      }
      if (isPermanentBackfillError(error)) {
        log.error({ err: (error as Error).message }, `${job.name} failed permanently`);
        throw new UnrecoverableError((error as Error).message);
      }
      log.warn({ err: (error as Error).message, attempt: job.attemptsMade + 1 }, `${job.name} failed, will retry`);
      throw error;
    } finally {
      this.#active--;
    }
  }

  async #process(name: keyof JobPayloads, payload: JobPayloads[keyof JobPayloads], log: Logger): Promise<unknown> {
    const store = this.#store!;
    const producer = this.#producer!;
    // `cleave cancel` removes the queued jobs; one already taken, or retried, ends here.
    const migration = await store.getMigration(payload.migrationId);
    // Metrics carry the migration's name, as the coordinator's do.
    const labels = { migration: migration.name };
    if (migration.cancelledAt !== null) {
      log.info('skipped: the migration is cancelled');
      return { skipped: 'cancelled' };
    }
    const base = { store, servers: this.servers, owner: this.settings.workerId, signal: this.#abort.signal, log: ({ level, message, ...fields }: { level: 'debug' | 'info' | 'warn'; message: string }) => log[level](fields, message) };
    switch (name) {
      case 'split-table': {
        const p = payload as JobPayloads['split-table'];
        const result = await this.#gates!.use(p.migrationId, (gate) => splitTable(p, { ...base, gate, segmentRows: this.settings.segmentRows }));
        for (const unit of result.units) await producer.copySegments(p.migrationId, unit.unit, unit.segmentNos);
        return result;
      }
      case 'copy-segment': {
        const p = payload as JobPayloads['copy-segment'];
        const result = await this.#gates!.use(p.migrationId, (gate) =>
          copySegment(p, {
            ...base,
            gate,
            chunkSize: { targetMs: this.settings.chunkTargetMs },
            niceRatio: this.settings.niceRatio,
            bulkInsert: this.settings.bulkInsert,
            onProgress: (progress) => {
              this.metrics.rowsCopied.inc({ ...labels, table: p.table }, progress.chunkRows);
              this.metrics.chunkSeconds.observe(labels, progress.chunkMs / 1000);
            },
          }),
        );
        if (result.migrationCopied) {
          // The last segment of the migration: verify and repair until a full pass is clean.
          await producer.verifyMigration({ migrationId: p.migrationId, repair: true, maxPasses: 10 }, 1);
        }
        return result;
      }
      case 'verify-migration': {
        const p = payload as JobPayloads['verify-migration'];
        const result = await runVerifyJob(p, { store, servers: this.servers, actor: this.settings.workerId, signal: this.#abort.signal });
        this.metrics.verifyRowsChecked.inc(labels, result.rowsChecked);
        this.metrics.verifyDifferences.inc(labels, result.rowsDiffering);
        this.metrics.verifyRepairs.inc(labels, result.rowsRepaired);
        return result;
      }
      case 'repair-shadow-failures': {
        const p = payload as JobPayloads['repair-shadow-failures'];
        const report = await repairShadowFailures(p.migrationId, { store, servers: this.servers });
        this.metrics.verifyRepairs.inc(labels, report.keys);
        return report;
      }
    }
  }

  /** Graceful stop: no new jobs, in-flight chunks finish and checkpoint, then pools close. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      this.#repairs?.stop();
      await this.#capture?.stop();
      await Promise.all(this.#workers.map((w) => w.close()));
      await this.#gates?.close();
      await this.#producer?.close();
      await this.pools.end();
    })();
    return this.#stopping;
  }
}

function summary(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const { units, ...rest } = result as Record<string, unknown>;
  return units === undefined ? rest : { ...rest, units: (units as unknown[]).length };
}
