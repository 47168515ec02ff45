import type { RoutingChannel } from './routing-channel.js';

/** A live router as status and the dashboard show it: the epoch it acknowledged for a migration. */
export interface RouterStatus {
  readonly routerId: string;
  readonly service: string;
  readonly host: string;
  /** The epoch it applied for this migration; null when it has not acknowledged any. */
  readonly ackedEpoch: number | null;
  /** The fence it holds writes for, or null. */
  readonly fenceId: string | null;
}

/** The live routers (lease not expired) and what each acknowledged for `migrationId`. */
export async function routerStatuses(channel: Pick<RoutingChannel, 'liveRouters' | 'acks'>, migrationId: string): Promise<RouterStatus[]> {
  const [live, acks] = await Promise.all([channel.liveRouters(), channel.acks(migrationId)]);
  return live.map((r) => ({
    routerId: r.routerId,
    service: r.service,
    host: r.host,
    ackedEpoch: acks.get(r.routerId)?.epoch ?? null,
    fenceId: acks.get(r.routerId)?.fenceId ?? null,
  }));
}
