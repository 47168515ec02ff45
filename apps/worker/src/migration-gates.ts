import type { Pool } from 'mysql2/promise';
import { SourceLatencyThrottler, ThrottleGate, ThreadsRunningThrottler, TargetLoadThrottler, type Throttler } from '@cleave/backfill';
import type { ControlStore } from '@cleave/control';
import type { WorkerSettings } from './worker-settings.js';

/**
 * One throttle gate per migration (its source and targets differ), created on first use and
 * polled only while the worker holds jobs of that migration.
 */
export class MigrationGates {
  readonly #gates = new Map<string, Promise<ThrottleGate>>();
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

  gate(migrationId: string): Promise<ThrottleGate> {
    let gate = this.#gates.get(migrationId);
    if (!gate) {
      gate = this.#create(migrationId);
      this.#gates.set(migrationId, gate);
      gate.catch(() => this.#gates.delete(migrationId));
    }
    return gate;
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
    const gates = await Promise.allSettled(this.#gates.values());
    this.#gates.clear();
    await Promise.all(gates.map((g) => (g.status === 'fulfilled' ? g.value.close() : undefined)));
  }
}
