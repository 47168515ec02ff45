export * from './job-payloads.js';
export { queueNames, jobIds } from './queue-names.js';
export type { QueueNames } from './queue-names.js';
export { JobProducer, DEFAULT_JOB_OPTIONS } from './job-producer.js';
export type { JobProducerConfig } from './job-producer.js';
export { redisConnectionFromUrl } from './redis-connection.js';
export type { RedisConnectionOptions } from './redis-connection.js';
