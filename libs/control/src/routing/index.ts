export { RoutingChannel } from './routing-channel.js';
export type { AckCondition, AckWaitResult, RouterInfo, RoutingChannelConfig, RoutingListener } from './routing-channel.js';
export { parseFenceRecord, parseRouterAck, parseRoutingMessage } from './routing-messages.js';
export type { FenceRecord, RouterAck, RoutingMessage } from './routing-messages.js';
export { decodeShadowKeys, encodeShadowKeys } from './shadow-keys.js';
export { routerStatuses } from './router-status.js';
export type { RouterStatus } from './router-status.js';
