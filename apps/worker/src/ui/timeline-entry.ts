import type { MigrationEvent } from '@cleave/control';

/** One line of the dashboard's timeline: what happened, in words, and how it went. */
export interface TimelineEntry {
  readonly at: string;
  readonly actor: string;
  /** What the event is: `switch begun`, `fenced`, `switch done`, `archive`, `aborted`, … */
  readonly title: string;
  /** What it did or found, in one line ('' when the title says it all). */
  readonly detail: string;
  /** `bad` for refusals, aborts and dirty verifications; `good` for finished steps; else `info`. */
  readonly tone: 'good' | 'bad' | 'info';
  /** Why, as given by whoever acted (`--reason`, the command), or null. */
  readonly reason: string | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const int = (v: unknown): string => {
  const n = num(v);
  return n === null ? '?' : Math.round(n).toLocaleString('en-US');
};
const ms = (v: unknown): string => {
  const n = num(v);
  return n === null ? '?' : n < 10 ? `${n.toFixed(1)} ms` : `${int(n)} ms`;
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const arrow = (e: Pick<MigrationEvent, 'from' | 'to'>, d: Record<string, unknown>): string => {
  const from = e.from ?? (typeof d['from'] === 'string' ? d['from'] : null);
  const to = e.to ?? (typeof d['to'] === 'string' ? d['to'] : null);
  return from === null && to === null ? '' : `${from ?? '-'} → ${to ?? '-'}`;
};
const join = (...parts: string[]): string => parts.filter((p) => p !== '').join('; ');

/** The write pause and held writes a switch recorded, as one phrase. */
function switchFigures(d: Record<string, unknown>): string {
  const parts: string[] = [];
  const pause = d['writePause'] as { heldUpToMs?: unknown } | null | undefined;
  if (pause && num(pause.heldUpToMs) !== null) parts.push(`write pause ≤ ${ms(pause.heldUpToMs)}`);
  const held = d['heldWrites'] as { routers?: unknown; count?: unknown; maxMs?: unknown; p99Ms?: unknown; unreported?: unknown } | undefined;
  if (held && num(held.count) !== null) {
    const unreported = list(held.unreported).map(String);
    parts.push(`held writes ${int(held.count)}, max ${ms(held.maxMs)}, p99 ${ms(held.p99Ms)} (${int(held.routers)} routers${unreported.length ? `, not reported by ${unreported.join(', ')}` : ''})`);
  }
  return parts.join('; ');
}

/** A `note` event: the cutover's journal steps, the archive, capture and start-up notes. */
function note(e: MigrationEvent, d: Record<string, unknown>): Pick<TimelineEntry, 'title' | 'detail' | 'tone'> {
  switch (d['cutover']) {
    case 'begin':
      return { title: 'switch begun', detail: join(arrow(e, d), d['fenced'] === true ? 'fenced switch' : '', num(d['fromEpoch']) === null ? '' : `from epoch ${int(d['fromEpoch'])}`), tone: 'info' };
    case 'fenced':
      return { title: 'fenced', detail: join(arrow(e, d), `routers hold writes (fence ${String(d['fenceId'] ?? '?')}, epoch ${int(d['fenceEpoch'])})`), tone: 'info' };
    case 'counters':
      return { title: 'counters aligned', detail: join(arrow(e, d), `${list(d['raised']).length} auto-increment counters raised on the new primary`), tone: 'info' };
    case 'guard':
      return { title: 'guards moved', detail: join(arrow(e, d), `placement guards on ${list(d['sides']).length} sides`), tone: 'info' };
    case 'capture':
      return { title: 'capture handed over', detail: join(arrow(e, d), `${list(d['streams']).length} capture streams re-aimed`), tone: 'info' };
    case 'archive':
      return {
        title: 'archive',
        detail: join(arrow(e, d), `${list(d['archived']).length} source tables renamed: ${list(d['archived']).map((a) => `${String((a as { table?: unknown }).table)} → ${String((a as { archive?: unknown }).archive)}`).join(', ')}`),
        tone: 'info',
      };
    case 'done':
      return {
        title: 'switch done',
        detail: join(arrow(e, d), num(d['epoch']) === null ? '' : `epoch ${int(d['epoch'])}`, switchFigures(d), list(d['lateRouters']).length ? `late routers: ${list(d['lateRouters']).join(', ')}` : ''),
        tone: 'good',
      };
  }
  if (d['archive'] === 'dropped') {
    return { title: 'archive dropped', detail: `${list(d['tables']).length} archived tables dropped${typeof d['failed'] === 'string' ? `; ${d['failed']}` : ''}`, tone: typeof d['failed'] === 'string' ? 'bad' : 'info' };
  }
  if (d['capture'] === 'off') return { title: 'capture off', detail: 'started with --no-capture: writes outside @cleave/router reach the other side only through verification', tone: 'bad' };
  if (d['capture'] === 'reset') return { title: 'capture reset', detail: `${list(d['streams']).length} streams re-aimed`, tone: 'info' };
  if (d['targetTables'] !== undefined) return { title: 'target tables created', detail: `${list(d['targetTables']).length} tables`, tone: 'info' };
  if (d['lateRouters'] !== undefined) return { title: 'routers late', detail: `did not acknowledge in time: ${list(d['lateRouters']).join(', ')}`, tone: 'bad' };
  return { title: 'note', detail: switchFigures(d), tone: 'info' };
}

/** Names what an event of the migration's log is, from its kind and details. */
export function timelineEntry(e: MigrationEvent): TimelineEntry {
  const d = e.details ?? {};
  const base = { at: e.at.toISOString(), actor: e.actor, reason: e.reason };
  switch (e.kind) {
    case 'created':
      return { ...base, title: 'created', detail: `capture ${String(d['capture'] ?? '?')}`, tone: 'info' };
    case 'phase_change':
      return { ...base, title: 'phase changed', detail: join(arrow(e, d), num(d['fenceAckMs']) === null ? '' : `fence acks ${ms(d['fenceAckMs'])}`), tone: 'good' };
    case 'refused':
      return { ...base, title: 'refused', detail: arrow(e, d), tone: 'bad' };
    case 'aborted':
      // The reason says why (ack deadline missed, not in sync, coordinator stopped).
      return { ...base, title: 'aborted', detail: join(arrow(e, d), num(d['epoch']) === null ? '' : `epoch ${int(d['epoch'])} kept`, switchFigures(d)), tone: 'bad' };
    case 'backfill_started':
      // The start lists the units queued; each unit's split names its table and segments.
      return {
        ...base,
        title: d['table'] === undefined ? 'backfill queued' : 'table split',
        detail: d['table'] === undefined ? `${list(d['units']).length} units` : `${String(d['table'])} → ${String(d['target'] ?? '?')}: ${int(d['segments'])} segments of about ${int(d['rowsEstimate'])} rows`,
        tone: 'info',
      };
    case 'backfill_table_done':
      return { ...base, title: 'table copied', detail: `${String(d['table'] ?? d['unit'] ?? '?')} → ${String(d['target'] ?? '?')}: ${int(d['rows'])} rows in ${int(d['segments'])} segments`, tone: 'good' };
    case 'backfill_done':
      return { ...base, title: 'backfill done', detail: `every unit copied (${list(d['units']).length})`, tone: 'good' };
    case 'verification': {
      const clean = d['clean'] === true;
      return {
        ...base,
        title: clean ? 'verification clean' : 'verification: differences remain',
        detail: `run ${int(d['runId'])}: ${int(d['rowsChecked'])} rows checked, ${int(d['rowsDiffering'])} differing, ${int(d['rowsRepaired'])} repaired in ${int(d['passes'])} passes`,
        tone: clean ? 'good' : 'bad',
      };
    }
    case 'cancelled':
      return { ...base, title: 'cancelled', detail: 'jobs removed, target tables dropped; terminal', tone: 'bad' };
    case 'note':
      return { ...base, ...note(e, d) };
  }
  return { ...base, title: String(e.kind), detail: arrow(e, d), tone: 'info' };
}
