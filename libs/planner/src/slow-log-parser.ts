import { fingerprintDigest, fingerprintSql } from './fingerprint.js';
import { addExecution, equalityLiterals, statementsOf, MAX_KEY_LITERALS, type StatementTotals, type Workload } from './workload.js';

/** Per-call options of the log parsers. */
export interface LogParseOptions {
  /**
   * Keep only statements that ran in this database (its `use db;` or connection default);
   * statements whose database is unknown are kept.
   */
  readonly database?: string;
}

const HEADER = /^# (Time|User@Host|Thread_id|Query_time|Rows_affected|Bytes_sent|QC_hit|Full_scan|Filesort|Tmp_tables|Schema|explain|Log_slow)/;
const SKIP = /^(SET timestamp=\d+;?|SET last_insert_id=\d+;?|SET insert_id=\d+;?)$/i;

function field(line: string, name: string): number | undefined {
  const m = new RegExp(`\\b${name}:\\s*([0-9.]+)`).exec(line);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Parses a MySQL or MariaDB slow-query log (`long_query_time = 0` logs every statement):
 * each entry's `Query_time`, `Rows_examined`, `Rows_sent` and (MariaDB) `Rows_affected` are
 * summed per statement fingerprint. The database comes from `use db;` lines and MariaDB's
 * `Schema:` header.
 *
 * @example
 * const workload = parseSlowLog(readFileSync('slow.log', 'utf8'), { database: 'accounts' });
 */
export function parseSlowLog(text: string, options: LogParseOptions = {}): Workload {
  const totals = new Map<string, StatementTotals>();
  const lines = text.split(/\r?\n/);
  let schema: string | null = null;
  let meta: { time?: number; examined?: number; sent?: number; affected?: number } = {};
  let sql: string[] = [];
  let entries = 0;
  const flush = () => {
    const statement = sql.join('\n').trim();
    sql = [];
    if (statement === '') return;
    for (const part of splitStatements(statement)) {
      const use = /^use\s+`?([^`;\s]+)`?\s*;?$/i.exec(part);
      if (use !== null) {
        schema = use[1]!;
        continue;
      }
      if (SKIP.test(part)) continue;
      if (options.database !== undefined && schema !== null && schema !== options.database) continue;
      const fingerprint = fingerprintSql(part);
      if (fingerprint === '') continue;
      entries += 1;
      addExecution(totals, {
        digest: fingerprintDigest(fingerprint),
        text: fingerprint,
        schema,
        timeMs: (meta.time ?? 0) * 1000,
        rowsExamined: meta.examined,
        rowsSent: meta.sent,
        rowsAffected: meta.affected,
        literals: equalityLiterals(part),
      });
    }
    meta = {};
  };
  for (const line of lines) {
    if (line.startsWith('#')) {
      if (sql.length > 0) flush();
      if (!HEADER.test(line)) continue;
      const s = /\bSchema:\s*(\S+)/.exec(line);
      if (s !== null && s[1] !== '') schema = s[1]!;
      meta.time = field(line, 'Query_time') ?? meta.time;
      meta.examined = field(line, 'Rows_examined') ?? meta.examined;
      meta.sent = field(line, 'Rows_sent') ?? meta.sent;
      meta.affected = field(line, 'Rows_affected') ?? meta.affected;
      continue;
    }
    if (/^\S+, Version: .* started with:$/.test(line) || /^(Tcp port|Time\s+Id\s+Command)/.test(line)) continue;
    sql.push(line);
  }
  flush();
  const warnings = entries === 0 ? ['the slow log holds no statements (is long_query_time = 0?)'] : [];
  if ([...totals.values()].some((t) => t.literalsTruncated === true)) warnings.push(`some statements named more than ${MAX_KEY_LITERALS} distinct key values: the rest are left out of the per-key load`);
  return { origin: 'slow-log', statements: statementsOf(totals, true), transactions: [], timed: true, warnings };
}

/** Splits `use db;\nSET timestamp=1;\nSELECT …;` into statements at top-level semicolons. */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote !== null) {
      if (c === '\\' && quote !== '`') i += 1;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === ';') {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}
