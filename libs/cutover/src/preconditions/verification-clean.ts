import { PHASE_ROUTING, isMigrationPhase } from '@cleave/core';
import type { MigrationEvent } from '@cleave/control';
import { enteredAt, fail, pass, type Precondition } from '../precondition.js';

/** When the write primary last moved (a writes switch or its rollback), or `null`. */
function primaryMovedAt(events: readonly MigrationEvent[]): Date | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind !== 'phase_change' || !isMigrationPhase(e.from) || !isMigrationPhase(e.to)) continue;
    if (PHASE_ROUTING[e.from].primary !== PHASE_ROUTING[e.to].primary) return e.at;
  }
  return null;
}

/**
 * The latest verification run finished clean, and it started after the migration entered
 * `dual_write` (every row written since was captured or compared) and after the write primary
 * last moved (a pass compares the shadow against the primary; one from before a move compared
 * the other direction).
 */
export const verificationClean: Precondition = {
  name: 'verification-clean',
  description: 'the latest verification run is finished and clean, and started after dual writes began and after the primary last moved',
  async check(ctx) {
    const [runs, events] = await Promise.all([ctx.store.verificationRuns(ctx.migration.id), ctx.events()]);
    const last = runs.at(-1);
    if (last === undefined) return fail('no verification has run: run `cleave verify <id> --repair`');
    if (last.finishedAt === null || last.clean === null) return fail(`verification run ${last.id} is still running`);
    if (!last.clean) return fail(`verification run ${last.id} found ${last.rowsDiffering} differing rows: run \`cleave verify <id> --repair\``);
    const dualWriteSince = enteredAt(events, 'dual_write');
    if (dualWriteSince !== null && last.startedAt < dualWriteSince) return fail(`verification run ${last.id} started before dual writes began: verify again`);
    const movedAt = primaryMovedAt(events);
    if (movedAt !== null && last.startedAt < movedAt) {
      return fail(`verification run ${last.id} started before the write primary last moved (${movedAt.toISOString()}): run \`cleave verify <id> --repair\` against the current primary`);
    }
    return pass(`verification run ${last.id} is clean (${last.rowsChecked} rows checked)`);
  },
};
