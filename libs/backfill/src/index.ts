// Throttling: interface, implementations (with a no-op twin) and the gate the copier waits on.
export type { ThrottleDecision, Throttler } from './throttle/throttler.js';
export { NoopThrottler } from './throttle/noop-throttler.js';
export { ThreadsRunningThrottler } from './throttle/threads-running-throttler.js';
export type { ThreadsRunningThrottlerConfig } from './throttle/threads-running-throttler.js';
export { TargetLoadThrottler } from './throttle/target-load-throttler.js';
export type { TargetLoadThrottlerConfig } from './throttle/target-load-throttler.js';
export { SourceLatencyThrottler } from './throttle/source-latency-throttler.js';
export type { ProbeConnection, ProbePool, SourceLatencyThrottlerConfig } from './throttle/source-latency-throttler.js';
export { ReplicaLagThrottler } from './throttle/replica-lag-throttler.js';
export type { ReplicaConfig, ReplicaLagThrottlerConfig } from './throttle/replica-lag-throttler.js';
export type { StatusQueryable } from './throttle/read-global-status.js';
export { ThrottleGate } from './throttle/throttle-gate.js';
export type { ActiveThrottle, ThrottleGateConfig, ThrottleReport, ThrottleState } from './throttle/throttle-gate.js';

// Chunk size that adapts to a target time per chunk.
export { AdaptiveChunkSize, CHUNK_SIZE_DEFAULTS } from './chunk/adaptive-chunk-size.js';
export type { AdaptiveChunkSizeConfig } from './chunk/adaptive-chunk-size.js';

// The two job processors (units: `backfillUnits` of @cleave/core).
export { unitsFor } from './units-for.js';
export type { BackfillDeps, BackfillLogEntry, BackfillPool, ServerResolver } from './backfill-deps.js';
export { DEFAULT_SEGMENT_ROWS, splitTable } from './split-table.js';
export type { SplitTableDeps, SplitTablePayload, SplitTableResult, SplitUnitResult } from './split-table.js';
export { copySegment } from './copy-segment.js';
export type { CopyProgress, CopySegmentDeps, CopySegmentPayload, CopySegmentResult } from './copy-segment.js';
export { PERMANENT_ERROR_CODES, isPermanentBackfillError } from './is-permanent-backfill-error.js';
