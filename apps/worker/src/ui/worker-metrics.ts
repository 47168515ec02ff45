import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One migration's throttle gate as this worker sees it now (see MigrationGates). */
export interface GateThrottling {
  readonly migrationId: string;
  /** The migration's name: the `migration` label of every cleave metric, worker and coordinator alike. */
  readonly migration: string;
  /** Every throttler the gate checks, by stable name. */
  readonly throttlers: readonly string[];
  /** The throttlers that say pause now. */
  readonly active: readonly string[];
  /** Why each active one says pause, with the value against its threshold (`source probe latency 5.70 ms > 0.80 ms …`). */
  readonly reasons: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** What the worker's scrape-time metrics read from the process. */
export interface WorkerMetricSources {
  /** MySQL connections opened so far, per server (host:port). */
  readonly connectionsByServer: () => Record<string, number>;
  readonly activeJobs: () => number;
  /** Gates open now (only while this worker has copy work of their migration). */
  readonly throttling: () => readonly GateThrottling[];
  /** Milliseconds copies waited per migration and throttler since the previous call. */
  readonly drainThrottledMs: () => ReadonlyArray<{ migration: string; throttler: string; ms: number }>;
}

/**
 * The worker's Prometheus metrics: what this process did (rows copied, chunks, verification,
 * capture, throttling). What the control plane knows (phases, rows remaining, workers alive,
 * shadow reads) is the coordinator's, so no series is exported once per worker. Labels carry the
 * migration's name and the table, never a server URL or credential.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly rowsCopied = new Counter({ name: 'cleave_rows_copied_total', help: 'Source rows copied by backfill chunks', labelNames: ['migration', 'table'], registers: [this.registry] });
  readonly chunkSeconds = new Histogram({
    name: 'cleave_chunk_duration_seconds',
    help: 'Time to sync one backfill chunk',
    labelNames: ['migration'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
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
  readonly captureBehindBytes = new Gauge({
    name: 'cleave_capture_behind_bytes',
    help: 'Bytes of binlog written after the last checkpoint of a capture stream of this worker, as the stream last measured them (about once a second)',
    labelNames: ['migration', 'stream'],
    registers: [this.registry],
  });
  readonly throttledSeconds: Counter;
  readonly throttled: Gauge;
  readonly connectionsOpened: Counter;
  readonly activeJobs: Gauge;
  /** What the metrics read (the dashboard reads the throttle gates from here too). */
  readonly sources: WorkerMetricSources;

  constructor(sources: WorkerMetricSources) {
    this.sources = sources;
    // Node's standard process_* and nodejs_* metrics, under their usual names (one registry per process).
    collectDefaultMetrics({ register: this.registry });
    this.throttledSeconds = new Counter({
      name: 'cleave_throttled_seconds_total',
      help: 'Seconds backfill copies of this worker waited on a throttler',
      labelNames: ['migration', 'reason'],
      registers: [this.registry],
      collect() {
        for (const d of sources.drainThrottledMs()) this.inc({ migration: d.migration, reason: d.throttler }, d.ms / 1000);
      },
    });
    this.throttled = new Gauge({
      name: 'cleave_throttled',
      help: 'Whether a throttler holds the backfill of this worker now (1) or not (0), per reason; only while the worker copies the migration',
      labelNames: ['migration', 'reason'],
      registers: [this.registry],
      collect() {
        // A gate that closed (no copy work left) takes its series with it.
        this.reset();
        for (const gate of sources.throttling()) {
          for (const reason of gate.throttlers) this.set({ migration: gate.migration, reason }, gate.active.includes(reason) ? 1 : 0);
        }
      },
    });
    this.connectionsOpened = new Counter({
      name: 'cleave_connections_opened_total',
      help: 'MySQL connections this worker opened, per server (host:port)',
      labelNames: ['server'],
      registers: [this.registry],
      collect() {
        // The pools count; a counter has no set, so the total is re-applied at each scrape.
        this.reset();
        for (const [server, n] of Object.entries(sources.connectionsByServer())) this.inc({ server }, n);
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
