import { quoteIdentifier } from '@cleave/mysql';
import { rowsOf, type Queryable } from './queryable.js';

/**
 * Seconds after its last heartbeat that a router still counts as live in the control store. The
 * routers beat every {@link ROUTER_STORE_HEARTBEAT_MS}; three missed beats mean it is gone.
 */
export const ROUTER_STORE_LIVE_SECONDS = 15;
/** How often a router refreshes its row in the control store. */
export const ROUTER_STORE_HEARTBEAT_MS = 5_000;

/** A router as the control store knows it. */
export interface StoredRouter {
  readonly routerId: string;
  readonly service: string;
  /** The routing channel prefix it listens on (null: it runs without a channel). */
  readonly routingPrefix: string | null;
  readonly host: string;
  readonly pid: number;
  readonly heartbeatAt: Date;
}

/** What a router writes about itself. */
export type RouterRegistration = Omit<StoredRouter, 'heartbeatAt'>;

interface RouterRow {
  router_id: string;
  service: string;
  routing_prefix: string | null;
  host: string;
  pid: string | number;
  heartbeat_at: Date | string;
}

/**
 * Routers registered in the control store, beside their leases in Redis. Every router reads its
 * migrations from this store, so it is the one registry no configuration can hide a router
 * from: a router on another Redis, or under another channel prefix, is still here, and
 * `all-routers-acked` refuses a switch it would not hear. Times are the server's clock, so the
 * routers' clocks never decide who is live.
 */
export class RouterRegistry {
  readonly #pool: Queryable;
  readonly #table: string;

  constructor(pool: Queryable, location: { readonly database: string; readonly table: string }) {
    this.#pool = pool;
    this.#table = `${quoteIdentifier(location.database)}.${quoteIdentifier(location.table)}`;
  }

  /** Inserts or refreshes the router's row (its heartbeat). */
  async heartbeat(router: RouterRegistration): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#table} (router_id, service, routing_prefix, host, pid, started_at, heartbeat_at)
       VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE service = VALUES(service), routing_prefix = VALUES(routing_prefix), host = VALUES(host), pid = VALUES(pid), heartbeat_at = VALUES(heartbeat_at)`,
      [router.routerId, router.service, router.routingPrefix, router.host, router.pid],
    );
  }

  /** Removes the router's row (a router that closes). */
  async deregister(routerId: string): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE router_id = ?`, [routerId]);
  }

  /** Routers whose last heartbeat is at most `liveSeconds` old; rows older than a day are removed. */
  async live(liveSeconds = ROUTER_STORE_LIVE_SECONDS): Promise<StoredRouter[]> {
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY`);
    const rows = await rowsOf<RouterRow>(
      this.#pool,
      `SELECT router_id, service, routing_prefix, host, pid, heartbeat_at FROM ${this.#table}
       WHERE heartbeat_at >= UTC_TIMESTAMP(6) - INTERVAL ? SECOND ORDER BY router_id`,
      [liveSeconds],
    );
    return rows.map((r) => ({
      routerId: r.router_id,
      service: r.service,
      routingPrefix: r.routing_prefix,
      host: r.host,
      pid: Number(r.pid),
      heartbeatAt: r.heartbeat_at instanceof Date ? r.heartbeat_at : new Date(`${r.heartbeat_at.replace(' ', 'T')}Z`),
    }));
  }
}
