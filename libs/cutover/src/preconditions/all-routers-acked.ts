import { fail, pass, warn, type Precondition } from '../precondition.js';

/** Every live router applied the migration's current epoch. */
export const allRoutersAcked: Precondition = {
  name: 'all-routers-acked',
  description: "every live router has acknowledged the migration's current epoch",
  async check(ctx) {
    const [routers, acks] = await Promise.all([ctx.fleet.liveRouters(), ctx.fleet.acks(ctx.migration.id)]);
    const epoch = ctx.migration.epoch;
    if (routers.length === 0) {
      return warn('no router is registered: writes that do not go through @cleave/router are caught only by verification');
    }
    const behind = routers.filter((r) => (acks.get(r.routerId)?.epoch ?? 0) < epoch).map((r) => `${r.routerId} (${acks.get(r.routerId)?.epoch ?? 'no ack'})`);
    if (behind.length > 0) return fail(`${behind.length} of ${routers.length} routers have not acknowledged epoch ${epoch}: ${behind.sort().join(', ')}`);
    return pass(`${routers.length} routers acknowledged epoch ${epoch}`);
  },
};
