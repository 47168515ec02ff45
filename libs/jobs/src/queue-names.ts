import { CleaveError } from '@cleave/core';

/** The queues of one cleave installation; the prefix separates installations (and tests). */
export interface QueueNames {
  readonly backfill: string;
  readonly verify: string;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/;

/** BullMQ forbids `:` in queue names; a prefix is letters, digits, `_` and `-`. */
export function queueNames(prefix = 'cleave'): QueueNames {
  if (!PREFIX.test(prefix)) {
    throw new CleaveError('CONFIG_INVALID', `queue prefix "${prefix}" is not usable`, {
      hint: 'Use up to 41 letters, digits, "_" or "-" (no ":"), starting with a letter or digit.',
    });
  }
  return { backfill: `${prefix}-backfill`, verify: `${prefix}-verify` };
}

/**
 * Deterministic job ids: adding a job whose id exists is a no-op in BullMQ, which makes every
 * producer call idempotent. Table names may hold any character, so they are hex-encoded
 * (BullMQ job ids must not contain `:`).
 */
export const jobIds = {
  splitTable: (migrationId: string, table: string) => `split-${migrationId}-${Buffer.from(table, 'utf8').toString('hex')}`,
  copySegment: (migrationId: string, table: string, segmentNo: number) =>
    `copy-${migrationId}-${Buffer.from(table, 'utf8').toString('hex')}-${segmentNo}`,
  verifyMigration: (migrationId: string, runNo: number) => `verify-${migrationId}-${runNo}`,
  repairShadowFailures: (migrationId: string, at: number) => `repair-${migrationId}-${at}`,
} as const;
