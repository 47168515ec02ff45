import { ROUTER_STORE_LIVE_SECONDS, type StoredRouter } from '@cleave/control';
import { fail, pass, warn, type CheckContext, type CheckResult, type Precondition } from '../precondition.js';

const describeRouter = (r: StoredRouter): string => `${r.routerId} of ${r.service} on ${r.host} pid ${r.pid}`;

/**
 * Routers the control store knows that the routing channel does not. `deaf`: configured with
 * another channel prefix (or none), so no fence of this migration reaches them. `absent`: this
 * prefix but no lease on this Redis: stopped or paused since their last store heartbeat (the
 * switch goes ahead without a silent router, as it does when a lease lapses), or on another Redis.
 */
function offChannel(stored: readonly StoredRouter[], onChannel: ReadonlySet<string>, prefix: string | null): { deaf: string[]; absent: string[] } {
  const missing = stored.filter((r) => !onChannel.has(r.routerId));
  const deaf = prefix === null ? [] : missing.filter((r) => r.routingPrefix !== prefix);
  return {
    deaf: deaf.map((r) => `${describeRouter(r)} (${r.routingPrefix === null ? 'no routing channel' : `channel prefix "${r.routingPrefix}"`})`),
    absent: missing.filter((r) => !deaf.includes(r)).map(describeRouter),
  };
}

/**
 * Every live router applied the migration's current epoch. Live means holding a lease on the
 * routing channel; the control store, which every router reads its migrations from, also knows
 * the routers configured with another channel prefix, and they refuse the switch they would not hear.
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
    const epoch = ctx.migration.epoch;
    const { deaf, absent } = offChannel(stored, new Set(routers.map((r) => r.routerId)), ctx.migration.routingPrefix);
    if (deaf.length > 0) {
      return fail(
        `${deaf.length} router(s) registered in the control store listen on another routing channel than this migration's ("${ctx.migration.routingPrefix}"), so its fence would not hold their writes: ${deaf.join(', ')}; ` +
          'configure them with the same Redis and queue prefix as the CLI (openCleaveDialect reads cleave.config.json), ' +
          `or stop them (a stopped router leaves the store ${ROUTER_STORE_LIVE_SECONDS} s after its last heartbeat)`,
      );
    }
    const onChannel = ackState(routers, acks, epoch, ctx);
    if (absent.length === 0 || onChannel.status === 'fail') return onChannel;
    return warn(
      `${onChannel.detail}; ${absent.length} router(s) of the control store hold no lease on this Redis (stopped, paused, or configured with another Redis URL): ${absent.join(', ')}`,
    );
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
