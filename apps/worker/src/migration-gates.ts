import type { Pool } from 'mysql2/promise';
import { SourceLatencyThrottler, ThrottleGate, ThreadsRunningThrottler, TargetLoadThrottler, type Throttler } from '@cleave/backfill';
import type { ControlStore } from '@cleave/control';
import type { WorkerSettings } from './worker-settings.js';

/** Milliseconds a migration's gate keeps polling after its last job ended (the next job of it reuses it). */
const IDLE_CLOSE_MS = 5_000;

interface GateEntry {
  readonly gate: Promise<ThrottleGate>;
  users: number;
  idle: NodeJS.Timeout | undefined;
}

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
      return await job(await held.gate);
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
    await (await entry.gate.catch(() => null))?.close();
  }

  async #create(migrationId: string): Promise<ThrottleGate> {
    const { plan } = await this.#store.getMigration(migrationId);
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
    return gate;
  }

  async close(): Promise<void> {
    for (const entry of this.#gates.values()) clearTimeout(entry.idle);
    const gates = await Promise.allSettled([...this.#gates.values()].map((e) => e.gate));
    this.#gates.clear();
    await Promise.all(gates.map((g) => (g.status === 'fulfilled' ? g.value.close() : undefined)));
  }
}
