import { ROUTER_STORE_HEARTBEAT_MS, ROUTER_STORE_LIVE_SECONDS, type StoredRouter } from '@cleave/control';
import { fail, pass, warn, type CheckContext, type CheckResult, type Precondition } from '../precondition.js';

const describeRouter = (r: StoredRouter): string => `${r.routerId} of ${r.service} on ${r.host} pid ${r.pid}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Among routers of this channel prefix that hold no lease here: those still beating in the
 * control store (it advances while we watch, one heartbeat interval), so alive and on another
 * Redis. The rest stopped or are paused since their last heartbeat: a switch goes ahead without
 * a silent router, as it does when a lease lapses (the placement guard refuses its late writes).
 */
async function aliveElsewhere(ctx: CheckContext, absent: readonly StoredRouter[]): Promise<StoredRouter[]> {
  const deadline = Date.now() + ROUTER_STORE_HEARTBEAT_MS + 1_500;
  const lastBeat = new Map(absent.map((r) => [r.routerId, r.heartbeatAt.getTime()]));
  const alive = new Map<string, StoredRouter>();
  while (Date.now() < deadline && alive.size < absent.length) {
    await sleep(500);
    for (const r of await ctx.store.routers().live()) {
      const before = lastBeat.get(r.routerId);
      if (before !== undefined && r.heartbeatAt.getTime() > before) alive.set(r.routerId, r);
    }
  }
  if (alive.size === 0) return [];
  const leased = new Set((await ctx.fleet.liveRouters()).map((r) => r.routerId));
  return [...alive.values()].filter((r) => !leased.has(r.routerId));
}

/**
 * Every live router applied the migration's current epoch. Live means holding a lease on the
 * routing channel; the control store, which every router reads its migrations from, also knows
 * the routers configured with another Redis or channel prefix, and they refuse the switch they
 * would not hear.
 */
export const allRoutersAcked: Precondition = {
  name: 'all-routers-acked',
  description: "every live router has acknowledged the migration's current epoch",
  async check(ctx) {
    const expected = ctx.migration.routingPrefix;
    if (expected !== null && ctx.fleet.prefix !== undefined && ctx.fleet.prefix !== expected) {
      const queuePrefix = expected.replace(/:$/, '');
      return fail(
        `this coordinator uses the routing channel "${ctx.fleet.prefix}", but the migration was started on "${expected}", where its routers listen: ` +
          `its fence would reach none of them; run it with the queue prefix "${queuePrefix}" (CLEAVE_QUEUE_PREFIX or queuePrefix in cleave.config.json)`,
      );
    }
    const [routers, acks, stored] = await Promise.all([ctx.fleet.liveRouters(), ctx.fleet.acks(ctx.migration.id), ctx.store.routers().live()]);
    const leased = new Set(routers.map((r) => r.routerId));
    const missing = stored.filter((r) => !leased.has(r.routerId));
    // Another channel prefix, or none: no fence of this migration reaches them.
    const deaf = expected === null ? [] : missing.filter((r) => r.routingPrefix !== expected);
    const absent = missing.filter((r) => !deaf.includes(r));
    const otherRedis = absent.length === 0 ? [] : await aliveElsewhere(ctx, absent);
    if (deaf.length + otherRedis.length > 0) {
      const named = [
        ...deaf.map((r) => `${describeRouter(r)} (${r.routingPrefix === null ? 'no routing channel' : `channel prefix "${r.routingPrefix}"`})`),
        ...otherRedis.map((r) => `${describeRouter(r)} (heartbeats in the control store, but no lease on this Redis: another Redis URL)`),
      ];
      return fail(
        `${named.length} router(s) registered in the control store are not on this migration's routing channel ("${expected}"), so its fence would not hold their writes: ${named.join(', ')}; ` +
          'configure them with the same Redis and queue prefix as the CLI (openCleaveDialect reads cleave.config.json), ' +
          `or stop them (a stopped router leaves the store ${ROUTER_STORE_LIVE_SECONDS} s after its last heartbeat)`,
      );
    }
    const onChannel = ackState(routers, acks, ctx.migration.epoch, ctx);
    if (absent.length === 0 || onChannel.status === 'fail') return onChannel;
    return warn(`${onChannel.detail}; ${absent.length} router(s) of the control store stopped or paused (no lease, no heartbeat since): ${absent.map(describeRouter).join(', ')}`);
  },
};

/** The verdict from the routers on the channel alone. */
function ackState(routers: readonly { routerId: string }[], acks: ReadonlyMap<string, { epoch: number }>, epoch: number, ctx: CheckContext): Omit<CheckResult, 'name'> {
  if (routers.length === 0) {
    if (ctx.migration.capture) return pass('no router is registered; the binlog capture carries every write to the other side');
    const lost = 'no router is registered and the migration runs without binlog capture: nothing carries a write made after the last verification pass to the other side';
    if (ctx.acceptUncapturedWrites === true) return warn(`${lost} (accepted with --accept-uncaptured-writes)`);
    return fail(`${lost}; start the routers, or pass --accept-uncaptured-writes to accept that such writes are lost`);
  }
  const behind = routers.filter((r) => (acks.get(r.routerId)?.epoch ?? 0) < epoch).map((r) => `${r.routerId} (${acks.get(r.routerId)?.epoch ?? 'no ack'})`);
  if (behind.length > 0) return fail(`${behind.length} of ${routers.length} routers have not acknowledged epoch ${epoch}: ${behind.sort().join(', ')}`);
  return pass(`${routers.length} routers acknowledged epoch ${epoch}`);
}
