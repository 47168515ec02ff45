// The binlog capture: what a worker runs, and what `cleave start` checks first.
export { runCaptureStream } from './capture-stream.js';
export type { CapturePool, CaptureProgressEvent, CaptureStreamConfig, CaptureStreamEnd } from './capture-stream.js';
export { binlogBytesBehind, checkCaptureSupport, requireCaptureSupport } from './server-binlog.js';
export type { CaptureSupport, SqlQueryable } from './server-binlog.js';
