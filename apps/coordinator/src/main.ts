#!/usr/bin/env node
// The coordinator service: `npm run coordinator` (or `cleave coordinator`). Stops gracefully on SIGTERM/SIGINT.
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { ControlStore, RoutingChannel, resolveCleaveConfig, serverUrl, shadowReadSource } from '@cleave/control';
import { CoordinatorLeases, Cutover } from '@cleave/cutover';
import { MysqlPools } from '@cleave/mysql';
import { CoordinatorMetrics, startMetricsServer } from './coordinator-metrics.js';
import { CoordinatorService } from './coordinator-service.js';
import { coordinatorSettings } from './coordinator-settings.js';

const log = (entry: Record<string, unknown> & { msg: string }) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const file = values.config ?? 'cleave.config.json';
  const json: unknown = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const config = resolveCleaveConfig(json, process.env, existsSync(file) ? file : 'environment');
  const settings = coordinatorSettings(process.env);
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
  const metrics = new CoordinatorMetrics(store);
  const service = new CoordinatorService({ store, cutover, pollMs: settings.pollMs, log: (entry) => {
    if (entry.msg === 'recovered an interrupted change') metrics.recoveries.inc({ action: String(entry['action']) });
    log(entry);
  } });
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  service.start();
  const http = await startMetricsServer(Number(process.env['CLEAVE_COORDINATOR_PORT'] ?? 8788), metrics, () => ({ status: 'ok', holder: leases.holder }));
  log({ msg: 'coordinator ready', holder: leases.holder, pid: process.pid, port: http.port });
  await stopped;
  log({ msg: 'coordinator stopping' });
  await service.stop();
  await http.close();
  await fleet.close();
  redis.disconnect();
  await pools.end();
  log({ msg: 'coordinator stopped' });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log({ msg: 'coordinator failed', error: (error as Error).message });
    process.exit(1);
  },
);
