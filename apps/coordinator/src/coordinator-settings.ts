import { CleaveError } from '@cleave/core';
import { resolveCutoverSettings, type CutoverSettings } from '@cleave/cutover';

/** The coordinator's settings, from the environment (only apps read it). */
export interface CoordinatorSettings {
  /** Lease TTL in ms (CLEAVE_COORDINATOR_LEASE_MS, default 5000). */
  readonly leaseTtlMs: number;
  /** How often the service looks for interrupted changes, ms (CLEAVE_COORDINATOR_POLL_MS, default 1000). */
  readonly pollMs: number;
  /** CLEAVE_CUTOVER_SETTINGS: JSON of CutoverSettings fields (fenceTtlMs, fenceAckTimeoutMs, epochAckTimeoutMs, soakMs, maxTargetLagSeconds, heldWritesReportMs, counterLockWaitSeconds). */
  readonly cutover: CutoverSettings;
}

const int = (env: Record<string, string | undefined>, name: string, fallback: number): number => {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CleaveError('CONFIG_INVALID', `${name} must be a positive integer (ms), got "${text}"`);
  return n;
};

export function coordinatorSettings(env: Record<string, string | undefined>): CoordinatorSettings {
  let cutover: unknown = {};
  if (env['CLEAVE_CUTOVER_SETTINGS']) {
    try {
      cutover = JSON.parse(env['CLEAVE_CUTOVER_SETTINGS']);
    } catch {
      throw new CleaveError('CONFIG_INVALID', 'CLEAVE_CUTOVER_SETTINGS is not valid JSON');
    }
  }
  return {
    leaseTtlMs: int(env, 'CLEAVE_COORDINATOR_LEASE_MS', 5000),
    pollMs: int(env, 'CLEAVE_COORDINATOR_POLL_MS', 1000),
    cutover: resolveCutoverSettings(cutover as Partial<CutoverSettings>),
  };
}
