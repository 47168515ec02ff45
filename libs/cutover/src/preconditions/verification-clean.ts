import { enteredAt, fail, pass, type Precondition } from '../precondition.js';

/**
 * The latest verification run finished clean, and it started after the migration entered
 * `dual_write` (so every row written since was dual-written or compared).
 */
export const verificationClean: Precondition = {
  name: 'verification-clean',
  description: 'the latest verification run is finished and clean, and started after dual writes began',
  async check(ctx) {
    const [runs, events] = await Promise.all([ctx.store.verificationRuns(ctx.migration.id), ctx.events()]);
    const last = runs.at(-1);
    if (last === undefined) return fail('no verification has run: run `cleave verify <id> --repair`');
    if (last.finishedAt === null || last.clean === null) return fail(`verification run ${last.id} is still running`);
    if (!last.clean) return fail(`verification run ${last.id} found ${last.rowsDiffering} differing rows: run \`cleave verify <id> --repair\``);
    const dualWriteSince = enteredAt(events, 'dual_write');
    if (dualWriteSince !== null && last.startedAt < dualWriteSince) return fail(`verification run ${last.id} started before dual writes began: verify again`);
    return pass(`verification run ${last.id} is clean (${last.rowsChecked} rows checked)`);
  },
};
