import { CleaveError } from '@cleave/core';
import type { Workload, WorkloadStatement } from './workload.js';

/** The `query` method of a mysql2 promise pool or connection (structural). */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** Per-call options of {@link readDigestWorkload}. */
export interface ReadDigestOptions {
  /** Server name, for messages. @defaultValue `'source'` */
  readonly server?: string;
}

const ENABLE_HINT =
  'Add `performance_schema = ON` under [mysqld] in the server config and restart it (the digest consumer is on by default), ' +
  'or pass a slow-query log (--slow-log FILE, with long_query_time = 0) or a general-query log (--general-log FILE) instead.';

const DIGESTS_SQL = `
SELECT SCHEMA_NAME AS schema_name, DIGEST AS digest, DIGEST_TEXT AS digest_text, COUNT_STAR AS count_star,
       SUM_TIMER_WAIT AS sum_timer_wait, SUM_ROWS_EXAMINED AS sum_rows_examined,
       SUM_ROWS_AFFECTED AS sum_rows_affected, SUM_ROWS_SENT AS sum_rows_sent
FROM performance_schema.events_statements_summary_by_digest
WHERE SCHEMA_NAME = ? AND DIGEST IS NOT NULL AND COUNT_STAR > 0
ORDER BY DIGEST`;

function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function mysqlCode(error: unknown): { code: string; errno: number; message: string } {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown };
  return { code: String(e?.code ?? ''), errno: Number(e?.errno ?? 0), message: String(e?.message ?? error) };
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST', 'ER_ACCESS_DENIED_ERROR', 'ECONNRESET']);

/** A CleaveError for a failed query against the source: unreachable, or not allowed. */
export function sourceQueryError(error: unknown, server: string, what: string): CleaveError {
  const { code, errno, message } = mysqlCode(error);
  if (NETWORK.has(code)) {
    return new CleaveError('CONNECTION_FAILED', `cannot reach server "${server}" to read ${what}: ${message}`, {
      cause: error,
      hint: `Check that server "${server}" is up and that its URL (CLEAVE_SERVER_${server.toUpperCase().replace(/[^A-Z0-9]/g, '_')} or cleave.config.json) and credentials are right.`,
    });
  }
  if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || errno === 1142 || errno === 1044) {
    return new CleaveError('PRECONDITION_FAILED', `the user of server "${server}" may not read ${what}: ${message}`, {
      cause: error,
      hint: "Grant it: GRANT SELECT ON performance_schema.* TO 'user'@'host'; (and SELECT on the planned database), or pass --slow-log / --general-log.",
    });
  }
  return new CleaveError('CONNECTION_FAILED', `reading ${what} from server "${server}" failed: ${message}`, { cause: error });
}

/**
 * Reads the statement digests of one database from the live server's
 * `performance_schema.events_statements_summary_by_digest` (cumulative since the server started
 * or the table was truncated; use {@link diffWorkloads} on two reads for a time window).
 *
 * @throws {CleaveError} `PRECONDITION_FAILED` when performance_schema is off, the digest
 * consumer is disabled or the user may not read it (each with the fix as hint);
 * `CONNECTION_FAILED` when the server cannot be reached.
 *
 * @example
 * const workload = await readDigestWorkload(pool, 'accounts', { server: 'source' });
 */
export async function readDigestWorkload(queryable: Queryable, database: string, options: ReadDigestOptions = {}): Promise<Workload> {
  const server = options.server ?? 'source';
  let rows: unknown;
  try {
    const [vars] = await queryable.query("SELECT @@GLOBAL.performance_schema AS ps, @@GLOBAL.performance_schema_max_digest_length AS max_len");
    const first = (vars as Record<string, unknown>[])[0];
    if (first === undefined || num(first['ps']) !== 1) {
      throw new CleaveError('PRECONDITION_FAILED', `performance_schema is off on server "${server}", so its statement digests cannot be read`, {
        hint: ENABLE_HINT,
      });
    }
    const [consumers] = await queryable.query("SELECT NAME AS name, ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME IN ('statements_digest', 'global_instrumentation')");
    const off = (consumers as Record<string, unknown>[]).filter((c) => String(c['enabled']).toUpperCase() !== 'YES').map((c) => String(c['name']));
    if (off.length > 0) {
      throw new CleaveError('PRECONDITION_FAILED', `performance_schema consumer ${off.join(' and ')} is disabled on server "${server}", so no statement digests are collected`, {
        hint: `Enable it: UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN (${off.map((o) => `'${o}'`).join(', ')}); let the workload run, then plan again.`,
      });
    }
    [rows] = await queryable.query(DIGESTS_SQL, [database]);
    const warnings: string[] = [];
    const [lost] = await queryable.query("SHOW GLOBAL STATUS LIKE 'Performance_schema_digest_lost'");
    const lostCount = num((lost as Record<string, unknown>[])[0]?.['Value']);
    if (lostCount > 0) {
      warnings.push(
        `performance_schema lost ${lostCount} digests (the digest table is full): rare statements are missing; raise performance_schema_digests_size and TRUNCATE the digest table`,
      );
    }
    const maxLen = num(first['max_len']);
    const statements: WorkloadStatement[] = (rows as Record<string, unknown>[]).map((r) => ({
      digest: String(r['digest']),
      text: String(r['digest_text'] ?? ''),
      schema: r['schema_name'] === null ? null : String(r['schema_name']),
      executions: num(r['count_star']),
      // timers are picoseconds
      totalTimeMs: num(r['sum_timer_wait']) / 1e9,
      rowsExamined: num(r['sum_rows_examined']),
      rowsAffected: num(r['sum_rows_affected']),
      rowsSent: num(r['sum_rows_sent']),
    }));
    const truncated = statements.filter((s) => maxLen > 0 && Buffer.byteLength(s.text) >= maxLen - 3).length;
    if (truncated > 0) {
      warnings.push(`${truncated} digest texts were cut at performance_schema_max_digest_length (${maxLen} bytes); their tables are guessed`);
    }
    return { origin: 'performance_schema', statements, transactions: [], timed: true, warnings };
  } catch (error) {
    if (error instanceof CleaveError) throw error;
    throw sourceQueryError(error, server, 'performance_schema statement digests');
  }
}
