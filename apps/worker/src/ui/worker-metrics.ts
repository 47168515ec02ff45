import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The worker's Prometheus metrics. Labels carry the migration id and unit, never a server URL
 * or credential.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly rowsCopied = new Counter({ name: 'cleave_rows_copied_total', help: 'Source rows copied by backfill chunks', labelNames: ['migration', 'unit'], registers: [this.registry] });
  readonly chunkSeconds = new Histogram({
    name: 'cleave_chunk_duration_seconds',
    help: 'Time to sync one backfill chunk',
    labelNames: ['migration'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly throttledSeconds = new Counter({ name: 'cleave_throttled_seconds_total', help: 'Seconds the backfill waited, by throttle reason', labelNames: ['migration', 'throttler'], registers: [this.registry] });
  readonly verifyRowsChecked = new Counter({ name: 'cleave_verify_rows_checked_total', help: 'Rows compared by verification', labelNames: ['migration'], registers: [this.registry] });
  readonly verifyDifferences = new Counter({ name: 'cleave_verify_differences_total', help: 'Rows that differed between primary and shadow', labelNames: ['migration'], registers: [this.registry] });
  readonly verifyRepairs = new Counter({ name: 'cleave_verify_repairs_total', help: 'Rows repaired from the primary', labelNames: ['migration'], registers: [this.registry] });
  readonly captureChangesApplied = new Counter({
    name: 'cleave_capture_changes_applied_total',
    help: 'Keys of changed rows a binlog capture stream of this worker synced to the shadow',
    labelNames: ['migration', 'stream'],
    registers: [this.registry],
  });
  readonly captureLagSeconds = new Gauge({
    name: 'cleave_capture_lag_seconds',
    help: 'Apply time minus binlog commit time of the last transaction a capture stream of this worker checkpointed',
    labelNames: ['migration', 'stream'],
    registers: [this.registry],
  });
  readonly connectionsOpened: Gauge;
  readonly activeJobs: Gauge;
  readonly shadowReadsCompared: Gauge;
  readonly shadowReadMismatches: Gauge;
  #shadowReads: (() => Promise<ReadonlyArray<{ migration: string; compared: number; mismatched: number }>>) | undefined;

  constructor(sources: { connectionsByServer: () => Record<string, number>; activeJobs: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cleave_worker_' });
    this.connectionsOpened = new Gauge({
      name: 'cleave_connections_opened',
      help: 'MySQL connections this worker opened, per server (host:port)',
      labelNames: ['server'],
      registers: [this.registry],
      collect() {
        for (const [server, n] of Object.entries(sources.connectionsByServer())) this.set({ server }, n);
      },
    });
    this.activeJobs = new Gauge({
      name: 'cleave_worker_active_jobs',
      help: 'Jobs this worker is running',
      registers: [this.registry],
      collect() {
        this.set(sources.activeJobs());
      },
    });
    // Read from the control plane at scrape time (a failed read leaves the gauges empty).
    const fill = async (gauge: Gauge, field: 'compared' | 'mismatched') => {
      const rows = (await this.#shadowReads?.().catch(() => [])) ?? [];
      gauge.reset();
      for (const row of rows) gauge.set({ migration: row.migration }, row[field]);
    };
    this.shadowReadsCompared = new Gauge({
      name: 'cleave_shadow_reads_compared',
      help: 'Shadow reads the routers compared, all phases (from the control plane)',
      labelNames: ['migration'],
      registers: [this.registry],
      async collect() {
        await fill(this, 'compared');
      },
    });
    this.shadowReadMismatches = new Gauge({
      name: 'cleave_shadow_read_mismatches',
      help: 'Shadow reads that found a difference, all phases (from the control plane)',
      labelNames: ['migration'],
      registers: [this.registry],
      async collect() {
        await fill(this, 'mismatched');
      },
    });
  }

  /** Where the shadow-read gauges come from (the routing channel): one row per migration with reports. */
  setShadowReadSource(source: () => Promise<ReadonlyArray<{ migration: string; compared: number; mismatched: number }>>): void {
    this.#shadowReads = source;
  }
}
