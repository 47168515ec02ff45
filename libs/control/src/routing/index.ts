export { HELD_WRITE_REPORTS_TTL_MS, RoutingChannel, SHADOW_READ_STATS_TTL_MS } from './routing-channel.js';
export type { AckCondition, AckWaitResult, RouterInfo, RoutingChannelConfig, RoutingListener } from './routing-channel.js';
export { parseFenceRecord, parseRouterAck, parseRoutingMessage } from './routing-messages.js';
export type { FenceRecord, RouterAck, RoutingMessage } from './routing-messages.js';
export { decodeShadowKeys, encodeShadowKeys } from './shadow-keys.js';
export { routerStatuses } from './router-status.js';
export type { RouterStatus } from './router-status.js';
export { MAX_RECENT_MISMATCHES, heldWriteStats, summariseHeldWrites, sumShadowReads } from './router-reports.js';
export type {
  HeldWriteReport,
  HeldWritesSummary,
  ShadowReadCounters,
  ShadowReadEpochCounters,
  ShadowReadMismatch,
  ShadowReadReport,
  ShadowReadStats,
} from './router-reports.js';
export { shadowReadSource } from './shadow-read-source.js';
export type { EpochShadowReads } from './shadow-read-source.js';
