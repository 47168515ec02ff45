import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { isCleaveError } from '@cleave/core';
import { resolveCleaveConfig } from '@cleave/control';
import { startHealthServer } from './health-server.js';
import { WorkerHost } from './worker-host.js';
import { readWorkerSettings } from './worker-settings.js';

const log = pino({ base: { app: 'cleave-worker', pid: process.pid } });

try {
  const settings = readWorkerSettings(process.argv, process.env);
  const file = settings.configFile ?? (existsSync('cleave.config.json') ? 'cleave.config.json' : undefined);
  const config = resolveCleaveConfig(file ? JSON.parse(readFileSync(file, 'utf8')) : {}, process.env, file ?? 'environment');
  const host = new WorkerHost(config, settings, log.child({ workerId: settings.workerId }));
  await host.start();
  const health = await startHealthServer(settings.port, () => host.health());
  log.info({ workerId: settings.workerId, port: health.port, concurrency: settings.concurrency, poolSize: settings.poolSize }, 'worker ready');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping: in-flight chunks finish and checkpoint');
    void host
      .stop()
      .then(() => health.close())
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
