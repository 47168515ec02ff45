import type { Pool } from 'mysql2/promise';
import type { ControlStore } from '@cleave/control';
import type { JobPayloads } from '@cleave/jobs';
import { verifyMigration } from '@cleave/verify';

export interface VerifyJobDeps {
  readonly store: ControlStore;
  readonly servers: (serverName: string) => Pool;
  readonly actor: string;
  readonly signal: AbortSignal;
}

/** The `verify-migration` job: verify (and repair) every unit; the run is recorded in the store. */
export async function runVerifyJob(payload: JobPayloads['verify-migration'], deps: VerifyJobDeps): Promise<{ clean: boolean; rowsChecked: number; rowsDiffering: number; rowsRepaired: number; passes: number }> {
  const report = await verifyMigration({ migrationId: payload.migrationId, repair: payload.repair, maxPasses: payload.maxPasses }, deps);
  return { clean: report.clean, rowsChecked: report.rowsChecked, rowsDiffering: report.rowsDiffering, rowsRepaired: report.rowsRepaired, passes: report.passes };
}
