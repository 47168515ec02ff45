import type { Pool } from 'mysql2/promise';
import { SourceLatencyThrottler, ThrottleGate, ThreadsRunningThrottler, TargetLoadThrottler, type Throttler } from '@cleave/backfill';
import type { ControlStore } from '@cleave/control';
import type { WorkerSettings } from './worker-settings.js';
import type { GateThrottling } from './ui/worker-metrics.js';

/** Milliseconds a migration's gate keeps polling after its last job ended (the next job of it reuses it). */
const IDLE_CLOSE_MS = 5_000;

interface OpenGate {
  readonly gate: ThrottleGate;
  /** The migration's name (the metrics' `migration` label). */
  readonly migration: string;
  readonly throttlers: readonly string[];
  /** Throttled milliseconds per throttler already handed to the metrics. */
  readonly drained: Map<string, number>;
}

interface GateEntry {
  readonly gate: Promise<OpenGate>;
  users: number;
  idle: NodeJS.Timeout | undefined;
}

type ThrottledDelta = { migration: string; throttler: string; ms: number };

/**
 * One throttle gate per migration (its source and targets differ), created when a job of it starts
 * and closed a few seconds after its last job here ended: the throttlers poll the servers (and
 * report throttling) only while this worker has copy work of that migration.
 */
export class MigrationGates {
  readonly #gates = new Map<string, GateEntry>();
  readonly #store: ControlStore;
  readonly #servers: (name: string) => Pool;
  readonly #settings: WorkerSettings;
  readonly #onChange: (migrationId: string, state: ThrottleGate['state']) => void;
  readonly #opened = new Map<string, OpenGate>();
  /** Throttled time of gates closed since the last drain. */
  #closedDeltas: ThrottledDelta[] = [];

  constructor(store: ControlStore, servers: (name: string) => Pool, settings: WorkerSettings, onChange: (migrationId: string, state: ThrottleGate['state']) => void) {
    this.#store = store;
    this.#servers = servers;
    this.#settings = settings;
    this.#onChange = onChange;
  }

  /** Migrations whose gate is open (polling). */
  get open(): string[] {
    return [...this.#gates.keys()];
  }

  /** Each open gate's throttlers and which of them hold the copy now (the `cleave_throttled` gauge). */
  throttling(): GateThrottling[] {
    return [...this.#opened].map(([migrationId, g]) => {
      const reasons = g.gate.state.reasons;
      return { migrationId, migration: g.migration, throttlers: g.throttlers, active: reasons.map((r) => r.name), reasons };
    });
  }

  /** Throttled milliseconds per migration and throttler since the previous call (`cleave_throttled_seconds_total`). */
  drainThrottledMs(): ThrottledDelta[] {
    const deltas = this.#closedDeltas;
    this.#closedDeltas = [];
    for (const g of this.#opened.values()) deltas.push(...drain(g));
    return deltas.filter((d) => d.ms > 0);
  }

  /** Runs one job of the migration with its gate. */
  async use<T>(migrationId: string, job: (gate: ThrottleGate) => Promise<T>): Promise<T> {
    let entry = this.#gates.get(migrationId);
    if (entry === undefined) {
      const created: GateEntry = { gate: this.#create(migrationId), users: 0, idle: undefined };
      created.gate.catch(() => {
        if (this.#gates.get(migrationId) === created) this.#gates.delete(migrationId);
      });
      this.#gates.set(migrationId, created);
      entry = created;
    }
    const held = entry;
    clearTimeout(held.idle);
    held.users += 1;
    try {
      return await job((await held.gate).gate);
    } finally {
      held.users -= 1;
      if (held.users === 0) {
        held.idle = setTimeout(() => void this.#retire(migrationId, held), IDLE_CLOSE_MS);
        held.idle.unref();
      }
    }
  }

  async #retire(migrationId: string, entry: GateEntry): Promise<void> {
    if (entry.users > 0 || this.#gates.get(migrationId) !== entry) return;
    this.#gates.delete(migrationId);
    const open = await entry.gate.catch(() => null);
    if (open === null) return;
    await open.gate.close();
    this.#opened.delete(migrationId);
    this.#closedDeltas.push(...drain(open));
  }

  async #create(migrationId: string): Promise<OpenGate> {
    const { plan, name } = await this.#store.getMigration(migrationId);
    const throttlers: Throttler[] = [];
    if (this.#settings.maxSourceThreadsRunning > 0) {
      throttlers.push(new ThreadsRunningThrottler({ db: this.#servers(plan.source.server), maxThreadsRunning: this.#settings.maxSourceThreadsRunning, server: plan.source.server }));
    }
    if (this.#settings.maxSourceLatencyRatio > 0) {
      throttlers.push(new SourceLatencyThrottler({ db: this.#servers(plan.source.server), ratio: this.#settings.maxSourceLatencyRatio, server: plan.source.server }));
    }
    if (this.#settings.maxTargetThreadsRunning > 0) {
      for (const server of new Set(Object.values(plan.targets).map((t) => t.server))) {
        throttlers.push(new TargetLoadThrottler({ db: this.#servers(server), target: server, maxThreadsRunning: this.#settings.maxTargetThreadsRunning }));
      }
    }
    const gate = new ThrottleGate({
      throttlers,
      intervalMs: this.#settings.throttleIntervalMs,
      report: { store: this.#store, migrationId },
      onChange: (state) => this.#onChange(migrationId, state),
    });
    await gate.start();
    const open: OpenGate = { gate, migration: name, throttlers: throttlers.map((t) => t.name), drained: new Map() };
    this.#opened.set(migrationId, open);
    return open;
  }

  async close(): Promise<void> {
    for (const entry of this.#gates.values()) clearTimeout(entry.idle);
    const gates = await Promise.allSettled([...this.#gates.values()].map((e) => e.gate));
    this.#gates.clear();
    this.#opened.clear();
    await Promise.all(gates.map((g) => (g.status === 'fulfilled' ? g.value.gate.close() : undefined)));
  }
}

/** The gate's throttled time not handed to the metrics yet, per throttler. */
function drain(open: OpenGate): ThrottledDelta[] {
  return Object.entries(open.gate.throttledMs()).map(([throttler, total]) => {
    const ms = total - (open.drained.get(throttler) ?? 0);
    open.drained.set(throttler, total);
    return { migration: open.migration, throttler, ms };
  });
}
