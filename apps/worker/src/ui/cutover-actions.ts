import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { CleaveError } from '@cleave/core';
import { RoutingChannel, shadowReadSource, type ControlStore, type MigrationRecord } from '@cleave/control';
import { CoordinatorLeases, Cutover, type CutoverResult } from '@cleave/cutover';
import type { PhaseActions } from './dashboard-server.js';

/**
 * The dashboard's phase changes run the same cutover as `cleave cutover`: named preconditions,
 * the fenced switch, the per-migration lease (so the UI and a CLI never change one migration at
 * once). An aborted change is reported as an error, the migration stays where it was.
 */
export async function openCutoverActions(config: {
  store: ControlStore;
  redisUrl: string;
  queuePrefix: string;
  servers: (name: string) => Pool;
  actor: string;
}): Promise<PhaseActions & { close(): Promise<void> }> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  await redis.connect();
  const prefix = `${config.queuePrefix}:`;
  const fleet = new RoutingChannel({ redis, prefix });
  const cutover = new Cutover({
    store: config.store,
    fleet,
    leases: new CoordinatorLeases({ redis, prefix }),
    actor: config.actor,
    servers: config.servers,
    shadowReads: shadowReadSource(fleet),
  });
  const done = async (run: Promise<CutoverResult>): Promise<MigrationRecord> => {
    const result = await run;
    if (result.outcome === 'aborted') throw new CleaveError('CONFLICT', `the change ${result.from} -> ${result.to} was aborted: ${result.reason}`);
    if (result.outcome === 'refused') throw new CleaveError('PRECONDITION_FAILED', `the change ${result.from} -> ${result.to} was refused: ${result.reason}`);
    return config.store.getMigration(result.migrationId);
  };
  return {
    advance: (id, actor) => done(cutover.change(id, { reason: `dashboard (${actor})` })),
    rollback: (id, actor) => done(cutover.rollback(id, { reason: `dashboard (${actor})` })),
    finalize: (id, actor) => done(cutover.finalize(id, { approve: true, reason: `dashboard (${actor}), name typed to confirm` })),
    async close() {
      await fleet.close();
      redis.disconnect();
    },
  };
}
