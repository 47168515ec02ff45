/**
 * The node flags every worker process runs with, whoever starts it (`cleave worker`, the demo,
 * the benches, the e2e tests; the root package.json's `worker` script spells them out, and a test
 * keeps it equal). A bounded old space keeps the worker's RSS flat (~170 MB instead of ~370 MB);
 * a 16 MB young generation cut its garbage-collection time from a fifth of its CPU.
 */
export const WORKER_NODE_FLAGS: readonly string[] = Object.freeze(['--max-old-space-size=256', '--max-semi-space-size=16']);
