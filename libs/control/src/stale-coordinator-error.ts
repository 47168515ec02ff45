import { CleaveError } from '@cleave/core';

/**
 * A coordinator's state change was refused by the control store because a coordinator with a
 * higher fencing token has since claimed the migration (its lease lapsed and went to another).
 * Nothing of the refused step was written.
 */
export class StaleCoordinatorError extends CleaveError<'STALE_COORDINATOR'> {
  readonly migrationId: string;
  /** The refused coordinator's token. */
  readonly token: number;
  /** The highest token the control store has seen for the migration. */
  readonly seenToken: number;

  constructor(migrationId: string, token: number, seenToken: number) {
    super(
      'STALE_COORDINATOR',
      `another coordinator took over migration ${migrationId}: this coordinator's fencing token ${token} is lower than token ${seenToken} recorded in the control store, so its change was refused`,
      { hint: 'Nothing was changed by the refused step; the coordinator with the newer token finishes or aborts the change. See `cleave status <id>`.' },
    );
    this.migrationId = migrationId;
    this.token = token;
    this.seenToken = seenToken;
  }
}
