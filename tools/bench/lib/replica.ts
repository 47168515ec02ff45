// A private native MariaDB replica of the local source, the baseline of bench:capture: a fourth
// mariadbd started with the same settings as the test services (libs/testing's startMariadb), in
// its own folder and on its own port, replicating one database from a binlog position.
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ensureBinaries, mariadbPid, startMariadb, stopMariadb, type MariadbInstanceConfig, type MariadbInstanceName, type ServicesConfig } from '@cleave/testing';

export const DEFAULT_REPLICA_PORT = 33064;
const REPLICA_SERVER_ID = 4;

/** A running replica instance that this process started (or found left over by an earlier run). */
export interface ReplicaInstance {
  readonly port: number;
  readonly pid: number;
  readonly state: 'started' | 'reused';
  /** An admin connection (dates as text, big numbers exact). */
  connect(database?: string): Promise<mysql.Connection>;
  /** Stops replicating and forgets the source (so a later start does not resume it), then stops the server. */
  stop(): Promise<void>;
}

/** The replica's port: the given one, else CLEAVE_REPLICA_PORT, else 33064. */
export function replicaPort(env: Record<string, string | undefined>, given?: string): number {
  const raw = given ?? env['CLEAVE_REPLICA_PORT'] ?? '';
  if (raw === '') return DEFAULT_REPLICA_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`replica port ${raw} is not a TCP port: give a number between 1 and 65535`);
  return port;
}

/**
 * Starts the replica mariadbd (server-id 4, data in <services dir>/replica; initialised on first
 * use). Refuses a port some other server already answers on: the bench stops what it starts.
 */
export async function startReplica(config: ServicesConfig, port: number, log: (line: string) => void): Promise<ReplicaInstance> {
  if (config.mariadb.some((m) => m.port === port)) throw new Error(`replica port ${port} is the port of a test service: choose another with --replica-port or CLEAVE_REPLICA_PORT`);
  const instance: MariadbInstanceConfig = {
    // startMariadb uses the name in its messages only.
    name: 'replica' as MariadbInstanceName,
    port,
    // As the test services: a binlog of its own (replicated events are not written to it: log_slave_updates is off).
    binlog: true,
    serverId: REPLICA_SERVER_ID,
    dir: path.join(config.rootDir, 'replica'),
  };
  const binaries = ensureBinaries(process.env, log);
  const state = await startMariadb(binaries, config, instance);
  if (state === 'external') {
    throw new Error(`port ${port} already has a MariaDB that this bench did not start: stop it, or choose another port with --replica-port or CLEAVE_REPLICA_PORT`);
  }
  const pid = mariadbPid(instance);
  if (pid === null) throw new Error(`the replica mariadbd on port ${port} has no pid file in ${instance.dir}`);
  const connect = (database?: string) =>
    mysql.createConnection({ host: config.host, port, user: config.user, password: config.password, database, charset: 'utf8mb4_general_ci', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, timezone: 'Z' });
  let stopped = false;
  return {
    port,
    pid,
    state,
    connect,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        const conn = await connect();
        try {
          await conn.query('STOP SLAVE');
          await conn.query('RESET SLAVE ALL');
        } finally {
          await conn.end();
        }
      } catch {
        // the server is stopped below anyway
      }
      await stopMariadb(instance);
    },
  };
}

/** Where the replica starts reading the source's binlog. */
export interface ReplicationStart {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly file: string;
  readonly position: number;
  /** The one database replicated (replicate_do_db). */
  readonly database: string;
  /** slave_parallel_threads (0, MariaDB's default: one SQL thread). */
  readonly parallelThreads: number;
}

const literal = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;

/** Points the replica at the source from a file and offset (no GTID) and starts replicating. */
export async function startReplication(conn: mysql.Connection, from: ReplicationStart): Promise<void> {
  await conn.query('STOP SLAVE');
  await conn.query('RESET SLAVE ALL');
  await conn.query(`SET GLOBAL replicate_do_db = ${literal(from.database)}`);
  await conn.query(`SET GLOBAL slave_parallel_threads = ${Math.max(0, Math.trunc(from.parallelThreads))}`);
  await conn.query(
    `CHANGE MASTER TO MASTER_HOST = ${literal(from.host)}, MASTER_PORT = ${from.port}, MASTER_USER = ${literal(from.user)}, MASTER_PASSWORD = ${literal(from.password)}, ` +
      `MASTER_LOG_FILE = ${literal(from.file)}, MASTER_LOG_POS = ${from.position}, MASTER_USE_GTID = no`,
  );
  await conn.query('START SLAVE');
}

/** The replication threads' state: throws the last error when one of them stopped. */
export async function replicationHealthy(conn: mysql.Connection): Promise<void> {
  const [rows] = (await conn.query('SHOW SLAVE STATUS')) as unknown as [Array<Record<string, string | null>>];
  const status = rows[0];
  if (status === undefined) throw new Error('the replica is not configured (SHOW SLAVE STATUS is empty)');
  if (status['Slave_IO_Running'] !== 'Yes' || status['Slave_SQL_Running'] !== 'Yes') {
    throw new Error(
      `replication stopped: IO ${status['Slave_IO_Running']} (${status['Last_IO_Error'] ?? ''}), SQL ${status['Slave_SQL_Running']} (${status['Last_SQL_Error'] ?? ''})`,
    );
  }
}
