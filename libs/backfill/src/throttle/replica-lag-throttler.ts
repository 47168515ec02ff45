import { CleaveError } from '@cleave/core';
import { requireCount, type StatusQueryable } from './read-global-status.js';
import { OPEN, throttleFor, type ThrottleDecision, type Throttler } from './throttler.js';

/** One replica of the source to watch. */
export interface ReplicaConfig {
  /** Name for reasons and logs (a server name from the server config, never a URL). */
  readonly name: string;
  /** A pool (or connection) on the replica; its user needs REPLICATION CLIENT / SLAVE MONITOR. */
  readonly db: StatusQueryable;
}

/** Construction settings of {@link ReplicaLagThrottler}. */
export interface ReplicaLagThrottlerConfig {
  readonly replicas: readonly ReplicaConfig[];
  /** Throttle while any replica is more than this many seconds behind. */
  readonly maxLagSeconds: number;
  /** @defaultValue 'replica-lag' */
  readonly name?: string;
}

/**
 * The statements that list replication status, newest syntax first: MariaDB's multi-source
 * `SHOW ALL SLAVES STATUS`, MySQL 8.0.22+'s `SHOW REPLICA STATUS`, then the old `SHOW SLAVE STATUS`.
 */
const STATUS_STATEMENTS = ['SHOW ALL SLAVES STATUS', 'SHOW REPLICA STATUS', 'SHOW SLAVE STATUS'] as const;

const ER_PARSE_ERROR = 1064;

type Row = Record<string, unknown>;

function pick(row: Row, ...names: string[]): unknown {
  for (const name of names) if (row[name] !== undefined) return row[name];
  return undefined;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/** What is wrong with one replication channel, or `null` when its lag is within `max`. */
function channelProblem(replica: string, row: Row, max: number): string | null {
  const connection = text(pick(row, 'Connection_name', 'Channel_Name', 'Channel_name'));
  const who = connection === '' ? `replica ${replica}` : `replica ${replica} (connection "${connection}")`;
  const io = text(pick(row, 'Slave_IO_Running', 'Replica_IO_Running'));
  const sql = text(pick(row, 'Slave_SQL_Running', 'Replica_SQL_Running'));
  const lag = pick(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
  if (io !== 'Yes' || sql !== 'Yes' || lag === null || lag === undefined) {
    const error = text(pick(row, 'Last_SQL_Error')) || text(pick(row, 'Last_IO_Error')) || text(pick(row, 'Last_Error'));
    return `${who} is not replicating (IO thread: ${io || '?'}, SQL thread: ${sql || '?'}${error === '' ? '' : `, last error: ${error}`}): its lag is unknown`;
  }
  const seconds = Number(lag);
  return seconds > max ? `${who} lag ${seconds} s > max ${max} s` : null;
}

/**
 * Pauses the backfill while a replica of the source lags: `Seconds_Behind_Master` (MariaDB) or
 * `Seconds_Behind_Source` (MySQL) above `maxLagSeconds`. A replica whose replication is stopped,
 * or a server that is not a replica at all, also throttles, with a reason that says so: its lag
 * cannot be known, and copying blind is how replicas fall hours behind.
 *
 * @example
 * new ReplicaLagThrottler({ replicas: [{ name: 'db1-replica', db: replicaPool }], maxLagSeconds: 5 });
 */
export class ReplicaLagThrottler implements Throttler {
  readonly name: string;
  readonly #replicas: readonly ReplicaConfig[];
  readonly #max: number;
  /** Which statement each replica understands, found on first use. */
  readonly #statement = new Map<string, string>();

  constructor(config: ReplicaLagThrottlerConfig) {
    if (config.replicas.length === 0) {
      throw new CleaveError('CONFIG_INVALID', 'ReplicaLagThrottler needs at least one replica', {
        hint: 'List the source replicas to watch, or leave the replica lag throttler out.',
      });
    }
    this.#replicas = Object.freeze([...config.replicas]);
    this.#max = requireCount(config.maxLagSeconds, 'maxLagSeconds');
    this.name = config.name ?? 'replica-lag';
  }

  async check(): Promise<ThrottleDecision> {
    const problems = await Promise.all(this.#replicas.map((replica) => this.#problem(replica)));
    const found = problems.filter((p): p is string => p !== null);
    return found.length === 0 ? OPEN : throttleFor(found.join('; '));
  }

  async #problem(replica: ReplicaConfig): Promise<string | null> {
    let rows: Row[];
    let statement: string;
    try {
      ({ rows, statement } = await this.#status(replica));
    } catch (error) {
      return `replica ${replica.name}: cannot read its replication status (${error instanceof Error ? error.message : String(error)})`;
    }
    if (rows.length === 0) {
      return `replica ${replica.name} is not a replica (${statement} returned nothing): its lag cannot be measured; fix its replication or remove it from the replicas to watch`;
    }
    const problems = rows.map((row) => channelProblem(replica.name, row, this.#max)).filter((p): p is string => p !== null);
    return problems.length === 0 ? null : problems.join('; ');
  }

  async #status(replica: ReplicaConfig): Promise<{ rows: Row[]; statement: string }> {
    const known = this.#statement.get(replica.name);
    const candidates = known === undefined ? STATUS_STATEMENTS : [known];
    let lastError: unknown;
    for (const statement of candidates) {
      try {
        const [rows] = await replica.db.query(statement);
        this.#statement.set(replica.name, statement);
        return { rows: rows as Row[], statement };
      } catch (error) {
        if ((error as { errno?: number }).errno !== ER_PARSE_ERROR) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }
}
