import { z } from 'zod';

/** Job names on the backfill queue. */
export const BACKFILL_JOB_NAMES = ['split-table', 'copy-segment'] as const;
export type BackfillJobName = (typeof BACKFILL_JOB_NAMES)[number];

/** Job names on the verify queue. */
export const VERIFY_JOB_NAMES = ['verify-migration', 'repair-shadow-failures'] as const;
export type VerifyJobName = (typeof VERIFY_JOB_NAMES)[number];

const migrationId = z.string().regex(/^[0-9a-f]{12}$/, 'must be a 12-hex-digit migration id');

/** Find the key-range segments of one table and enqueue one copy job per segment. */
export const splitTablePayload = z.object({ migrationId, table: z.string().min(1) }).strict();
export type SplitTablePayload = z.infer<typeof splitTablePayload>;

/** Copy one segment of one table, resuming from its checkpoint. */
export const copySegmentPayload = z.object({ migrationId, table: z.string().min(1), segmentNo: z.number().int().min(0) }).strict();
export type CopySegmentPayload = z.infer<typeof copySegmentPayload>;

/** Verify every moved table; repair from the primary until a full pass is clean (or maxPasses). */
export const verifyMigrationPayload = z
  .object({ migrationId, repair: z.boolean(), maxPasses: z.number().int().min(1).max(100) })
  .strict();
export type VerifyMigrationPayload = z.infer<typeof verifyMigrationPayload>;

/** Re-apply the shadow writes that routers recorded as failed. */
export const repairShadowFailuresPayload = z.object({ migrationId }).strict();
export type RepairShadowFailuresPayload = z.infer<typeof repairShadowFailuresPayload>;

export interface JobPayloads {
  'split-table': SplitTablePayload;
  'copy-segment': CopySegmentPayload;
  'verify-migration': VerifyMigrationPayload;
  'repair-shadow-failures': RepairShadowFailuresPayload;
}

export const JOB_PAYLOAD_SCHEMAS = {
  'split-table': splitTablePayload,
  'copy-segment': copySegmentPayload,
  'verify-migration': verifyMigrationPayload,
  'repair-shadow-failures': repairShadowFailuresPayload,
} as const;
