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

  it('a subscriber whose connection the server dropped subscribes again and gets the next message', async () => {
    // A name of its own, so that the test can find and drop just this subscriber's connection.
    const name = `cleave-sub-${dbs().redisPrefix.replace(/[^a-z0-9]/gi, '')}`;
    const own = new Redis({ host: dbs().redis.host, port: dbs().redis.port, connectionName: name });
    const ownChannel = new RoutingChannel({ redis: own, prefix: dbs().redisPrefix });
    const received: string[] = [];
    const unsubscribe = await ownChannel.subscribe((message) => received.push(`${message.type} ${message.migrationId}`));
    const subscriberIds = async (): Promise<string[]> =>
      String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
        .split('\n')
        .filter((line) => line.includes(` name=${name} `) && / sub=1 /.test(line))
        .map((line) => /^id=(\d+)/.exec(line)?.[1] ?? '');
    const waitFor = async (what: string, check: () => Promise<boolean> | boolean) => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out after 10 s waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      const [first] = await subscriberIds();
      expect(first, 'the subscriber connection, subscribed').toBeDefined();
      await redis.call('CLIENT', 'KILL', 'ID', first!);
      await waitFor('the subscriber to connect and subscribe again', async () => (await subscriberIds()).some((id) => id !== first));
      await channel.announceEpoch('m-resub', 9);
      await waitFor('the message after the reconnect', () => received.includes('epoch m-resub'));
    } finally {
      await unsubscribe();
      await ownChannel.close();
      own.disconnect();
    }
  });
});
