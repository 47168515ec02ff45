import { enteredAt, fail, pass, type Precondition } from '../precondition.js';

const fmt = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** The migration spent its configured soak time in the current phase. */
export const soakTimeElapsed: Precondition = {
  name: 'soak-time-elapsed',
  description: 'the migration has spent its configured soak time in the current phase',
  async check(ctx) {
    const phase = ctx.migration.phase;
    const soak = ctx.settings.soakMs[phase] ?? 0;
    if (soak <= 0) return pass(`no soak time is configured for ${phase}`);
    const since = enteredAt(await ctx.events(), phase) ?? ctx.migration.updatedAt;
    const spent = ctx.now().getTime() - since.getTime();
    if (spent < soak) return fail(`in ${phase} for ${fmt(spent)}, needs ${fmt(soak)}`);
    return pass(`in ${phase} for ${fmt(spent)} (needs ${fmt(soak)})`);
  },
};
