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
  readonly connectionsOpened: Gauge;
  readonly activeJobs: Gauge;

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
  }
}
