import { fail, pass, warn, type Precondition } from '../precondition.js';

/** Every live router applied the migration's current epoch. */
export const allRoutersAcked: Precondition = {
  name: 'all-routers-acked',
  description: "every live router has acknowledged the migration's current epoch",
  async check(ctx) {
    const [routers, acks] = await Promise.all([ctx.fleet.liveRouters(), ctx.fleet.acks(ctx.migration.id)]);
    const epoch = ctx.migration.epoch;
    if (routers.length === 0) {
      if (ctx.migration.capture) return pass('no router is registered; the binlog capture carries every write to the other side');
      const lost = 'no router is registered and the migration runs without binlog capture: nothing carries a write made after the last verification pass to the other side';
      if (ctx.acceptUncapturedWrites === true) return warn(`${lost} (accepted with --accept-uncaptured-writes)`);
      return fail(`${lost}; start the routers, or pass --accept-uncaptured-writes to accept that such writes are lost`);
    }
    const behind = routers.filter((r) => (acks.get(r.routerId)?.epoch ?? 0) < epoch).map((r) => `${r.routerId} (${acks.get(r.routerId)?.epoch ?? 'no ack'})`);
    if (behind.length > 0) return fail(`${behind.length} of ${routers.length} routers have not acknowledged epoch ${epoch}: ${behind.sort().join(', ')}`);
    return pass(`${routers.length} routers acknowledged epoch ${epoch}`);
  },
};
