export { ControlStore, MigrationOverlapError, newMigrationId } from './control-store.js';
export type { ChangeActor, ControlStoreConfig, CoordinatorFence } from './control-store.js';
export { StaleCoordinatorError } from './stale-coordinator-error.js';
export { CAPTURE_STREAM_STATES, CaptureStreams } from './capture-streams.js';
export { awaitCaptureCaughtUp } from './capture-catch-up.js';
export { FORWARD_STREAM, compareCoordinates, currentCoordinate, formatCoordinate, reverseStream, streamServer, streamsForPhase, targetServers } from './capture-coordinates.js';
export type { BinlogCoordinate, CaptureLease, CaptureProgress, CaptureStreamRecord, CaptureStreamState } from './capture-streams.js';
export { ROUTER_STORE_HEARTBEAT_MS, ROUTER_STORE_LIVE_SECONDS, RouterRegistry } from './router-registry.js';
export type { RouterRegistration, StoredRouter } from './router-registry.js';
export { CONTROL_COLUMN_UPGRADES, CONTROL_SCHEMA_VERSION, CONTROL_TABLES } from './control-schema.js';
export type { Queryable, TransactionalQueryable } from './queryable.js';
export * from './records.js';
export { loadCleaveConfig, resolveCleaveConfig, serverUrl } from './cleave-config.js';
export type { CleaveConfig } from './cleave-config.js';
export { preflightPlan } from './plan-preflight.js';
// Routing control plane (routers, coordinator): leases, fences, epoch acks over Redis.
export * from './routing/index.js';
export { readMigrationStatus } from './migration-status.js';
export type { BackfillUnitStatus, MigrationStatus } from './migration-status.js';
