import { fail, pass, warn, type Precondition } from '../precondition.js';

/**
 * Shadow reads compared by the routers in the current phase (since the migration's current epoch)
 * found no difference. Counts of earlier phases do not count: a mismatch seen before a repair,
 * or before a rollback, does not block forever.
 */
export const shadowReadMismatchesZero: Precondition = {
  name: 'shadow-read-mismatches-zero',
  description: 'shadow reads compared by the routers found no mismatch',
  async check(ctx) {
    const { epoch, phase } = ctx.migration;
    const stats = ctx.shadowReads === undefined ? null : await ctx.shadowReads.shadowReads(ctx.migration.id, { epoch });
    if (stats === null) return warn('routers reported no shadow-read statistics: reads were not compared');
    if (stats.mismatched > 0) {
      const where = stats.mismatchedTables !== undefined && stats.mismatchedTables.length > 0 ? ` (tables: ${stats.mismatchedTables.join(', ')})` : '';
      return fail(`${stats.mismatched} of ${stats.compared} shadow reads differed in ${phase} (epoch ${epoch})${where}`);
    }
    if (stats.compared === 0) return warn(`no shadow read was compared in ${phase} (epoch ${epoch})${stats.errors ? `; ${stats.errors} failed to run` : ''}`);
    return pass(`${stats.compared} shadow reads compared in ${phase} (epoch ${epoch}), none differed${stats.errors ? `; ${stats.errors} failed to run` : ''}`);
  },
};
