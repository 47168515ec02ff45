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
    // A switch of reads or writes bumps the epoch: its counts start at zero.
    const stats = ctx.shadowReads === undefined ? null : await ctx.shadowReads.shadowReads(ctx.migration.id, { epoch });
    if (stats === null) return warn('routers reported no shadow-read statistics: reads were not compared');
    if (stats.mismatched > 0) {
      const where = stats.mismatchedTables !== undefined && stats.mismatchedTables.length > 0 ? ` (tables: ${stats.mismatchedTables.join(', ')})` : '';
      const examples = (stats.recentMismatches ?? [])
        .filter((m) => m.epoch === epoch)
        .slice(0, 3)
        .map((m) => `${m.table}: \`${m.sql.length > 120 ? `${m.sql.slice(0, 117)}...` : m.sql}\` returned ${m.servedOnly} row(s) only on the side served, ${m.otherOnly} only on the other`);
      const name = ctx.migration.name;
      return fail(
        `${stats.mismatched} of ${stats.compared} shadow reads differed in ${phase} (epoch ${epoch})${where}` +
          (examples.length > 0 ? `; latest: ${examples.join('; ')}` : '') +
          `. To get past it: make the sides equal (\`cleave verify ${name} --repair\`, which copies from the primary); the count covers epoch ${epoch} only, ` +
          `so start a fresh one by switching reads again (\`cleave rollback ${name}\` then \`cleave cutover ${name}\`) and let it soak; ` +
          'reads whose result is not deterministic (NOW(), RAND(), LIMIT without ORDER BY) differ with no data difference',
      );
    }
    if (stats.compared === 0) return warn(`no shadow read was compared in ${phase} (epoch ${epoch})${stats.errors ? `; ${stats.errors} failed to run` : ''}`);
    return pass(`${stats.compared} shadow reads compared in ${phase} (epoch ${epoch}), none differed${stats.errors ? `; ${stats.errors} failed to run` : ''}`);
  },
};
