import { acquire, type RouterPool } from './router-pool.js';

/** Connections opened ahead of use on each server a migration's tables live on. */
const WARM_CONNECTIONS = 8;
/** Connections of a pool the warming never takes: the service's own reads go on meanwhile. */
const LEFT_FREE = 2;

/** What a mysql2 pool shows of itself: its settings, and (private, read only here) its connections. */
interface Mysql2PoolView {
  readonly config?: { readonly connectionLimit?: unknown };
  readonly _allConnections?: { readonly length?: unknown };
  readonly _freeConnections?: { readonly length?: unknown };
}

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * How many connections to take from `pool` so that it opens the missing ones: its free ones
 * (handed out first) plus the missing. `0`: warm enough, or not a mysql2 pool (nothing known).
 * Never more than the pool can open without queueing, and {@link LEFT_FREE} stay for the service.
 */
function connectionsToTake(pool: RouterPool): number {
  const view = pool as Mysql2PoolView;
  const limit = count(view.config?.connectionLimit);
  const open = count(view._allConnections?.length);
  const free = count(view._freeConnections?.length);
  if (limit === undefined || open === undefined || free === undefined) return 0;
  const missing = Math.min(WARM_CONNECTIONS, limit - LEFT_FREE) - open;
  return missing > 0 ? free + missing : 0;
}

/**
 * Opens connections of the pools a switch is about to use. A reads switch sends the reads and the
 * shadow applies of every write held by its fence to the target at once; on a pool that never
 * talked to the target, each of them first waits for a new connection (TCP, handshake,
 * authentication: 50-160 ms for a burst of 10-30 on a loaded 2-core machine, against 5-20 ms
 * warm), and that wait is the write pause. A mysql2 pool keeps its idle connections (`maxIdle`
 * defaults to the connection limit), so connections opened once stay ready.
 */
export class PoolWarmer {
  readonly #warming = new Map<RouterPool, Promise<void>>();

  /** Opens up to {@link WARM_CONNECTIONS} connections of `pool` (off the caller's path; never fails). */
  warm(pool: RouterPool): void {
    if (this.#warming.has(pool)) return;
    const take = connectionsToTake(pool);
    if (take === 0) return;
    // Held together until all are open: one released at once would be handed out again instead of a new one opened.
    const warming = Promise.allSettled(Array.from({ length: take }, () => acquire(pool))).then((taken) => {
      for (const result of taken) if (result.status === 'fulfilled') result.value.release();
    });
    this.#warming.set(
      pool,
      warming.finally(() => this.#warming.delete(pool)),
    );
  }

  /**
   * Resolves once every warming begun so far has ended (tests). Closing the router does not wait:
   * a pool the service ends meanwhile fails the connections still opening, which is harmless.
   */
  async idle(): Promise<void> {
    await Promise.all(this.#warming.values());
  }
}
