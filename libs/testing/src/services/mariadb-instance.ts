import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { ServiceBinaries } from './binaries.js';
import type { MariadbInstanceConfig, ServicesConfig } from './services-config.js';
import { ServicesError } from './services-error.js';
import { isAlive, portOpen, readPid, stopProcess, waitFor } from './process-utils.js';

const execFileAsync = promisify(execFile);

export type InstanceState = 'started' | 'reused' | 'external';

const paths = (instance: MariadbInstanceConfig) => ({
  data: path.join(instance.dir, 'data'),
  run: path.join(instance.dir, 'run'),
  socket: path.join(instance.dir, 'run', 'mariadbd.sock'),
  pid: path.join(instance.dir, 'run', 'mariadbd.pid'),
  cnf: path.join(instance.dir, 'my.cnf'),
  errorLog: path.join(instance.dir, 'mariadbd.err'),
  binlog: path.join(instance.dir, 'binlog'),
  tmp: path.join(instance.dir, 'tmp'),
  bootstrapped: path.join(instance.dir, 'data', '.cleave-bootstrapped'),
});

/** Server settings for migration work: a ROW binlog, performance_schema, local_infile. */
function myCnf(instance: MariadbInstanceConfig, host: string): string {
  const p = paths(instance);
  const lines = [
    '[mariadbd]',
    `datadir=${p.data}`,
    `socket=${p.socket}`,
    `pid-file=${p.pid}`,
    `port=${instance.port}`,
    `bind-address=${host}`,
    `log-error=${p.errorLog}`,
    // Private temp dirs: instances sharing /tmp collide on temporary table names.
    `tmpdir=${p.tmp}`,
    `server-id=${instance.serverId}`,
    'skip-name-resolve',
    'performance_schema=ON',
    // The last statements of each thread, with their digests (the history is kept only with the current events).
    'performance-schema-consumer-events-statements-current=ON',
    'performance-schema-consumer-events-statements-history=ON',
    // Room for the digests of a whole test suite (each test database adds its own).
    'performance_schema_digests_size=50000',
    'local_infile=ON',
    'innodb_buffer_pool_size=256M',
    'innodb_log_file_size=128M',
    // Local instances trade crash durability of the last second for speed; the data is disposable.
    'innodb_flush_log_at_trx_commit=2',
    'max_connections=400',
    'character-set-server=utf8mb4',
    'collation-server=utf8mb4_general_ci',
    'max_allowed_packet=64M',
    ...(instance.binlog
      ? [
          `log-bin=${path.join(p.binlog, 'binlog')}`,
          'binlog_format=ROW',
          'binlog_row_image=FULL',
          'expire_logs_days=1',
          'sync_binlog=0',
          // cleave's placement guard is triggers: with a binlog, an account without SUPER may create them only with this (safe with ROW).
          'log_bin_trust_function_creators=1',
        ]
      : ['skip-log-bin']),
    ...(process.getuid?.() === 0 ? ['user=root'] : []),
  ];
  return lines.join('\n') + '\n';
}

async function canLogIn(config: ServicesConfig, instance: MariadbInstanceConfig): Promise<boolean> {
  try {
    const conn = await mysql.createConnection({
      host: config.host,
      port: instance.port,
      user: config.user,
      password: config.password,
      connectTimeout: 1_000,
    });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

async function initialise(binaries: ServiceBinaries, instance: MariadbInstanceConfig): Promise<void> {
  const p = paths(instance);
  if (existsSync(path.join(p.data, 'mysql'))) return;
  rmSync(p.data, { recursive: true, force: true });
  mkdirSync(p.data, { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${p.data}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    `--tmpdir=${p.tmp}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
  ];
  try {
    // The install script finds mariadbd relative to its basedir; point it at the binary we found.
    await execFileAsync(binaries.installDb, args, { env: { ...process.env, PATH: `${path.dirname(binaries.mariadbd)}:${process.env['PATH'] ?? ''}` } });
  } catch (error) {
    rmSync(p.data, { recursive: true, force: true });
    throw new ServicesError('SERVICES_START_FAILED', `mariadb-install-db failed for the ${instance.name} instance in ${p.data}`, { cause: error });
  }
}

/** Creates the loopback-only cleave account, connecting as root over the private socket. */
async function bootstrap(config: ServicesConfig, instance: MariadbInstanceConfig): Promise<void> {
  const p = paths(instance);
  if (existsSync(p.bootstrapped)) return;
  const conn = await mysql.createConnection({ socketPath: p.socket, user: 'root' });
  try {
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [config.user, host, config.password]);
      await conn.query('ALTER USER ?@? IDENTIFIED BY ?', [config.user, host, config.password]);
      await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [config.user, host]);
    }
  } finally {
    await conn.end();
  }
  writeFileSync(p.bootstrapped, new Date().toISOString());
}

function tailOf(file: string): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-6).join('\n');
}

/** Starts (or reuses) one private mariadbd. */
export async function startMariadb(
  binaries: ServiceBinaries,
  config: ServicesConfig,
  instance: MariadbInstanceConfig,
): Promise<InstanceState> {
  const p = paths(instance);
  const pid = readPid(p.pid);
  if (pid && isAlive(pid) && (await canLogIn(config, instance))) return 'reused';
  if (await portOpen(config.host, instance.port)) {
    if (await canLogIn(config, instance)) return 'external';
    throw new ServicesError(
      'SERVICES_PORT_TAKEN',
      `port ${instance.port} (the ${instance.name} MariaDB) is in use by another program that cleave cannot log in to: ` +
        `stop it or choose another port with CLEAVE_${instance.name.toUpperCase()}_PORT`,
    );
  }
  mkdirSync(p.run, { recursive: true });
  mkdirSync(p.binlog, { recursive: true });
  mkdirSync(p.tmp, { recursive: true });
  await initialise(binaries, instance);
  writeFileSync(p.cnf, myCnf(instance, config.host));
  rmSync(p.socket, { force: true });
  const log = openSync(p.errorLog, 'a');
  const child = spawn(binaries.mariadbd, [`--defaults-file=${p.cnf}`], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  const ready = await Promise.race([
    waitFor(async () => existsSync(p.socket) && (await portOpen(config.host, instance.port)), 30_000),
    exited.then(() => false),
  ]);
  if (!ready) {
    throw new ServicesError(
      'SERVICES_START_FAILED',
      `the ${instance.name} MariaDB did not start on port ${instance.port}; its log (${p.errorLog}) ends with:\n${tailOf(p.errorLog)}`,
    );
  }
  await bootstrap(config, instance);
  return 'started';
}

/** Stops the instance only if this tooling started it (its pid file is in our folder). */
export async function stopMariadb(instance: MariadbInstanceConfig): Promise<boolean> {
  const pid = readPid(paths(instance).pid);
  if (!pid || !isAlive(pid)) return false;
  await stopProcess(pid, 30_000);
  return true;
}

export function mariadbPid(instance: MariadbInstanceConfig): number | null {
  const pid = readPid(paths(instance).pid);
  return pid && isAlive(pid) ? pid : null;
}

export function mariadbSocket(instance: MariadbInstanceConfig): string {
  return paths(instance).socket;
}
