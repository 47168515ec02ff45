import type { CoordinatorFence } from '@cleave/control';
import type { CutoverStore } from './cutover-store.js';

/**
 * The control store as a coordinator holding a lease writes to it: every phase change and event
 * carries the lease's fencing token, so the store refuses them (`STALE_COORDINATOR`, nothing
 * written) once a coordinator with a higher token has claimed the migration. Reads pass through.
 */
export function fencedStore(store: CutoverStore, lease: { readonly token: number }): CutoverStore {
  const fence: CoordinatorFence = { token: lease.token };
  return {
    getMigration: (idOrName) => store.getMigration(idOrName),
    listMigrations: () => store.listMigrations(),
    events: (id) => store.events(id),
    backfillTables: (id) => store.backfillTables(id),
    verificationRuns: (id) => store.verificationRuns(id),
    openShadowFailures: (id, limit) => store.openShadowFailures(id, limit),
    coordinatorToken: (id) => store.coordinatorToken(id),
    captureStreams: () => store.captureStreams(),
    routers: () => store.routers(),
    claimCoordinator: (id, claim) => store.claimCoordinator(id, claim),
    appendEvent: (id, kind, by, details, explicit) => store.appendEvent(id, kind, by, details, explicit ?? fence),
    changePhase: (id, change, by) => store.changePhase(id, { fence, ...change }, by),
  };
}
