import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { CleaveError } from '@cleave/core';
import { RoutingChannel, shadowReadSource, type ControlStore, type MigrationRecord } from '@cleave/control';
import { CoordinatorLeases, Cutover, phaseChange, resolveCutoverSettings, type CutoverResult, type CutoverSettings } from '@cleave/cutover';
import type { PhaseActions } from './dashboard-server.js';
import type { EvaluateStep } from './precondition-watch.js';

/** CLEAVE_CUTOVER_SETTINGS (JSON of CutoverSettings fields), read as `cleave cutover` and the coordinator read it. */
export function cutoverSettingsFromEnv(env: Record<string, string | undefined>): CutoverSettings {
  let partial: Partial<CutoverSettings> = {};
  try {
    partial = env['CLEAVE_CUTOVER_SETTINGS'] ? (JSON.parse(env['CLEAVE_CUTOVER_SETTINGS']) as Partial<CutoverSettings>) : {};
  } catch {
    throw new CleaveError('CONFIG_INVALID', 'CLEAVE_CUTOVER_SETTINGS is not valid JSON');
  }
  return resolveCutoverSettings(partial);
}

/**
 * The dashboard's cutover: the same `Cutover` as `cleave cutover`, with the same settings
 * (CLEAVE_CUTOVER_SETTINGS). `evaluate` runs a step's named preconditions as the dry run does
 * (read-only, always available); the phase changes (for a worker with an action token) take the
 * per-migration lease, so the UI and a CLI never change one migration at once. An aborted change
 * is reported as an error, the migration stays where it was.
 */
export async function openCutoverActions(config: {
  store: ControlStore;
  redisUrl: string;
  queuePrefix: string;
  servers: (name: string) => Pool;
  actor: string;
  /** @defaultValue the defaults (a worker passes `cutoverSettingsFromEnv(process.env)`) */
  settings?: CutoverSettings;
}): Promise<PhaseActions & { evaluate: EvaluateStep; close(): Promise<void> }> {
  const settings = config.settings ?? resolveCutoverSettings();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  await redis.connect();
  const prefix = `${config.queuePrefix}:`;
  const fleet = new RoutingChannel({ redis, prefix });
  const cutover = new Cutover({
    store: config.store,
    fleet,
    leases: new CoordinatorLeases({ redis, prefix }),
    actor: config.actor,
    settings,
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
    evaluate: (migration, to) => cutover.evaluate(migration, phaseChange(migration.phase, to, { capture: migration.capture })),
    advance: (id, actor) => done(cutover.change(id, { reason: `dashboard (${actor})` })),
    rollback: (id, actor) => done(cutover.rollback(id, { reason: `dashboard (${actor})` })),
    finalize: (id, actor) => done(cutover.finalize(id, { approve: true, reason: `dashboard (${actor}), name typed to confirm` })),
    async close() {
      await fleet.close();
      redis.disconnect();
    },
  };
}
