/**
 * What travels on the routing channel (Redis pub/sub) between the coordinator and the routers.
 * Messages are hints: every router also polls the durable state (control store + fence keys),
 * so a lost message delays a router, never misroutes it.
 */
export type RoutingMessage =
  /** A migration's phase/epoch changed in the control store: reload it. */
  | { readonly type: 'epoch'; readonly migrationId: string; readonly epoch: number }
  /** Hold new writes to the migration's tables while your applied epoch is <= `epoch`; ack when in-flight writes finished. */
  | { readonly type: 'fence'; readonly migrationId: string; readonly epoch: number; readonly fenceId: string }
  /**
   * The fence is lifted (switch done or aborted). `epoch`: the epoch in force now; a router whose
   * applied epoch is older keeps holding writes until it has loaded it.
   */
  | { readonly type: 'unfence'; readonly migrationId: string; readonly fenceId: string; readonly epoch?: number }
  /** A router acknowledged (for coordinators waiting on acks). */
  | { readonly type: 'ack'; readonly migrationId: string; readonly routerId: string; readonly ack: RouterAck };

/** What a router acknowledges for one migration. */
export interface RouterAck {
  /** The epoch the router has applied (routes by). */
  readonly epoch: number;
  /** The fence the router holds writes for (in-flight writes finished), or null. */
  readonly fenceId: string | null;
  /** Milliseconds since the epoch (router clock), for display only. */
  readonly at: number;
  /**
   * Failed shadow writes of the migration this router holds in its journal or memory, not yet in
   * the control store (absent: none). A switch does not flip while a router reports any: the
   * repair that would copy them runs from the store, in the direction of the phase it finds.
   */
  readonly pendingFailures?: number;
}

/** A fence as stored in Redis (`fence:<migrationId>`, with a TTL). */
export interface FenceRecord {
  readonly fenceId: string;
  /** Routers whose applied epoch is <= this hold writes. */
  readonly epoch: number;
  readonly at: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isEpoch = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses a {@link RouterAck}; `null` when malformed. */
export function parseRouterAck(value: unknown): RouterAck | null {
  if (!isObject(value) || !isEpoch(value['epoch'])) return null;
  const fenceId = value['fenceId'];
  if (fenceId !== null && !isString(fenceId)) return null;
  const pending = value['pendingFailures'];
  return { epoch: value['epoch'], fenceId, at: typeof value['at'] === 'number' ? value['at'] : 0, ...(isEpoch(pending) && pending > 0 ? { pendingFailures: pending } : {}) };
}

/** Parses a {@link FenceRecord}; `null` when malformed. */
export function parseFenceRecord(value: unknown): FenceRecord | null {
  if (!isObject(value) || !isString(value['fenceId']) || !isEpoch(value['epoch'])) return null;
  return { fenceId: value['fenceId'], epoch: value['epoch'], at: typeof value['at'] === 'number' ? value['at'] : 0 };
}

/** Parses a message from the channel; `null` for anything malformed (ignored by receivers). */
export function parseRoutingMessage(text: string): RoutingMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(value) || !isString(value['migrationId'])) return null;
  const migrationId = value['migrationId'];
  switch (value['type']) {
    case 'epoch':
      return isEpoch(value['epoch']) ? { type: 'epoch', migrationId, epoch: value['epoch'] } : null;
    case 'fence':
      return isEpoch(value['epoch']) && isString(value['fenceId']) ? { type: 'fence', migrationId, epoch: value['epoch'], fenceId: value['fenceId'] } : null;
    case 'unfence':
      if (!isString(value['fenceId'])) return null;
      return isEpoch(value['epoch']) ? { type: 'unfence', migrationId, fenceId: value['fenceId'], epoch: value['epoch'] } : { type: 'unfence', migrationId, fenceId: value['fenceId'] };
    case 'ack': {
      const ack = parseRouterAck(value['ack']);
      return ack !== null && isString(value['routerId']) ? { type: 'ack', migrationId, routerId: value['routerId'], ack } : null;
    }
    default:
      return null;
  }
}
