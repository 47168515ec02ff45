import type { ControlStore } from '@cleave/control';

/** The part of `ControlStore` the cutover uses (a structural subset: a `ControlStore` fits). */
export type CutoverStore = Pick<
  ControlStore,
  | 'getMigration'
  | 'listMigrations'
  | 'changePhase'
  | 'appendEvent'
  | 'events'
  | 'backfillTables'
  | 'verificationRuns'
  | 'openShadowFailures'
  | 'claimCoordinator'
  | 'coordinatorToken'
  | 'captureStreams'
  | 'routers'
>;

/** The few mysql2 methods the cutover needs on a data server (replica status, table renames). */
export interface ServerQueryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}
