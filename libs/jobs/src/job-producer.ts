import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { JobPayloads } from './job-payloads.js';
import { jobIds, queueNames, type QueueNames } from './queue-names.js';

/** Construction settings of {@link JobProducer}. */
export interface JobProducerConfig {
  readonly connection: ConnectionOptions;
  /** @defaultValue 'cleave' */
  readonly queuePrefix?: string;
}

/**
 * Retries with backoff for transient failures (a server restarting, a deadlock); completed jobs
 * are kept a day so that re-adding the same deterministic id stays a no-op.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 25,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 7 * 86_400 },
};

/** Enqueues cleave's jobs. Shared by the CLI, the coordinator and the worker. */
export class JobProducer {
  readonly names: QueueNames;
  readonly #backfill: Queue;
  readonly #verify: Queue;

  constructor(config: JobProducerConfig) {
    this.names = queueNames(config.queuePrefix);
    this.#backfill = new Queue(this.names.backfill, { connection: config.connection, defaultJobOptions: DEFAULT_JOB_OPTIONS });
    this.#verify = new Queue(this.names.verify, { connection: config.connection, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  }

  async splitTables(migrationId: string, tables: readonly string[]): Promise<void> {
    await this.#backfill.addBulk(
      tables.map((table) => ({
        name: 'split-table',
        data: { migrationId, table } satisfies JobPayloads['split-table'],
        opts: { jobId: jobIds.splitTable(migrationId, table) },
      })),
    );
  }

  async copySegments(migrationId: string, table: string, segmentNos: readonly number[]): Promise<void> {
    await this.#backfill.addBulk(
      segmentNos.map((segmentNo) => ({
        name: 'copy-segment',
        data: { migrationId, table, segmentNo } satisfies JobPayloads['copy-segment'],
        opts: { jobId: jobIds.copySegment(migrationId, table, segmentNo) },
      })),
    );
  }

  async verifyMigration(payload: JobPayloads['verify-migration'], runNo: number): Promise<string> {
    const job = await this.#verify.add('verify-migration', payload, { jobId: jobIds.verifyMigration(payload.migrationId, runNo), attempts: 3 });
    return job.id ?? jobIds.verifyMigration(payload.migrationId, runNo);
  }

  /** One repair job per migration per 5-second window, whichever worker asks first. */
  async repairShadowFailures(migrationId: string): Promise<void> {
    const at = Math.floor(Date.now() / 5000);
    await this.#verify.add('repair-shadow-failures', { migrationId }, { jobId: jobIds.repairShadowFailures(migrationId, at) });
  }

  /**
   * Removes a migration's jobs that are not running (waiting, delayed, prioritized, failed,
   * completed) from both queues; returns how many. A job running now finishes or fails on its own
   * (workers skip the jobs of a cancelled migration).
   */
  async removeMigrationJobs(migrationId: string): Promise<number> {
    let removed = 0;
    for (const queue of [this.#backfill, this.#verify]) {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children']);
      for (const job of jobs) {
        if ((job.data as { migrationId?: string } | undefined)?.migrationId !== migrationId) continue;
        // A job that became active meanwhile cannot be removed: the worker skips it.
        if (await job.remove().then(() => true, () => false)) removed += 1;
      }
    }
    return removed;
  }

  /** Workers connected to the queues now (BullMQ names their connections): none means nothing copies. */
  async workersAlive(): Promise<number> {
    const [backfill, verify] = await Promise.all([this.#backfill.getWorkers(), this.#verify.getWorkers()]);
    return Math.max(backfill.length, verify.length);
  }

  /** Jobs waiting, active, delayed and failed per queue (for status). */
  async counts(): Promise<Record<keyof QueueNames, Record<string, number>>> {
    const states = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
    return {
      backfill: await this.#backfill.getJobCounts(...states),
      verify: await this.#verify.getJobCounts(...states),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.#backfill.close(), this.#verify.close()]);
  }
}
