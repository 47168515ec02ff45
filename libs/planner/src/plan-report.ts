import { formatBytes } from '@cleave/core';
import type { SplitPlanResult } from './split-planner.js';

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Options of {@link formatPlanReport}. */
export interface PlanReportOptions {
  /** Most broken / unparsed statements listed. @defaultValue 20 */
  readonly maxStatements?: number;
}

/**
 * The human report of a plan: per server its tables, rows, bytes and predicted share of
 * executions and time; the share of the source's load removed; the statements the split breaks
 * (digest text and frequency); statements the parser refused; foreign keys dropped; warnings.
 */
export function formatPlanReport(result: SplitPlanResult, options: PlanReportOptions = {}): string {
  const max = options.maxStatements ?? 20;
  const { plan } = result;
  const lines: string[] = [];
  lines.push(`plan ${plan.name}: ${result.mode === 'known' ? 'split as given' : 'computed split'} of ${plan.source.database} on server ${plan.source.server}`);
  if (result.workload !== null) {
    const w = result.workload;
    lines.push(`workload: ${w.origin}, ${int(w.statements)} statements, ${int(w.executions)} executions${w.timed ? '' : ' (no timings: time shares follow executions)'}`);
  } else {
    lines.push('workload: none (known split; no load prediction)');
  }
  lines.push('');
  for (const s of result.servers) {
    const title = s.role === 'source' ? `source  ${s.endpoint.server}/${s.endpoint.database}` : `target ${s.name}  ${s.endpoint.server}/${s.endpoint.database}`;
    lines.push(title);
    const shares =
      result.prediction === null
        ? ''
        : `, executions ${pct(s.executionsShare)}, time ${pct(s.timeShare ?? s.executionsShare)}` +
          (s.connectionShare === null || s.connectionShare === undefined ? '' : `, connections ${pct(s.connectionShare)}`);
    lines.push(`  ${s.tables.length} tables, ${int(s.rows)} rows, ${formatBytes(s.bytes)}${shares}`);
    if (s.tables.length > 0) lines.push(`  tables: ${s.tables.join(', ')}`);
  }
  lines.push('');
  if (result.prediction !== null) lines.push(`source load removed: ${pct(result.prediction.sourceLoadRemovedShare)}`);
  for (const k of result.shardKeys) lines.push(`shard key ${k.table}.${k.column}: ${k.reason}; ranges from ${k.method}`);
  if (result.droppedForeignKeys.length > 0) {
    lines.push(`foreign keys dropped on the target (the source keeps them until finalize): ${result.droppedForeignKeys.map((f) => `${f.table}.${f.name}`).join(', ')}`);
  }
  const broken = result.prediction?.brokenStatements ?? [];
  if (result.prediction !== null) {
    if (broken.length === 0) {
      lines.push('statements broken by the split: none');
    } else {
      const total = broken.reduce((s, b) => s + b.executions, 0);
      lines.push(`statements broken by the split: ${broken.length} (${int(total)} executions) — fix them before the move:`);
      for (const b of broken.slice(0, max)) {
        lines.push(`  ${int(b.executions).padStart(10)}x  ${b.reason}  [${b.tables.join(', ')}]  ${clip(b.text, 160)}`);
      }
      if (broken.length > max) lines.push(`  … ${broken.length - max} more (see --json)`);
    }
  }
  if (result.unparsed.length > 0) {
    lines.push(`statements the SQL parser refused: ${result.unparsed.length} (their tables were guessed from FROM/JOIN/INTO/UPDATE):`);
    for (const u of result.unparsed.slice(0, max)) lines.push(`  ${int(u.executions).padStart(10)}x  ${clip(u.text, 120)}  — ${clip(u.error, 80)}`);
    if (result.unparsed.length > max) lines.push(`  … ${result.unparsed.length - max} more (see --json)`);
  }
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
