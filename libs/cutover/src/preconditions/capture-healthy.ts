import { streamsForPhase } from '@cleave/control';
import { fail, pass, warn, type Precondition } from '../precondition.js';

/** Most lag a capture stream may show at its last checkpoint for a switch to begin. */
const MAX_LAG_MS = 5_000;
/** A stream whose last checkpoint is older than this has no worker running it. */
const MAX_SILENCE_MS = 15_000;

/**
 * Every binlog capture stream of the current phase runs and keeps up (the in-fence wait then
 * only covers the last moments). Without capture, says plainly what that means.
 */
export const captureHealthy: Precondition = {
  name: 'capture-healthy',
  description: 'every binlog capture stream runs and keeps up',
  async check(ctx) {
    const wanted = streamsForPhase(ctx.migration.plan, ctx.migration.phase);
    const records = (await ctx.store.captureStreams().list(ctx.migration.id)).filter((r) => wanted.includes(r.stream));
    if (records.length === 0) {
      return warn('no binlog capture (started with --no-capture): writes made outside @cleave/router reach the other side only through verification passes, and one made after the last pass is lost at the switch');
    }
    const now = ctx.now().getTime();
    for (const r of records) {
      if (r.state !== 'active') return fail(`capture stream ${r.stream} is ${r.state}${r.error ? `: ${r.error}` : ''}`);
      const silentMs = r.checkpointedAt === null ? Infinity : now - r.checkpointedAt.getTime();
      if (silentMs > MAX_SILENCE_MS) return fail(`capture stream ${r.stream} has not checkpointed for ${Number.isFinite(silentMs) ? `${Math.round(silentMs / 1000)} s` : 'ever'}: start a worker (cleave worker)`);
      if ((r.lagMs ?? 0) > MAX_LAG_MS) return fail(`capture stream ${r.stream} is ${Math.round((r.lagMs ?? 0) / 1000)} s behind its binlog (at most ${MAX_LAG_MS / 1000} s)`);
    }
    return pass(records.map((r) => `${r.stream} ${r.lagMs ?? 0} ms behind`).join(', '));
  },
};
