import { fingerprintDigest, fingerprintSql } from './fingerprint.js';
import type { LogParseOptions } from './slow-log-parser.js';
import { addExecution, equalityLiterals, MAX_KEY_LITERALS, statementsOf, type StatementTotals, type Workload, type WorkloadTransaction } from './workload.js';

// MariaDB: `251125 23:06:01\t    12 Query\tSELECT 1` or `\t\t    12 Query\tSELECT 1`;
// MySQL 8: `2025-11-25T23:06:01.123456Z\t   12 Query\tSELECT 1`.
const ENTRY = /^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+)?\s*(\d+)\s+(Connect|Query|Quit|Init DB|Execute|Prepare|Close stmt|Reset stmt|Field List|Statistics|Ping|Change user|Long Data|Fetch|Set option|Refresh|Shutdown|Processlist|Kill|Debug|Binlog Dump|Table Dump|Time|Delayed insert|Daemon|Error|Sleep|Register Slave|Connect Out|Bulk_execute)\t?(.*)$/;

interface Connection {
  schema: string | null;
  /** Digests of the open transaction, or null outside one. */
  txn: string[] | null;
  autocommit: boolean;
  pending: { command: string; text: string } | null;
}

const BEGIN = /^(BEGIN|START\s+TRANSACTION)\b/i;
const END = /^(COMMIT|ROLLBACK)\b/i;
const AUTOCOMMIT = /^SET\s+(?:@@(?:SESSION\.)?|SESSION\s+)?autocommit\s*=\s*(0|1|ON|OFF)\s*$/i;

/**
 * Parses a MySQL or MariaDB general-query log: statements per fingerprint (executions only: the
 * general log has no timings) and, per connection, the statements run inside one transaction
 * (`BEGIN`/`START TRANSACTION` … `COMMIT`/`ROLLBACK`, or `autocommit = 0`), so that the
 * planner can see tables written together.
 *
 * @example
 * const workload = parseGeneralLog(readFileSync('general.log', 'utf8'), { database: 'accounts' });
 */
export function parseGeneralLog(text: string, options: LogParseOptions = {}): Workload {
  const totals = new Map<string, StatementTotals>();
  const transactions = new Map<string, { digests: string[]; count: number }>();
  const connections = new Map<string, Connection>();
  const conn = (id: string): Connection => {
    let c = connections.get(id);
    if (c === undefined) {
      c = { schema: null, txn: null, autocommit: true, pending: null };
      connections.set(id, c);
    }
    return c;
  };
  const closeTxn = (c: Connection) => {
    if (c.txn !== null && c.txn.length > 0) {
      const key = c.txn.join(',');
      const t = transactions.get(key);
      if (t === undefined) transactions.set(key, { digests: c.txn, count: 1 });
      else t.count += 1;
    }
    c.txn = null;
  };
  const handle = (id: string, command: string, argument: string) => {
    const c = conn(id);
    if (command === 'Connect') {
      const m = / on (\S+)/.exec(argument);
      c.schema = m !== null && m[1] !== 'using' ? m[1]! : null;
      return;
    }
    if (command === 'Init DB') {
      c.schema = argument.trim() || null;
      return;
    }
    if (command === 'Quit') {
      c.txn = null; // a transaction left open at disconnect is rolled back
      connections.delete(id);
      return;
    }
    if (command !== 'Query' && command !== 'Execute') return;
    const sql = argument.trim().replace(/;\s*$/, '');
    if (sql === '') return;
    const use = /^use\s+`?([^`;\s]+)`?$/i.exec(sql);
    if (use !== null) {
      c.schema = use[1]!;
      return;
    }
    const ac = AUTOCOMMIT.exec(sql);
    if (ac !== null) {
      const on = /^(1|ON)$/i.test(ac[1]!);
      if (on) closeTxn(c);
      c.autocommit = on;
      if (!on) c.txn = [];
      return;
    }
    if (BEGIN.test(sql)) {
      closeTxn(c);
      c.txn = [];
      return;
    }
    if (END.test(sql)) {
      closeTxn(c);
      if (!c.autocommit) c.txn = [];
      return;
    }
    if (options.database !== undefined && c.schema !== null && c.schema !== options.database) return;
    const fingerprint = fingerprintSql(sql);
    if (fingerprint === '') return;
    const digest = fingerprintDigest(fingerprint);
    addExecution(totals, { digest, text: fingerprint, schema: c.schema, literals: equalityLiterals(sql), connection: id });
    if (c.txn !== null && !c.txn.includes(digest)) c.txn.push(digest);
  };

  let current: { id: string; command: string; lines: string[] } | null = null;
  const flush = () => {
    if (current !== null) handle(current.id, current.command, current.lines.join('\n'));
    current = null;
  };
  for (const line of text.split(/\r?\n/)) {
    const m = ENTRY.exec(line);
    if (m !== null) {
      flush();
      current = { id: m[1]!, command: m[2]!, lines: [m[3] ?? ''] };
    } else if (/^\S+, Version: .* started with:$/.test(line) || /^(Tcp port|Time\s+Id\s+Command)/.test(line)) {
      flush();
    } else if (current !== null) {
      current.lines.push(line);
    }
  }
  flush();
  const txns: WorkloadTransaction[] = [...transactions.values()]
    .filter((t) => t.digests.length > 1)
    .sort((a, b) => (a.digests.join(',') < b.digests.join(',') ? -1 : 1));
  const warnings = [...totals.values()].some((t) => t.literalsTruncated === true)
    ? [`some statements named more than ${MAX_KEY_LITERALS} distinct key values: the rest are left out of the per-key load`]
    : [];
  return { origin: 'general-log', statements: statementsOf(totals, false), transactions: txns, timed: false, warnings };
}
