import os from 'node:os';
import { ROUTER_STORE_HEARTBEAT_MS, type RouterRegistration } from '@cleave/control';
import type { RouterLog } from './router-config.js';

/** The part of `ControlStore` a router registers itself in (optional on a migration source). */
export interface RouterRegistryStore {
  routers(): { heartbeat(router: RouterRegistration): Promise<void>; deregister(routerId: string): Promise<void> };
}

/** Whether the router's migration source can register it (a `ControlStore` can). */
export function canRegister(store: object): store is RouterRegistryStore {
  return typeof (store as Partial<RouterRegistryStore>).routers === 'function';
}

/**
 * Keeps the router's row in the control store fresh (every few seconds) and removes it at stop.
 * The Redis lease is what fences follow; this row is how a coordinator finds a router whatever
 * Redis or channel prefix it was configured with: every router reads this store.
 */
export class StoreRegistration {
  readonly #store: RouterRegistryStore;
  readonly #router: RouterRegistration;
  readonly #log: RouterLog;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(store: RouterRegistryStore, router: { routerId: string; service: string; routingPrefix: string | null }, log: RouterLog) {
    this.#store = store;
    this.#router = { ...router, host: os.hostname(), pid: process.pid };
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    }, ROUTER_STORE_HEARTBEAT_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    await this.#store
      .routers()
      .deregister(this.#router.routerId)
      .catch((error: unknown) => this.#log({ level: 'warn', message: 'removing this router from the control store failed; it expires there on its own', error: (error as Error).message }));
  }

  async #beat(): Promise<void> {
    try {
      await this.#store.routers().heartbeat(this.#router);
    } catch (error) {
      this.#log({ level: 'warn', message: 'router heartbeat to the control store failed', error: (error as Error).message });
    }
  }
}
