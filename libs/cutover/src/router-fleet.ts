import type { AckCondition, AckWaitResult, FenceRecord, HeldWritesSummary, RouterAck, RouterInfo } from '@cleave/control';

/**
 * The routers of the fleet, as the coordinator sees them: who is live, what each acknowledged,
 * and the fence protocol's three messages (fence, epoch, unfence).
 *
 * A structural subset of `RoutingChannel` from `@cleave/control` (which satisfies it as is), so
 * tests and other control planes can plug in without the Redis one.
 *
 * @example
 * const fleet: RouterFleet = new RoutingChannel({ redis, prefix: 'cleave:' });
 */
export interface RouterFleet {
  /** The channel's key prefix (`RoutingChannel.prefix`): compared with the one the migration was started on. */
  readonly prefix?: string;
  /** Routers whose lease is current. */
  liveRouters(): Promise<RouterInfo[]>;
  /** Every router's last ack for a migration. */
  acks(migrationId: string): Promise<Map<string, RouterAck>>;
  /** Routers whose applied epoch is <= `epoch` hold new writes to the migration's tables. */
  fence(migrationId: string, epoch: number, options: { ttlMs: number }): Promise<FenceRecord>;
  /**
   * Lifts the fence (only `fenceId`'s when given; any fence when not). `options.epoch`: the epoch in
   * force now; routers on an older one hold writes until they have loaded it.
   */
  unfence(migrationId: string, fenceId?: string, options?: { epoch?: number }): Promise<void>;
  /** Tells routers to reload the migration (its epoch changed in the control store). */
  announceEpoch(migrationId: string, epoch: number): Promise<void>;
  /** Waits until every live router acknowledged `condition`, or the deadline. */
  waitForAcks(migrationId: string, condition: AckCondition, options: { timeoutMs: number; pollMs?: number }): Promise<AckWaitResult>;
  /**
   * Waits (to the deadline) for `routers` to report how long they held writes for a lifted fence
   * and combines the reports. Optional: without it switches record no held-write statistics.
   */
  waitForHeldWrites?(migrationId: string, fenceId: string, routers: readonly string[], options: { timeoutMs: number; pollMs?: number }): Promise<HeldWritesSummary>;
}
