import { fail, pass, type Precondition } from '../precondition.js';

/** No recorded shadow-write failure is waiting for repair: the shadow has every acknowledged write. */
export const shadowFailuresRepaired: Precondition = {
  name: 'shadow-failures-repaired',
  description: 'no failed shadow write is waiting for repair',
  async check(ctx) {
    const open = await ctx.store.openShadowFailures(ctx.migration.id, 100);
    if (open.length > 0) {
      const tables = [...new Set(open.map((f) => f.table))].sort();
      return fail(`${open.length >= 100 ? '100+' : open.length} failed shadow writes await repair (${tables.join(', ')}): let the worker repair them`);
    }
    return pass('no failed shadow write awaits repair');
  },
};
