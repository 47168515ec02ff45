import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MIGRATION_PHASES } from '@cleave/core';
import type { ControlStore } from '@cleave/control';

/** What the coordinator's metrics read besides the control store (Redis: the routers' reports, the queues). */
export interface CoordinatorMetricSources {
  /** Workers connected to the job queues now. */
  readonly workersAlive: () => Promise<number>;
  /** Every router's shadow reads of a migration, summed (totals survive a router's restart). */
  readonly shadowReads: (migrationId: string) => Promise<{ routers: readonly string[]; compared: number; mismatched: number }>;
}

/** Phases whose migration still has work or a way back: their tables' rows remaining are exported. */
const LIVE_PHASES: ReadonlySet<string> = new Set(MIGRATION_PHASES.filter((p) => p !== 'finalized'));

/** Buckets of the pause-like histograms (a fenced switch holds writes for milliseconds to seconds). */
const PAUSE_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/**
 * The coordinator's Prometheus metrics: what the control plane knows, exported once per
 * installation (one coordinator runs). Write pauses come from the event log (every finished switch
 * records its pause, and the routers' held-write report), so they count switches run by any
 * coordinator or CLI, once each. The `migration` label is the migration's name, as on the workers.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly writePause = new Histogram({
    name: 'cleave_write_pause_seconds',
    help: 'Upper bound of the write pause of each fenced switch (fence to last epoch ack)',
    labelNames: ['migration', 'to'],
    buckets: PAUSE_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly heldWriteMax = new Histogram({
    name: 'cleave_held_write_max_seconds',
    help: 'Longest time a router held a write during each fenced switch (reported by the routers)',
    labelNames: ['migration', 'to'],
    buckets: PAUSE_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly heldWriteP99 = new Gauge({
    name: 'cleave_held_write_p99_seconds',
    help: 'p99 of the time routers held writes in the latest fenced switch (upper bound: largest router p99)',
    labelNames: ['migration', 'to'],
    registers: [this.registry],
  });
  readonly heldWrites = new Counter({ name: 'cleave_held_writes_total', help: 'Writes held by routers during fenced switches', labelNames: ['migration', 'to'], registers: [this.registry] });
  readonly recoveries = new Counter({
    name: 'cleave_coordinator_recoveries_total',
    help: 'Interrupted changes this coordinator finished or aborted',
    labelNames: ['migration', 'action'],
    registers: [this.registry],
  });
  readonly migrations = new Gauge({ name: 'cleave_migrations', help: 'Migrations by phase', labelNames: ['phase'], registers: [this.registry] });
  readonly phase = new Gauge({
    name: 'cleave_migration_phase',
    help: 'The phase of each migration: 1 for its current phase, 0 for the others',
    labelNames: ['migration', 'phase'],
    registers: [this.registry],
  });
  readonly rowsRemaining = new Gauge({
    name: 'cleave_rows_remaining',
    help: 'Rows of each table still to copy (catalog estimate minus rows copied; 0 once copied), migrations not finalized',
    labelNames: ['migration', 'table'],
    registers: [this.registry],
  });
  readonly workersAlive = new Gauge({ name: 'cleave_workers_alive', help: 'Workers connected to the job queues', registers: [this.registry] });
  readonly shadowReadsCompared = new Counter({
    name: 'cleave_shadow_reads_compared_total',
    help: 'Shadow reads the routers compared, all phases (reported by the routers)',
    labelNames: ['migration'],
    registers: [this.registry],
  });
  readonly shadowReadMismatches = new Counter({
    name: 'cleave_shadow_read_mismatches_total',
    help: 'Shadow reads that found a difference, all phases (reported by the routers)',
    labelNames: ['migration'],
    registers: [this.registry],
  });
  readonly #seen = new Set<string>();
  readonly #store: ControlStore;
  readonly #sources: CoordinatorMetricSources;

  constructor(store: ControlStore, sources: CoordinatorMetricSources) {
    this.#store = store;
    this.#sources = sources;
    // Node's standard process_* and nodejs_* metrics, under their usual names (one registry per process).
    collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the control store and Redis: phases, rows remaining, workers, shadow reads, and the pauses of switches not counted yet. */
  async refresh(): Promise<void> {
    const migrations = await this.#store.listMigrations();
    for (const phase of MIGRATION_PHASES) this.migrations.set({ phase }, migrations.filter((m) => m.phase === phase).length);
    this.phase.reset();
    this.rowsRemaining.reset();
    for (const m of migrations) {
      for (const phase of MIGRATION_PHASES) this.phase.set({ migration: m.name, phase }, m.phase === phase ? 1 : 0);
      if (LIVE_PHASES.has(m.phase) && m.cancelledAt === null) {
        for (const t of await this.#store.backfillTables(m.id)) {
          this.rowsRemaining.set({ migration: m.name, table: t.table }, t.state === 'copied' ? 0 : Math.max(0, t.rowsEstimate - t.rowsCopied));
        }
      }
      await this.#countPauses(m.id, m.name);
    }
    this.workersAlive.set(await this.#sources.workersAlive());
    // The routers' totals, re-applied at each scrape (a counter has no set; the totals only grow).
    this.shadowReadsCompared.reset();
    this.shadowReadMismatches.reset();
    for (const m of migrations) {
      const stats = await this.#sources.shadowReads(m.id);
      if (stats.routers.length === 0) continue;
      this.shadowReadsCompared.inc({ migration: m.name }, stats.compared);
      this.shadowReadMismatches.inc({ migration: m.name }, stats.mismatched);
    }
  }

  async #countPauses(migrationId: string, migration: string): Promise<void> {
    for (const e of await this.#store.events(migrationId)) {
      const key = `${migrationId}:${e.id}`;
      const details = e.details as { cutover?: string; to?: string; writePause?: { heldUpToMs?: number } | null; heldWrites?: { count?: number; maxMs?: number; p99Ms?: number } } | null;
      if (e.kind !== 'note' || details?.cutover !== 'done' || this.#seen.has(key)) continue;
      const pause = details.writePause;
      const held = details.heldWrites;
      if (!pause?.heldUpToMs && held === undefined) continue;
      this.#seen.add(key);
      const labels = { migration, to: String(details.to ?? '') };
      if (pause?.heldUpToMs) this.writePause.observe(labels, pause.heldUpToMs / 1000);
      if (held !== undefined && typeof held.count === 'number') {
        this.heldWrites.inc(labels, held.count);
        this.heldWriteMax.observe(labels, (held.maxMs ?? 0) / 1000);
        this.heldWriteP99.set(labels, (held.p99Ms ?? 0) / 1000);
      }
    }
  }
}

/** GET /health and /metrics on a small HTTP server (loopback). */
export async function startMetricsServer(port: number, metrics: CoordinatorMetrics, health: () => Record<string, unknown>): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(health()));
      } else if (req.url === '/metrics') {
        await metrics.refresh();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      } else {
        res.writeHead(404).end('not found\n');
      }
    })().catch((error: unknown) => res.writeHead(500).end(`${(error as Error).message}\n`));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}
