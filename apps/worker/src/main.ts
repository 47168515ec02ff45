import { existsSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { isCleaveError } from '@cleave/core';
import { Redis } from 'ioredis';
import { RoutingChannel, resolveCleaveConfig, routerStatuses } from '@cleave/control';
import { redisConnectionFromUrl } from '@cleave/jobs';
import { openCutoverActions } from './ui/cutover-actions.js';
import { startDashboard } from './ui/dashboard-server.js';
import { WorkerHost } from './worker-host.js';
import { readWorkerSettings } from './worker-settings.js';

const log = pino({ base: { app: 'cleave-worker', pid: process.pid } });

try {
  const settings = readWorkerSettings(process.argv, process.env);
  const file = settings.configFile ?? (existsSync('cleave.config.json') ? 'cleave.config.json' : undefined);
  const config = resolveCleaveConfig(file ? JSON.parse(readFileSync(file, 'utf8')) : {}, process.env, file ?? 'environment');
  const host = new WorkerHost(config, settings, log.child({ workerId: settings.workerId }));
  await host.start();
  const connection = redisConnectionFromUrl(config.redisUrl);
  const queues = [new Queue(host.queueNames.backfill, { connection }), new Queue(host.queueNames.verify, { connection })];
  // The dashboard lists the live routers and the epoch each acknowledged (read-only use).
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const channel = new RoutingChannel({ redis, prefix: `${config.queuePrefix}:` });
  const routers = (migrationId: string) => routerStatuses(channel, migrationId);
  const shadowReads = (migrationId: string) => channel.shadowReadStats(migrationId);
  host.metrics.setShadowReadSource(async () => {
    const stats = await Promise.all((await host.store.listMigrations()).map(async (m) => ({ migration: m.id, ...(await shadowReads(m.id)) })));
    return stats.filter((s) => s.routers.length > 0);
  });
  const token = process.env['CLEAVE_UI_TOKEN'];
  // Phase changes from the UI only when a token is configured (read-only otherwise).
  const actions = token
    ? await openCutoverActions({ store: host.store, redisUrl: config.redisUrl, queuePrefix: config.queuePrefix, servers: host.servers, actor: `ui:${settings.workerId}` })
    : undefined;
  const dashboard = await startDashboard({
    port: settings.port,
    store: host.store,
    queues,
    health: () => host.health(),
    metrics: async () => ({ contentType: host.metrics.registry.contentType, body: await host.metrics.registry.metrics() }),
    routers,
    shadowReads,
    ...(token && actions ? { actionToken: token, actions } : {}),
  });
  log.info({ workerId: settings.workerId, port: dashboard.port, concurrency: settings.concurrency, poolSize: settings.poolSize }, 'worker ready');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping: in-flight chunks finish and checkpoint');
    void host
      .stop()
      .then(() => dashboard.close())
      .then(() => actions?.close())
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
  log.fatal({ code: isCleaveError(error) ? error.code : undefined, hint: isCleaveError(error) ? error.hint : undefined }, (error as Error).message);
  process.exit(isCleaveError(error) && error.code === 'CONFIG_INVALID' ? 2 : 1);
}
