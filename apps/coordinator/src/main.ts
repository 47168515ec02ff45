#!/usr/bin/env node
// The coordinator service: `npm run coordinator` (or `cleave coordinator`). Stops gracefully on SIGTERM/SIGINT.
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { ControlStore, RoutingChannel, loadCleaveConfig, serverUrl, shadowReadSource, type CleaveConfig } from '@cleave/control';
import { CoordinatorLeases, Cutover } from '@cleave/cutover';
import { JobProducer, redisConnectionFromUrl } from '@cleave/jobs';
import { createLogger, type Logger } from '@cleave/logging';
import { MysqlPools } from '@cleave/mysql';
import { CoordinatorMetrics, startMetricsServer } from './coordinator-metrics.js';
import { CoordinatorService } from './coordinator-service.js';
import { coordinatorSettings, type CoordinatorSettings } from './coordinator-settings.js';
import { settingsFailure } from './startup-failure.js';

/** Settings, config and logger, or the process ends: help (0), a usage or configuration error (2). */
function startup(): { config: CleaveConfig; settings: CoordinatorSettings; port: number; log: Logger } {
  try {
    const program = new Command('cleave-coordinator')
      .description('finishes or aborts a switch whose CLI process died; /health and /metrics on CLEAVE_COORDINATOR_PORT (default 8788)')
      .option('-c, --config <file>', 'config file (default: ./cleave.config.json when it exists)')
      .showHelpAfterError('(cleave coordinator --help lists the options)')
      .exitOverride()
      .parse(process.argv, { from: 'node' });
    const file = program.opts<{ config?: string }>().config;
    const config = loadCleaveConfig(file === undefined ? {} : { file });
    const settings = coordinatorSettings(process.env);
    return { config, settings, port: settings.port, log: createLogger({ name: 'cleave-coordinator' }) };
  } catch (error) {
    const failure = settingsFailure(error);
    if (failure === undefined) throw error;
    if (failure.message !== undefined) process.stderr.write(`cleave coordinator: ${failure.message}\n`);
    process.exit(failure.exitCode);
  }
}

async function main(config: CleaveConfig, settings: CoordinatorSettings, port: number, log: Logger): Promise<number> {
  const pools = new MysqlPools({ maxConnectionsPerServer: 8, defaultConnectionLimit: 4 });
  const store = await ControlStore.open({ pool: pools.pool(serverUrl(config, config.control.server)).promise, database: config.control.database });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const prefix = `${config.queuePrefix}:`;
  const fleet = new RoutingChannel({ redis, prefix });
  const leases = new CoordinatorLeases({ redis, prefix, ttlMs: settings.leaseTtlMs });
  const cutover = new Cutover({
    store,
    fleet,
    leases,
    actor: `coordinator:${leases.holder}`,
    settings: settings.cutover,
    servers: (name) => pools.pool(serverUrl(config, name)).promise,
    shadowReads: shadowReadSource(fleet),
  });
  // The queues only to count the workers connected to them (the coordinator adds no jobs).
  const queues = new JobProducer({ connection: redisConnectionFromUrl(config.redisUrl), queuePrefix: config.queuePrefix });
  const metrics = new CoordinatorMetrics(store, { workersAlive: () => queues.workersAlive(), shadowReads: (id) => fleet.shadowReadStats(id) });
  const service = new CoordinatorService({
    store,
    cutover,
    pollMs: settings.pollMs,
    log,
    onRecovered: (migration, r) => metrics.recoveries.inc({ migration, action: r.action }),
  });
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  service.start();
  const http = await startMetricsServer(port, metrics, () => ({ status: 'ok', holder: leases.holder }));
  log.info({ holder: leases.holder, port: http.port }, 'coordinator ready');
  await stopped;
  log.info('coordinator stopping');
  await service.stop();
  await http.close();
  await queues.close();
  await fleet.close();
  redis.disconnect();
  await pools.end();
  log.info('coordinator stopped');
  return 0;
}

const { config, settings, port, log } = startup();
main(config, settings, port, log).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.fatal({ err: error }, 'coordinator failed');
    process.exit(1);
  },
);
