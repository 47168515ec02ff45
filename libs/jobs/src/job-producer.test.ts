import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { useTestDatabases } from '@cleave/testing';
import { JobProducer } from './job-producer.js';
import { jobIds, queueNames } from './queue-names.js';

describe('JobProducer', () => {
  const dbs = useTestDatabases('jobs');
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  it('is idempotent: enqueuing the same segments twice leaves one job per segment', async () => {
    const connection = { host: dbs().redis.host, port: dbs().redis.port };
    const producer = new JobProducer({ connection, queuePrefix: dbs().queuePrefix });
    const queue = new Queue(producer.names.backfill, { connection });
    closers.push(() => producer.close(), () => queue.close());
    await producer.copySegments('0123456789ab', 'user:s`weird', [0, 1, 2]);
    await producer.copySegments('0123456789ab', 'user:s`weird', [1, 2, 3]);
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual([0, 1, 2, 3].map((n) => jobIds.copySegment('0123456789ab', 'user:s`weird', n)).sort());
    expect(jobs.every((j) => !j.id!.includes(':'))).toBe(true);
    expect(jobs.find((j) => j.data.segmentNo === 3)?.data).toEqual({ migrationId: '0123456789ab', table: 'user:s`weird', segmentNo: 3 });
  });

  it('refuses a queue prefix BullMQ cannot use, saying what is allowed', () => {
    expect(() => queueNames('bad:prefix')).toThrow('queue prefix "bad:prefix" is not usable');
  });
});
