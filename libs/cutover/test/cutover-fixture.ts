import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { parsePlan } from '@cleave/core';
import { ControlStore, RoutingChannel, currentCoordinate, type MigrationRecord } from '@cleave/control';
import type { TestDatabases } from '@cleave/testing';
import { CoordinatorLeases, Cutover, type CutoverConfig } from '../src/index.js';

/** A router stand-in on the real routing channel: leases, acks fences and epochs like @cleave/router. */
export interface FakeRouter {
  readonly routerId: string;
  ackFences: boolean;
  /** Failed shadow writes it reports holding (not yet in the control store), with every ack. */
  pendingFailures: number;
  readonly epoch: number;
  stop(): Promise<void>;
}

export async function startFakeRouter(redis: Redis, prefix: string, store: ControlStore, migrationId: string, routerId: string): Promise<FakeRouter> {
  const channel = new RoutingChannel({ redis, prefix });
  let epoch = (await store.getMigration(migrationId)).epoch;
  const info = { routerId, service: 'test', host: 'localhost', pid: process.pid, startedAt: Date.now() };
  await channel.registerRouter(info, 3000);
  await channel.ack(migrationId, routerId, { epoch, fenceId: null, at: Date.now() });
  let reportedPending = 0;
  // Like @cleave/router: the heartbeat re-acks when the pending failures changed since the last ack.
  const heartbeat = setInterval(() => {
    void channel.registerRouter(info, 3000).catch(() => undefined);
    if (router.pendingFailures !== reportedPending) {
      reportedPending = router.pendingFailures;
      void channel.ack(migrationId, routerId, { epoch, fenceId: null, at: Date.now(), ...(reportedPending > 0 ? { pendingFailures: reportedPending } : {}) });
    }
  }, 500);
  const router: FakeRouter = {
    routerId,
    ackFences: true,
    pendingFailures: 0,
    get epoch() {
      return epoch;
    },
    async stop() {
      clearInterval(heartbeat);
      await unsubscribe();
      await channel.deregisterRouter(routerId);
    },
  };
  const unsubscribe = await channel.subscribe((message) => {
    if (message.migrationId !== migrationId) return;
    if (message.type === 'fence' && router.ackFences) {
      reportedPending = router.pendingFailures;
      void channel.ack(migrationId, routerId, { epoch, fenceId: message.fenceId, at: Date.now(), ...(reportedPending > 0 ? { pendingFailures: reportedPending } : {}) });
    }
    // Like @cleave/router: once a fence is lifted, how long it held writes (none here).
    if (message.type === 'unfence' && message.fenceId !== '*') void channel.reportHeldWrites(migrationId, message.fenceId, routerId, { count: 0, maxMs: 0, p99Ms: 0, at: Date.now() });
    if (message.type === 'epoch') {
      void store.getMigration(migrationId).then((m) => {
        epoch = m.epoch;
        return channel.ack(migrationId, routerId, { epoch, fenceId: null, at: Date.now() });
      });
    }
  });
  return router;
}

/** Control store, Redis, fleet and a factory of coordinators on one test's databases. */
export async function openFixture(dbs: TestDatabases) {
  const e = dbs.source.endpoint;
  const pool = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 6, timezone: 'Z' });
  const store = await ControlStore.open({ pool, database: `${dbs.name}_control` });
  const redis = new Redis(dbs.redis.url, { maxRetriesPerRequest: 2 });
  const fleet = new RoutingChannel({ redis, prefix: dbs.redisPrefix });
  const source = mysql.createPool({ host: e.host, port: e.port, user: e.user, password: e.password, connectionLimit: 2 });
  const cutover = (overrides: Partial<CutoverConfig> = {}) =>
    new Cutover({
      store,
      fleet,
      leases: new CoordinatorLeases({ redis, prefix: dbs.redisPrefix, ttlMs: 1000 }),
      actor: 'test',
      servers: () => source,
      settings: { fenceAckTimeoutMs: 500, epochAckTimeoutMs: 1000, fenceTtlMs: 5000 },
      ...overrides,
    });

  /** A migration in dual_write whose backfill is copied and verification clean. */
  async function readyMigration(name: string, tables: readonly string[] = ['sessions', 'user_keys'], options: { capture?: boolean } = {}): Promise<MigrationRecord> {
    const plan = parsePlan({
      version: 1,
      name,
      source: { server: 'source', database: dbs.name },
      targets: { keys: { server: 'target1', database: dbs.name } },
      moves: [{ kind: 'tables', tables, to: 'keys' }],
    });
    const capture = options.capture === true ? { capture: { server: 'source', from: await currentCoordinate(source, 'source') } } : {};
    // Recorded as `cleave start` records it: the channel its routers listen on.
    const m = await store.createMigration(plan, { actor: 'test' }, { ...capture, routingPrefix: dbs.redisPrefix });
    await store.changePhase(m.id, { from: 'planned', to: 'dual_write' }, { actor: 'test' });
    for (const t of tables) {
      await store.registerBackfillTable(m.id, t, 'keys', 10);
      await store.setBackfillTableState(m.id, t, 'copied');
    }
    await cleanVerification(m.id);
    return store.getMigration(m.id);
  }

  /** Records a finished, clean verification run that starts now. */
  async function cleanVerification(id: string): Promise<void> {
    const run = await store.startVerificationRun(id);
    await store.finishVerificationRun(run, { passes: 1, chunks: 2, rowsChecked: 20, rowsDiffering: 0, rowsRepaired: 0, clean: true });
  }

  return {
    store,
    redis,
    fleet,
    source,
    cutover,
    readyMigration,
    cleanVerification,
    async close() {
      await fleet.close();
      redis.disconnect();
      await source.end();
      await pool.end();
    },
  };
}
