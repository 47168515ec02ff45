import { fail, pass, warn, type Precondition } from '../precondition.js';

/** Shadow reads compared by the routers found no difference. */
export const shadowReadMismatchesZero: Precondition = {
  name: 'shadow-read-mismatches-zero',
  description: 'shadow reads compared by the routers found no mismatch',
  async check(ctx) {
    const stats = ctx.shadowReads === undefined ? null : await ctx.shadowReads.shadowReads(ctx.migration.id);
    if (stats === null) return warn('routers reported no shadow-read statistics: reads were not compared');
    if (stats.mismatched > 0) return fail(`${stats.mismatched} of ${stats.compared} shadow reads differed`);
    return pass(`${stats.compared} shadow reads compared, none differed`);
  },
};
