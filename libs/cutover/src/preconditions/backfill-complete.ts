import { fail, pass, type Precondition } from '../precondition.js';

/** Every table of the backfill is copied. */
export const backfillComplete: Precondition = {
  name: 'backfill-complete',
  description: 'every moved table (or shard range) has been copied by the backfill',
  async check(ctx) {
    const tables = await ctx.store.backfillTables(ctx.migration.id);
    if (tables.length === 0) return fail('no backfill is registered for this migration');
    const pending = tables.filter((t) => t.state !== 'copied');
    if (pending.length > 0) return fail(`not copied yet: ${pending.map((t) => `${t.table} (${t.state})`).sort().join(', ')}`);
    return pass(`${tables.length} tables copied`);
  },
};
