import type { MigrationPhase, Plan } from '@cleave/core';

/** A migration as the control store holds it. */
export interface MigrationRecord {
  readonly id: string;
  readonly name: string;
  readonly plan: Plan;
  readonly phase: MigrationPhase;
  /** Bumped on every phase change; routers acknowledge the epoch they applied. */
  readonly epoch: number;
  /**
   * A binlog capture stream brings every write of the primary to the other side (set at start,
   * fixed for the migration's life). Without it only the routers' dual writes and repairs do.
   */
  readonly capture: boolean;
  /**
   * The epoch the placement guard of the side that is not the primary checks: the migration's
   * epoch when the write primary last moved (1 before it ever did). cleave's writers of that side
   * carry it; it changes only with the primary, so unfenced phase changes do not refuse them.
   */
  readonly guardEpoch: number;
  /**
   * The Redis key prefix of the routing channel its coordinator fences on (`cleave start` records
   * `<queuePrefix>:`); a router on another prefix would never see a fence, so it refuses writes to
   * the migration's tables. `null`: not recorded (any channel).
   */
  readonly routingPrefix: string | null;
  /**
   * When it was cancelled (`cleave cancel`: rolled back to planned, its jobs removed, the target
   * tables it created dropped); terminal: no phase change follows, routers ignore it. `null`: not.
   */
  readonly cancelledAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export const MIGRATION_EVENT_KINDS = [
  'created',
  'phase_change',
  'refused',
  'aborted',
  'backfill_started',
  'backfill_table_done',
  'backfill_done',
  'verification',
  'note',
  'cancelled',
] as const;
export type MigrationEventKind = (typeof MIGRATION_EVENT_KINDS)[number];

/** One row of a migration's event log: who, when, what, from, to, why. */
export interface MigrationEvent {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly kind: MigrationEventKind;
  readonly from: MigrationPhase | null;
  readonly to: MigrationPhase | null;
  readonly reason: string | null;
  readonly details: Record<string, unknown> | null;
}

export const BACKFILL_TABLE_STATES = ['pending', 'splitting', 'copying', 'copied', 'failed'] as const;
export type BackfillTableState = (typeof BACKFILL_TABLE_STATES)[number];

export const SEGMENT_STATES = ['pending', 'copying', 'done'] as const;
export type SegmentState = (typeof SEGMENT_STATES)[number];

export interface BackfillTableRecord {
  readonly table: string;
  readonly target: string;
  readonly state: BackfillTableState;
  readonly rowsEstimate: number;
  readonly segments: number;
  readonly segmentsDone: number;
  readonly rowsCopied: number;
  readonly copyMs: number;
  /** When the table was split (its copy queued). */
  readonly startedAt: Date | null;
  /** When its first chunk began copying (null: not yet): rates and ETAs count from here. */
  readonly copyStartedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly error: string | null;
}

/** A key range of a table copied by one job; `checkpoint` is the last key committed. */
export interface SegmentRecord {
  readonly table: string;
  readonly segmentNo: number;
  /** Encoded key tuples (JSON text), null = unbounded. Lower exclusive, upper inclusive. */
  readonly lower: string | null;
  readonly upper: string | null;
  readonly checkpoint: string | null;
  readonly state: SegmentState;
  readonly rowsCopied: number;
  readonly chunks: number;
  readonly chunkSize: number;
  readonly copyMs: number;
  readonly owner: string | null;
  readonly updatedAt: Date;
}

export interface ThrottleStat {
  readonly reason: string;
  readonly throttledMs: number;
  readonly lastAt: Date;
}

export interface VerificationRunRecord {
  readonly id: number;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly passes: number;
  readonly chunks: number;
  readonly rowsChecked: number;
  readonly rowsDiffering: number;
  readonly rowsRepaired: number;
  readonly clean: boolean | null;
  readonly details: unknown;
}

export interface ShadowFailureRecord {
  readonly id: number;
  readonly table: string;
  readonly keyValues: string;
  readonly error: string | null;
  /** The placement (guard epoch) the failed write was routed under; null when the router did not say. */
  readonly guardEpoch: number | null;
  readonly recordedAt: Date;
}
