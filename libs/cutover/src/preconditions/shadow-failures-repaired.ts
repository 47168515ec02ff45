import { fail, pass, type Precondition } from '../precondition.js';

/** No recorded shadow-write failure is waiting for repair: the shadow has every acknowledged write. */
export const shadowFailuresRepaired: Precondition = {
  name: 'shadow-failures-repaired',
  description: 'no failed shadow write is waiting for repair',
  async check(ctx) {
    const [open, live, acks] = await Promise.all([ctx.store.openShadowFailures(ctx.migration.id, 100), ctx.fleet.liveRouters(), ctx.fleet.acks(ctx.migration.id)]);
    // Failures a router holds in its journal or memory (the store was unreachable): the store's count misses them.
    const holding = live.flatMap((r) => {
      const n = acks.get(r.routerId)?.pendingFailures ?? 0;
      return n > 0 ? [`${r.routerId} (${n})`] : [];
    });
    if (holding.length > 0) {
      return fail(`routers hold failed shadow writes not yet recorded in the control store: ${holding.join(', ')}; they record them once they reach the store, then the worker repairs them`);
    }
    if (open.length > 0) {
      const count = open.length >= 100 ? '100+' : String(open.length);
      const tables = [...new Set(open.map((f) => f.table))].sort();
      const stale = open.filter((f) => f.guardEpoch !== null && f.guardEpoch !== ctx.migration.guardEpoch);
      if (stale.length > 0) {
        return fail(
          `${count} failed shadow writes await repair (${tables.join(', ')}), ${stale.length} of them routed under an earlier placement (guard epoch ${[...new Set(stale.map((f) => f.guardEpoch))].join(', ')}): ` +
            'their acknowledged values are on the side that is now the shadow; compare with `cleave verify`, correct the primary or accept its values with `cleave verify --repair`; a clean pass closes them',
        );
      }
      return fail(`${count} failed shadow writes await repair (${tables.join(', ')}): let the worker repair them`);
    }
    return pass('no failed shadow write awaits repair');
  },
};
