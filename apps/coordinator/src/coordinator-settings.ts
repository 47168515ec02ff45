import { CleaveError } from '@cleave/core';
import { resolveCutoverSettings, type CutoverSettings } from '@cleave/cutover';

/** The coordinator's settings, from the environment (only apps read it). */
export interface CoordinatorSettings {
  /** Lease TTL in ms (CLEAVE_COORDINATOR_LEASE_MS, default 5000). */
  readonly leaseTtlMs: number;
  /** How often the service looks for interrupted changes, ms (CLEAVE_COORDINATOR_POLL_MS, default 1000). */
  readonly pollMs: number;
  /** /health and /metrics (CLEAVE_COORDINATOR_PORT, default 8788; 0: any free port). */
  readonly port: number;
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

function port(text: string | undefined): number {
  if (text === undefined || text === '') return 8788;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CleaveError('CONFIG_INVALID', `CLEAVE_COORDINATOR_PORT must be a port number from 0 to 65535 (0: any free port), got "${text}"`);
  return n;
}

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
    port: port(env['CLEAVE_COORDINATOR_PORT']),
    cutover: resolveCutoverSettings(cutover as Partial<CutoverSettings>),
  };
}
