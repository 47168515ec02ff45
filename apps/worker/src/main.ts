import { Queue } from 'bullmq';
import { isCleaveError } from '@cleave/core';
import { Redis } from 'ioredis';
import { RoutingChannel, loadCleaveConfig, routerStatuses, type CleaveConfig } from '@cleave/control';
import { redisConnectionFromUrl } from '@cleave/jobs';
import { createLogger, type Logger } from '@cleave/logging';
import type { CutoverSettings } from '@cleave/cutover';
import { cutoverSettingsFromEnv, openCutoverActions } from './ui/cutover-actions.js';
import { startDashboard } from './ui/dashboard-server.js';
import { WorkerHost } from './worker-host.js';
import { readWorkerSettings, type WorkerSettings } from './worker-settings.js';
import { settingsFailure } from './startup-failure.js';

let log: Logger;
let settings: WorkerSettings;
let config: CleaveConfig;
let cutoverSettings: CutoverSettings;
try {
  settings = readWorkerSettings(process.argv, process.env);
  config = loadCleaveConfig(settings.configFile === undefined ? {} : { file: settings.configFile });
  // The dashboard's checks and actions run with the settings `cleave cutover` runs with.
  cutoverSettings = cutoverSettingsFromEnv(process.env);
  log = createLogger({ name: 'cleave-worker' });
} catch (error) {
  const failure = settingsFailure(error);
  if (failure === undefined) throw error;
  if (failure.message !== undefined) process.stderr.write(`cleave worker: ${failure.message}\n`);
  process.exit(failure.exitCode);
}

try {
  const host = new WorkerHost(config, settings, log.child({ workerId: settings.workerId }));
  await host.start();
  const connection = redisConnectionFromUrl(config.redisUrl);
  const queues = [new Queue(host.queueNames.backfill, { connection }), new Queue(host.queueNames.verify, { connection })];
  // The dashboard lists the live routers and the epoch each acknowledged (read-only use).
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const channel = new RoutingChannel({ redis, prefix: `${config.queuePrefix}:` });
  const routers = (migrationId: string) => routerStatuses(channel, migrationId);
  const shadowReads = (migrationId: string) => channel.shadowReadStats(migrationId);
  const token = process.env['CLEAVE_UI_TOKEN'];
  // The stepper's checks always; phase changes from the UI only when a token is configured (read-only otherwise).
  const actions = await openCutoverActions({ store: host.store, redisUrl: config.redisUrl, queuePrefix: config.queuePrefix, servers: host.servers, actor: `ui:${settings.workerId}`, settings: cutoverSettings });
  const dashboard = await startDashboard({
    port: settings.port,
    store: host.store,
    queues,
    health: () => host.health(),
    metrics: async () => ({ contentType: host.metrics.registry.contentType, body: await host.metrics.registry.metrics() }),
    routers,
    shadowReads,
    evaluate: actions.evaluate,
    throttling: () => host.metrics.sources.throttling(),
    ...(token ? { actionToken: token, actions } : {}),
  });
  log.info({ workerId: settings.workerId, port: dashboard.port, concurrency: settings.concurrency, poolSize: settings.poolSize }, 'worker ready');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping: in-flight chunks finish and checkpoint');
    void host
      .stop()
      .then(() => dashboard.close())
      .then(() => actions.close())
      .then(() => channel.close())
      .then(() => redis.disconnect())
      .then(() => Promise.all(queues.map((q) => q.close())))
      .then(() => {
        log.info('stopped');
        process.exit(0);
      });
  };
  process.once('SIGTERM', shutdown).once('SIGINT', shutdown);
} catch (error) {
  // A configuration problem found while starting (a server the control store names is not configured).
  const failure = settingsFailure(error);
  if (failure?.message !== undefined) process.stderr.write(`cleave worker: ${failure.message}\n`);
  else log.fatal({ err: error, code: isCleaveError(error) ? error.code : undefined, hint: isCleaveError(error) ? error.hint : undefined }, 'worker failed to start');
  process.exit(failure?.exitCode ?? 1);
}
