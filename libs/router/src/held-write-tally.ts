import { heldWriteStats, type HeldWriteReport } from '@cleave/control';

/** A fence's held writes, once it ended. */
export interface ClosedFence {
  readonly migrationId: string;
  readonly fenceId: string;
  readonly report: HeldWriteReport;
}

/**
 * How long each write was held while a fence was known, per fence: opened when the router learns
 * a fence, closed (and reported) when the fence is lifted. Writes released by the new epoch
 * before the unfence count for the fence too.
 */
export class HeldWriteTally {
  readonly #open = new Map<string, { fenceId: string; samples: number[] }>();

  /** Starts counting for a fence; returns the migration's previous fence when it was another one. */
  open(migrationId: string, fenceId: string): ClosedFence | undefined {
    const current = this.#open.get(migrationId);
    if (current?.fenceId === fenceId) return undefined;
    const previous = this.close(migrationId);
    this.#open.set(migrationId, { fenceId, samples: [] });
    return previous;
  }

  /** A write to these migrations was released after `ms` held. */
  record(migrationIds: readonly string[], ms: number): void {
    for (const id of migrationIds) this.#open.get(id)?.samples.push(ms);
  }

  /** Ends the migration's fence: its held writes as a report. */
  close(migrationId: string): ClosedFence | undefined {
    const current = this.#open.get(migrationId);
    if (current === undefined) return undefined;
    this.#open.delete(migrationId);
    return { migrationId, fenceId: current.fenceId, report: { ...heldWriteStats(current.samples), at: Date.now() } };
  }
}
