import { isMigrationPhase, type MigrationPhase } from '@cleave/core';
import type { MigrationEvent } from '@cleave/control';

/**
 * The cutover's write-ahead journal lives in the migration's event log (the control store):
 * `note` events with `details.cutover` = `begin` | `fenced` | `done`, the `phase_change` event of
 * the flip (atomic with the epoch bump, `details.changeId`), and `aborted` events. A change with
 * a `begin` and neither `done` nor `aborted` was interrupted (its coordinator died).
 */
export const JOURNAL_STEPS = ['begin', 'fenced', 'done'] as const;
export type JournalStep = (typeof JOURNAL_STEPS)[number];

/** A change whose coordinator stopped before finishing it. */
export interface InterruptedChange {
  readonly changeId: string;
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  /** The epoch the change started from (the old epoch). */
  readonly fromEpoch: number;
  /** The holder and fencing token of the coordinator that began it. */
  readonly holder: string;
  readonly token: number;
  /** The fence it published (when the journal got that far), to lift only that one. */
  readonly fenceId: string | null;
  /** When the fence was published (ms since the epoch, coordinator clock), for the pause. */
  readonly fencedAt: number | null;
  /** Whether the flip (phase + epoch) committed: then the change must be finished, not undone. */
  readonly flipped: boolean;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The latest change begun and not finished in this event log, or null. */
export function interruptedChange(events: readonly MigrationEvent[]): InterruptedChange | null {
  const open = new Map<string, { -readonly [K in keyof InterruptedChange]: InterruptedChange[K] }>();
  for (const e of events) {
    const d = e.details ?? {};
    const changeId = str(d['changeId']);
    if (changeId === null) continue;
    const step = str(d['cutover']);
    if (e.kind === 'note' && step === 'begin') {
      const from = d['from'];
      const to = d['to'];
      if (!isMigrationPhase(from) || !isMigrationPhase(to)) continue;
      open.set(changeId, {
        changeId,
        from,
        to,
        fromEpoch: Number(d['fromEpoch']),
        holder: str(d['holder']) ?? e.actor,
        token: Number(d['token'] ?? 0),
        fenceId: null,
        fencedAt: null,
        flipped: false,
      });
      continue;
    }
    const change = open.get(changeId);
    if (change === undefined) continue;
    if (e.kind === 'note' && step === 'fenced') {
      change.fenceId = str(d['fenceId']);
      change.fencedAt = typeof d['fencedAt'] === 'number' ? d['fencedAt'] : null;
    } else if (e.kind === 'phase_change') {
      change.flipped = true;
    } else if ((e.kind === 'note' && step === 'done') || e.kind === 'aborted') {
      open.delete(changeId);
    }
  }
  const last = [...open.values()].at(-1);
  return last === undefined ? null : Object.freeze(last);
}
