import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { useTestDatabases } from '@cleave/testing';
import { RoutingChannel } from './routing-channel.js';

describe('RoutingChannel fences (real Redis)', () => {
  const dbs = useTestDatabases('routing channel');
  let redis: Redis;
  let channel: RoutingChannel;

  beforeAll(() => {
    redis = new Redis({ host: dbs().redis.host, port: dbs().redis.port });
    channel = new RoutingChannel({ redis, prefix: dbs().redisPrefix });
  });
  afterAll(async () => {
    await channel.close();
    redis.disconnect();
  });

  it("a coordinator lifts only its own fence: a late unfence leaves its successor's in place", async () => {
    const stale = await channel.fence('m1', 4, { ttlMs: 10_000 });
    const successor = await channel.fence('m1', 4, { ttlMs: 10_000 }); // took over, fenced again
    await channel.unfence('m1', stale.fenceId);
    expect((await channel.fences(['m1'])).get('m1')?.fenceId).toBe(successor.fenceId);
    await channel.unfence('m1', successor.fenceId);
    expect(await channel.fences(['m1'])).toEqual(new Map());
    await channel.unfence('m1', successor.fenceId); // idempotent: nothing left to lift
    expect(await channel.fences(['m1'])).toEqual(new Map());
  });
});
